"""Names read from photo metadata while indexing: the face regions other tools (and
facerec's own `xmp export`) wrote into a photo's XMP and its sidecars.

A named region that overlaps a detected face names that face; a named region
with no detected face is a face the detector missed: it is embedded from the
region's box when YuNet can find its eyes there (else the name is kept as a hint).
Every name goes through the guard (`facerec.usecases.people.guard`): a face that
looks like another registered person is refused, one unlike the named person's
samples is left for the user to confirm (`people is NAME FACE`); both are listed
in the index summary, never applied silently. The photo's hash and its sidecars'
are kept (`region_files`): when one changes, the next `index` reads the regions
again and updates what came from them, while a name the user changed in facerec
wins and is kept.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from facerec.db.regions import NameRecord, RegionPicture, RegionStore, StoredFace
from facerec.errors import FacerecError, MetadataError
from facerec.metadata import containers, read_regions, sidecar_states
from facerec.paths import key_path, path_key
from facerec.rules.naming import name_faces
from facerec.types import Box, EmbeddedFace, Face
from facerec.usecases.context import Context
from facerec.usecases.people.guard import check_new_faces
from facerec.usecases.people.names import normalized, validate_name
from facerec.vision.images import load_image

__all__ = ["NamesFromFiles", "PendingNames", "names_from_files", "pending_names"]

log = logging.getLogger(__name__)

HEAD_BYTES = 256 * 1024
"""Bytes of a JPEG read for its regions: its metadata segments come before the image data."""

MATCH_IOU = 0.3
"""A region and a detected face are one face from this overlap (IoU) on, or when each
box holds the other's centre (taggers draw boxes larger or smaller than YuNet's)."""


@dataclass
class Tally:
    """What became of the names from one source. `lines`: one per name not applied."""

    source: str
    named: int = 0
    confirmed: int = 0
    """Of `named`: faces that already looked like the person (recognised within the threshold)."""
    asked: int = 0
    refused: int = 0
    hints: int = 0
    kept: int = 0
    """Faces named otherwise in facerec: the user's name wins."""
    unnamed: int = 0
    """Faces whose name the file stopped giving (taken off again)."""
    missed: int = 0
    """Faces the detector missed, found from a named region."""
    lines: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.named + self.asked + self.refused + self.hints + self.kept

    def summary(self) -> str:
        """One line: named, confirmed by a look, left to ask, refused by the guard."""
        extra = [f"{n} {what}" for n, what in ((self.hints, "kept as hints"), (self.kept, "kept facerec's name"),
                 (self.missed, "faces the detector missed"), (self.unnamed, "names taken off")) if n]  # fmt: skip
        return (
            f"{self.source}: {self.named} named ({self.confirmed} confirmed by a look), "
            f"{self.asked} left to ask, {self.refused} refused by the guard" + "".join(f", {e}" for e in extra)
        )


@dataclass
class NamesFromFiles:
    """What `index` did with the names in the photos' metadata."""

    photos: int = 0
    """Photos whose regions were read (new, changed, or with a changed sidecar)."""
    tally: Tally = field(default_factory=lambda: Tally("names from photo metadata"))
    failed: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        t = self.tally
        return {"read": self.photos, "named": t.named, "confirmed": t.confirmed, "asked": t.asked,
                "refused": t.refused, "hints": t.hints, "kept": t.kept}  # fmt: skip


def names_from_files(ctx: Context, folders: Sequence[str | Path]) -> NamesFromFiles:
    """Read the face regions of the indexed photos under `folders` whose photo or
    sidecar changed since they were last read, and place their names."""
    store = ctx.db.regions
    roots = [path_key(f) for f in folders if os.path.isdir(f)]
    files = [path_key(f) for f in folders if not os.path.isdir(f)]
    out = NamesFromFiles()
    for picture in store.pictures_under(roots, files):
        path = Path(key_path(picture.picture))
        try:
            read = read_regions(path, _head(path)) if _changed(picture, path) else None
            if read is None:
                continue
            out.photos += 1
            named = [(r.name, r.box) for r in read.regions if r.name]
            previous = store.records(picture.id, "xmp")
            origins = {r.box: f"xmp:{path_key(r.origin)}" for r in read.regions}
            records = place_regions(ctx, store, picture.id, path, named, "xmp", out.tally, previous, origins)
            sidecars = [(path_key(s.path), s.sha256) for s in read.sidecars]
            store.replace_records(picture.id, "xmp", records, picture.sha256, sidecars)
        except FacerecError as exc:  # one photo's metadata never stops the others
            out.failed.append((picture.picture, str(exc)))
            log.warning("%s", exc)
    if out.tally.total or out.tally.unnamed:
        log.info("%s", out.tally.summary())
    return out


@dataclass(frozen=True)
class PendingNames:
    """Names files gave that are not on a face: (picture, name, state, why), where
    state is 'ask' (left to confirm), 'refused' (by the guard) or 'hint' (no face found)."""

    items: list[tuple[str, str, str, str | None]]


def pending_names(ctx: Context) -> PendingNames:
    """The names read from photo metadata, Takeout or Picasa that wait for the user."""
    store = ctx.db.regions
    return PendingNames(store.open_names(["ask", "refused", "hint"]))


def _head(path: Path) -> bytes:
    """The part of the photo that holds its size, orientation and XMP: for a JPEG or PNG
    whose XMP sits before the image data (as every writer puts it), its first
    `HEAD_BYTES`; else the whole file."""
    try:
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
            if len(head) < HEAD_BYTES:
                return head
            try:
                if containers.container_kind(head) == "jpeg" and containers.find_xmp(head) is not None:
                    return head
            except containers.ContainerError:
                pass
            return head + fh.read()
    except OSError as exc:
        raise MetadataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _changed(picture: RegionPicture, path: Path) -> bool:
    """Whether the photo or one of its sidecars differs from when its regions were read."""
    if picture.sidecars is None or picture.read_sha256 != picture.sha256:
        return True
    now = [[path_key(s.path), s.sha256] for s in sidecar_states(path)]
    return now != [list(s) for s in picture.sidecars]


# -- placing names on faces (shared with `import`) -------------------------------------------


def _holds_centre(outer: Box, inner: Box) -> bool:
    cx, cy = inner.x + inner.w / 2, inner.y + inner.h / 2
    return outer.x <= cx <= outer.x + outer.w and outer.y <= cy <= outer.y + outer.h


def match_boxes(regions: Sequence[Box], faces: Sequence[StoredFace]) -> dict[int, StoredFace]:
    """Region index -> the detected face it covers, each face used once, best overlap first."""
    pairs = []
    for ri, region in enumerate(regions):
        for fi, face in enumerate(faces):
            iou = region.iou(face.box)
            if iou >= MATCH_IOU or (_holds_centre(region, face.box) and _holds_centre(face.box, region)):
                pairs.append((iou, ri, fi))
    out: dict[int, StoredFace] = {}
    used: set[int] = set()
    for _, ri, fi in sorted(pairs, reverse=True):
        if ri not in out and fi not in used:
            out[ri] = faces[fi]
            used.add(fi)
    return out


def place_regions(
    ctx: Context,
    store: RegionStore,
    picture_id: int,
    photo: Path,
    regions: Sequence[tuple[str | None, Box]],
    kind: str,
    tally: Tally,
    previous: Sequence[NameRecord] = (),
    origins: dict[Box, str] | None = None,
) -> list[NameRecord]:
    """Name the faces the named `regions` (name, box in upright pixels) cover; find
    faces the detector missed; take off names the file no longer gives (when they are
    still as the file set them). Returns the records to keep."""
    faces = store.faces(picture_id)
    named = [(canonical(ctx, name), b) for n, b in regions if n and (name := _valid(n, photo, tally))]
    matches = match_boxes([b for _, b in named], faces)
    records: list[NameRecord] = []
    from_file = {r.face_id: r.name for r in previous if r.state == "named" and r.face_id is not None}
    for i, (name, box) in enumerate(named):
        origin = (origins or {}).get(box, f"{kind}:{path_key(photo)}")
        face = matches.get(i) or _missed_face(ctx, store, picture_id, photo, box, tally)
        if face is None:
            tally.hints += 1
            records.append(NameRecord(name, box, origin, "hint"))
            continue
        if face.person is not None and face.person != name and from_file.get(face.id) != face.person:
            tally.kept += 1  # named otherwise in facerec: the user's name wins
            records.append(NameRecord(name, box, origin, "kept", face.id))
            continue
        records.append(name_face(ctx, store, photo, face, name, box, origin, tally))
    placed = {r.face_id for r in records if r.state == "named"}
    gone = [f.id for f in faces if f.id in from_file and f.id not in placed and f.person == from_file[f.id]]
    if gone:
        store.unname(gone, f"{_shown(photo).name}: {len(gone)} name(s) its metadata no longer gives taken off")
        tally.unnamed += len(gone)
    return records


def _shown(photo: Path) -> Path:
    """The photo's path as the database and the output spell it (a name that is not
    UTF-8 with its bytes escaped)."""
    return Path(path_key(photo))


def canonical(ctx: Context, name: str) -> str:
    """The registered spelling of a name a file gives with other case, accents or
    spacing ("joe biden" is the registered "Joe Biden"); else the name itself."""
    if ctx.db.people.find_person(name) is not None:
        return name
    same = [k for k in ctx.db.people.names() if normalized(k) == normalized(name)]
    return same[0] if len(same) == 1 else name


def _valid(name: str | None, photo: Path, tally: Tally) -> str | None:
    try:
        return validate_name(name or "")
    except FacerecError as exc:
        tally.lines.append(f"{_shown(photo)}: a region's name {name!r} is not used: {exc}")
        return None


def name_face(
    ctx: Context, store: RegionStore, photo: Path, face: StoredFace, name: str, box: Box | None, origin: str, t: Tally
) -> NameRecord:
    """Give `face` the name `name` through the guard; the record of what happened."""
    name = canonical(ctx, name)
    person_id = ctx.db.people.find_person(name)
    if face.person == name:
        t.named += 1
        return NameRecord(name, box, origin, "named", face.id)
    label = f"face {face.id}"
    verdict = check_new_faces(ctx, name, [face.embedding], person_id, [label])
    # A name the file gave before and changed since: the face looks like its old name, of course.
    problems = [p for p in verdict.problems if face.person is None or f"person {face.person!r} (" not in p]
    if problems:
        problem = "; ".join(problems)
        if any("looks like registered person" in p for p in problems):
            t.refused += 1
            t.lines.append(f"{_shown(photo)}: {name!r} refused by the guard: {problem}")
            return NameRecord(name, box, origin, "refused", face.id, problem)
        t.asked += 1
        how = f"'people is {name!r} {face.id} --force' names it"
        t.lines.append(f"{_shown(photo)}: {name!r} left to confirm: {problem}; {how}")
        return NameRecord(name, box, origin, "ask", face.id, problem)
    if person_id is not None and _looks_like(ctx, face, name):
        t.confirmed += 1
    ctx.db.people.attach([face.id], name, f"{_shown(photo).name}: face {face.id} is {name!r} (named in its metadata)")
    t.named += 1
    return NameRecord(name, box, origin, "named", face.id)


def _looks_like(ctx: Context, face: StoredFace, name: str) -> bool:
    chosen = name_faces(ctx.db.people.nearest([face.embedding]), ctx.threshold)[0]
    return chosen is not None and chosen.name == name


def _missed_face(
    ctx: Context, store: RegionStore, picture_id: int, photo: Path, box: Box, tally: Tally
) -> StoredFace | None:
    """A face in `box` the detector did not report: embedded when its eyes can be found there."""
    detector = ctx.pipeline.detector
    landmarks_in = getattr(detector, "landmarks_in", None)
    if landmarks_in is None or box.w < ctx.spec.min_face_px:
        return None
    try:
        image = load_image(photo)
    except FacerecError as exc:
        log.debug("%s: %s", photo, exc)
        return None
    points = landmarks_in(image.pixels, box)
    if points is None:
        log.debug("%s: no face could be aligned in the named region %s", photo, box)
        return None
    found: EmbeddedFace = ctx.pipeline.embed(image.pixels, [Face(box, 1.0, points)])[0]
    face_id = store.add_face(picture_id, found)
    tally.missed += 1
    return StoredFace(face_id, box, None, found.embedding)
