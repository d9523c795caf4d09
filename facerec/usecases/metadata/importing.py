"""`import PATH`: names from other tools' folders: a Google Takeout export (names
per photo, without boxes) and a Picasa folder (`.picasa.ini` faces with boxes,
names from `contacts.xml` or the ini's `[Contacts2]`). digiKam and the other XMP
writers need no import: `index` reads their regions.

The photos named are indexed first (incrementally: what is indexed is skipped).
Takeout names a face when the photo has exactly one unnamed face for one name left,
or when exactly one of its faces already looks like that registered person;
otherwise the name is kept as a hint. Every name goes through the guard: a face
that looks like another registered person is refused (one line says so), one
unlike the named person's samples is left to ask.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from facerec.db.regions import NameRecord, RegionStore, StoredFace
from facerec.errors import UsageError
from facerec.metadata import PicasaPhoto, TakeoutPhoto, read_picasa, read_takeout
from facerec.paths import path_key
from facerec.rules.naming import name_faces
from facerec.usecases.context import Context
from facerec.usecases.library.index import IndexReport, index_folders
from facerec.usecases.metadata.names_in import Tally, _valid, canonical, name_face, place_regions

__all__ = ["Import", "import_names"]

log = logging.getLogger(__name__)


@dataclass
class Import:
    """What `import` did: one tally per source found (Takeout, Picasa), the index run
    of their photos, and photos of the sources that could not be indexed."""

    sources: list[Tally] = field(default_factory=list)
    index: IndexReport | None = None
    not_indexed: list[str] = field(default_factory=list)


def import_names(
    ctx: Context, path: str | Path, contacts: str | Path | None = None, workers: int | None = None
) -> Import:
    """Bring in the names of the Takeout export or Picasa folder `path` (`contacts`:
    Picasa's contacts.xml, when it is not in the folder)."""
    folder = Path(path)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder; import reads a Google Takeout or Picasa folder")
    takeout = read_takeout(folder)
    picasa = read_picasa(folder, Path(contacts) if contacts else None)
    if not takeout and not picasa:
        raise UsageError(
            f"{folder}: no names found (no Takeout JSON with people, no .picasa.ini with faces); nothing imported"
        )
    photos = sorted({p.photo for p in takeout} | {p.photo for p in picasa})
    out = Import()
    out.index = index_folders(ctx, [str(p) for p in photos], workers=workers)
    store = ctx.db.regions
    if takeout:
        out.sources.append(_takeout(ctx, store, takeout, f"Google Takeout ({folder})", out.not_indexed))
    if picasa:
        out.sources.append(_picasa(ctx, store, picasa, f"Picasa ({folder})", out.not_indexed))
    for tally in out.sources:
        log.info("%s", tally.summary())
    return out


def _takeout(ctx: Context, store: RegionStore, photos: Sequence[TakeoutPhoto], label: str, lost: list[str]) -> Tally:
    tally = Tally(label)
    for item in photos:
        picture_id = store.picture_id(path_key(item.photo))
        if picture_id is None:
            lost.append(str(item.photo))
            continue
        records = place_names(ctx, store, picture_id, item.photo, item.names, tally)
        store.replace_records(picture_id, "takeout", records)
    return tally


def _picasa(ctx: Context, store: RegionStore, photos: Sequence[PicasaPhoto], label: str, lost: list[str]) -> Tally:
    tally = Tally(label)
    for item in photos:
        picture_id = store.picture_id(path_key(item.photo))
        if picture_id is None:
            lost.append(str(item.photo))
            continue
        previous = store.records(picture_id, "picasa")
        records = place_regions(ctx, store, picture_id, item.photo, item.faces, "picasa", tally, previous)
        store.replace_records(picture_id, "picasa", records)
    return tally


def place_names(
    ctx: Context, store: RegionStore, picture_id: int, photo: Path, names: Sequence[str], tally: Tally
) -> list[NameRecord]:
    """Names without boxes on a photo's faces: a name a face already has stays; a
    registered name whose look exactly one unnamed face has names it; one name left
    for one unnamed face names it; the rest are hints (through the guard, all)."""
    origin = f"takeout:{path_key(photo)}"
    faces = store.faces(picture_id)
    have = {f.person: f for f in faces if f.person}
    records: list[NameRecord] = []
    pending: list[str] = []
    for raw in names:
        valid = _valid(raw, photo, tally)
        if valid is None:
            continue
        name = canonical(ctx, valid)
        if name in have:
            tally.named += 1
            records.append(NameRecord(name, None, origin, "named", have[name].id))
        elif name not in pending:
            pending.append(name)
    unnamed = [f for f in faces if f.person is None]
    looks = name_faces(ctx.db.people.nearest([f.embedding for f in unnamed]), ctx.threshold) if unnamed else []
    used: set[int] = set()
    for name in list(pending):
        alike = [f for f, c in zip(unnamed, looks) if c is not None and c.name == name and f.id not in used]
        if len(alike) == 1:
            records.append(name_face(ctx, store, photo, alike[0], name, None, origin, tally))
            used.add(alike[0].id)
            pending.remove(name)
    left: list[StoredFace] = [f for f in unnamed if f.id not in used]
    if len(pending) == 1 and len(left) == 1:
        records.append(name_face(ctx, store, photo, left[0], pending[0], None, origin, tally))
        pending.clear()
    for name in pending:
        tally.hints += 1
        records.append(NameRecord(name, None, origin, "hint"))
    return records
