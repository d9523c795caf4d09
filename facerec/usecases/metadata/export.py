"""`xmp export`: the names facerec knows, written as face regions other programs read.

For each photo with named faces: MWG regions (`mwg-rs:Regions`), Microsoft regions
(`MP:RegionInfo`) and the names in `Iptc4xmpExt:PersonInImage`, into its sidecar
(`photo.jpg.xmp`, merged: other tools' regions and tags are kept, facerec's earlier
ones replaced), or with `in_place` into the photo's own XMP (nothing else of the
file changes). The export is one journal entry: `undo` puts every file back as it
was (a sidecar facerec created is removed) from copies kept in the data directory,
and refuses, changing nothing, when a file was changed since.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

from facerec.db.regions import SidecarWrite
from facerec.errors import FacerecError, MetadataError, UsageError
from facerec.files import make_private_dir, write_private_file
from facerec.metadata import RegionWrite, restore, write_regions
from facerec.metadata.writing import read_file, sha256
from facerec.paths import key_path, path_key
from facerec.types import Box
from facerec.usecases.context import Context
from facerec.usecases.people.names import require_person

__all__ = ["Export", "Restored", "export_regions", "restore_export"]

log = logging.getLogger(__name__)

BACKUPS = "sidecars"
"""Folder of the data directory where the old sidecars of an export are kept for `undo`."""


@dataclass
class Export:
    """What `xmp export` did: files written, photos whose file already said exactly
    this, faces written, other tools' regions kept, (photo, reason) failures, and
    the journal entry (None: nothing was written)."""

    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    faces: int = 0
    kept: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    entry: int | None = None


@dataclass(frozen=True)
class Restored:
    """The files `undo` of an export put back (or removed: sidecars facerec created)."""

    restored: int
    removed: int


def _selected(picture: str, roots: list[str], files: set[str]) -> bool:
    if not roots and not files:
        return True
    return picture in files or any(picture.startswith(r.rstrip("/") + "/") for r in roots)


def export_regions(
    ctx: Context, paths: Sequence[str | Path] = (), person: str | None = None, in_place: bool = False
) -> Export:
    """Write the named faces of the photos under `paths` (all photos when empty; with
    `person`, the photos where they are) as face regions; journalled for `undo`."""
    for p in paths:
        if not os.path.exists(p):
            raise UsageError(f"{p}: no such folder or file; nothing written")
    if person is not None:
        require_person(ctx, person)
    roots = [path_key(p) for p in paths if os.path.isdir(p)]
    files = {path_key(p) for p in paths if not os.path.isdir(p)}
    store = ctx.db.regions
    out = Export()
    writes: list[SidecarWrite] = []
    people: set[int] = set()
    try:
        for picture, group in groupby(store.named_faces(person), key=lambda f: f.picture):
            if not _selected(picture, roots, files):
                continue
            faces = list(group)
            photo = Path(key_path(picture))
            try:
                done = _write(ctx, photo, [(f.name, f.box) for f in faces], in_place)
            except FacerecError as exc:
                out.failed.append((picture, str(exc)))
                continue
            if done is None:
                out.unchanged += 1
                continue
            write, copy = done
            writes.append(SidecarWrite(path_key(write.path), picture, copy, write.sha256))
            people |= {f.person_id for f in faces}
            out.written.append(path_key(write.path))
            out.faces += write.written
            out.kept += write.kept
    finally:  # what was written is journalled, even when a later photo stops the run
        if writes:
            what = f"person {person!r}" if person else f"{len(people)} people"
            summary = f"xmp export: face regions of {what} written to {len(writes)} file(s)"
            out.entry = store.record_export(summary, sorted(people), writes)
    log.info("xmp export: %d file(s) written, %d already up to date", len(out.written), out.unchanged)
    return out


def _write(
    ctx: Context, photo: Path, faces: list[tuple[str, Box]], in_place: bool
) -> tuple[RegionWrite, str | None] | None:
    """Write one photo's regions, keeping a copy of the file's old bytes first."""
    if not photo.is_file():
        raise MetadataError(f"{path_key(photo)}: no such file (moved or deleted since it was indexed)")
    result = write_regions(photo, faces, in_place=in_place)
    if not result.changed:
        return None
    copy = None
    if result.previous is not None:
        folder = ctx.settings.data_dir / BACKUPS
        make_private_dir(folder)
        copy = f"{BACKUPS}/{uuid.uuid4().hex}{result.path.suffix}"
        write_private_file(ctx.settings.data_dir / copy, result.previous)
    return result, copy


def restore_export(ctx: Context, entry_id: int) -> Restored:
    """Put back the files the export `entry_id` wrote (before `undo` reverts its
    journal entry). Checks every file first: one changed since facerec wrote it
    refuses the whole undo (`MetadataError`), changing nothing. Not an export: nothing."""
    store = ctx.db.regions
    todo = []
    for w in store.export_writes(entry_id):
        previous = None
        if w.previous is not None:
            previous = read_file(ctx.settings.data_dir / w.previous)
            if previous is None:
                raise MetadataError(f"{w.path}: the copy of its old content is gone; nothing was undone")
        current = read_file(Path(key_path(w.path)))
        if current == previous:  # put back already (an undo, then a redo, of this export)
            continue
        if current is None or sha256(current) != w.sha256:
            raise MetadataError(f"{w.path}: changed since facerec wrote it; nothing was undone")
        todo.append((w, previous))
    restored = removed = 0
    for w, previous in todo:
        photo = Path(key_path(w.photo))
        restore(RegionWrite(photo, Path(key_path(w.path)), previous, w.sha256, 0, 0, 0))
        if previous is None:
            removed += 1
        else:
            restored += 1
    return Restored(restored, removed)
