"""Face regions in XMP: read from a photo and its sidecars, written for other tools.

Read: MWG regions (`mwg-rs:Regions`, written by digiKam, Lightroom, Picasa, darktable,
ACDSee, exiftool; read by Immich) of type Face, and Microsoft's
(`MP:RegionInfo/MPRI:Regions`, Windows Photo Gallery) where a file has no MWG ones,
from `photo.jpg.xmp`, `photo.xmp` and the photo's own XMP, in that order of trust: a
region that overlaps one already taken (same face, IoU >= 0.5) is left out, and a
named region wins over an unnamed one in the same file.

Written: for each named face an MWG region, an MP region and the name in
`Iptc4xmpExt:PersonInImage`, into the sidecar (or, asked to, the photo's own XMP).
facerec marks its regions (`facerec:Source` in the MWG region's `mwg-rs:Extensions`,
and in the MP region) so that writing again replaces only facerec's regions: other
tools' regions and every other property of the file stay as they were.

Boxes are pixels of the upright photo (EXIF orientation applied, as
`facerec.vision.images` decodes it); the files hold fractions of the stored image
(see `facerec.metadata.geometry`).
"""

from __future__ import annotations

import glob
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from facerec.errors import InvalidNameError, MetadataError
from facerec.metadata import containers, xmp
from facerec.metadata.geometry import Geometry, Rect, box_from_stored, photo_geometry, stored_from_box
from facerec.metadata.writing import check_writable, read_file, remove_file, replace_file, sha256
from facerec.metadata.xmp import Field, Fields, Value
from facerec.types import Box

log = logging.getLogger(__name__)

MWG = "Xmp.mwg-rs.Regions"
MWG_DIMENSIONS = MWG + "/mwg-rs:AppliedToDimensions"
MWG_LIST = MWG + "/mwg-rs:RegionList"
MP = "Xmp.MP.RegionInfo"
MP_LIST = MP + "/MPRI:Regions"
PEOPLE = "Xmp.iptcExt.PersonInImage"
MARK = f"{xmp.PREFIX}:Source"
MARK_VALUE = "facerec"

SAME_FACE = 0.5
"""Two regions whose boxes overlap by at least this IoU are taken as the same face."""

_ITEM = re.compile(r"\[(\d+)\](.*)", re.DOTALL)
_STRUCT = 'type="Struct"'
_BAG = 'type="Bag"'


@dataclass(frozen=True)
class Region:
    """A face region read from a photo's metadata.

    `box` is in pixels of the upright photo; `source` is 'mwg' or 'mp'; `origin` the
    file it came from (a sidecar, or the photo); `own` is True for regions facerec wrote.
    """

    name: str | None
    box: Box
    source: str
    origin: Path
    own: bool = False


@dataclass(frozen=True)
class SidecarState:
    """One possible sidecar of a photo and the SHA-256 of its bytes (None: there is none).
    Keep these with what was read: when `sidecar_states(photo)` gives other ones, a
    sidecar was added, changed or removed, and the regions should be read again."""

    path: Path
    sha256: str | None


@dataclass(frozen=True)
class RegionRead:
    """The face regions of a photo, the sidecars they were read with, and the upright
    size and EXIF orientation the boxes refer to."""

    photo: Path
    regions: list[Region]
    sidecars: tuple[SidecarState, ...]
    width: int
    height: int
    orientation: int


@dataclass(frozen=True)
class RegionWrite:
    """What `write_regions` did to one file.

    `path` is the file written (a sidecar, or the photo with `in_place`); `previous` its
    bytes before (None: it did not exist), which `restore` puts back; `sha256` is the
    digest of what was written (`restore` refuses a file changed since). `written`:
    facerec regions in the file now; `replaced`: facerec regions of an earlier export
    taken out; `kept`: other tools' face regions left in place; `changed`: False when
    the file already said exactly this (nothing was written).
    """

    photo: Path
    path: Path
    previous: bytes | None
    sha256: str
    written: int
    replaced: int
    kept: int
    changed: bool = True


def sidecar_paths(photo: Path) -> tuple[Path, ...]:
    """Where a photo's sidecar can be: `IMG_1.jpg.xmp` (digiKam, darktable, Immich) and
    `IMG_1.xmp` (Lightroom, Capture One, exiftool's usual name), in that order."""
    long = photo.with_name(photo.name + ".xmp")
    if not photo.suffix:
        return (long,)
    return long, photo.with_suffix(".xmp")


def sidecar_states(photo: Path) -> tuple[SidecarState, ...]:
    """Both possible sidecars of `photo` and the SHA-256 of each one that exists."""
    return tuple(SidecarState(path, None if data is None else sha256(data)) for path, data in _sidecars(Path(photo)))


def _sidecars(photo: Path) -> list[tuple[Path, bytes | None]]:
    return [(path, read_file(path)) for path in sidecar_paths(photo)]


def read_regions(photo: Path, data: bytes | None = None) -> RegionRead:
    """The face regions of `photo`, from its sidecars and its own XMP.

    Pass `data` when the photo's bytes are already in memory (as indexing has them):
    nothing is read twice. A JPEG or PNG without XMP costs a scan of its header.
    Malformed XMP raises `MetadataError` naming the file.
    """
    photo = Path(photo)
    if data is None:
        data = read_file(photo)
        if data is None:
            raise MetadataError(f"{photo}: no such file")
    geometry = photo_geometry(photo, data)
    sidecars = _sidecars(photo)
    found: list[Region] = []
    for path, content in sidecars:
        if content is not None:
            found += _regions(xmp.read_packet(content, str(path)), path, geometry)
    found += _regions(_embedded_fields(photo, data), photo, geometry)
    regions = _distinct(found)
    if regions:
        log.debug("%s: %d face region(s) in its metadata", photo, len(regions))
    states = tuple(SidecarState(path, None if content is None else sha256(content)) for path, content in sidecars)
    return RegionRead(photo, regions, states, geometry.width, geometry.height, geometry.orientation)


def _embedded_fields(photo: Path, data: bytes) -> Fields:
    try:
        where = containers.find_xmp(data)
    except containers.ContainerError as exc:
        log.debug("%s: %s; reading its metadata with libexiv2", photo, exc)
        where = None
    if where is not None and not where.extended:
        return xmp.read_packet(where.packet, str(photo)) if where.packet else {}
    return xmp.read_image(data, str(photo))


def _items(fields: Fields, prefix: str) -> dict[int, dict[str, Field]]:
    """The members of the array `prefix`: index -> {path inside the item: field}."""
    items: dict[int, dict[str, Field]] = {}
    for key, field in fields.items():
        if key.startswith(prefix + "["):
            match = _ITEM.match(key, len(prefix))
            if match:
                items.setdefault(int(match.group(1)), {})[match.group(2)] = field
    return dict(sorted(items.items()))


def _number(item: dict[str, Field], path: str) -> float | None:
    field = item.get(path)
    if field is None or not field.text:
        return None
    try:
        return float(field.text)
    except ValueError:
        return None


def _name(item: dict[str, Field], path: str) -> str | None:
    field = item.get(path)
    return (field.text or None) if field is not None else None


def _mwg_rect(item: dict[str, Field], fields: Fields) -> Rect | None:
    """A MWG region's rectangle as fractions of the stored image (centre and size in
    the file), or None for a point, a circle or a malformed area."""
    x, y = _number(item, "/mwg-rs:Area/stArea:x"), _number(item, "/mwg-rs:Area/stArea:y")
    w, h = _number(item, "/mwg-rs:Area/stArea:w"), _number(item, "/mwg-rs:Area/stArea:h")
    if x is None or y is None or w is None or h is None or w <= 0 or h <= 0:
        return None
    unit = _name(item, "/mwg-rs:Area/stArea:unit") or "normalized"
    if unit.lower() == "pixel":  # not MWG's rule, but some writers do it
        dims = fields.get(MWG_DIMENSIONS + "/stDim:w"), fields.get(MWG_DIMENSIONS + "/stDim:h")
        try:
            dw, dh = (float(d.text) for d in dims if d is not None)
        except ValueError:
            return None
        if dw <= 0 or dh <= 0:
            return None
        x, y, w, h = x / dw, y / dh, w / dw, h / dh
    return x - w / 2, y - h / 2, x + w / 2, y + h / 2


def _mp_rect(item: dict[str, Field]) -> Rect | None:
    """A Microsoft region's rectangle ("x, y, w, h", top-left corner) as fractions."""
    field = item.get("/MPReg:Rectangle")
    if field is None:
        return None
    try:
        x, y, w, h = (float(part) for part in field.text.split(","))
    except ValueError:
        return None
    if w <= 0 or h <= 0:
        return None
    return x, y, x + w, y + h


def _is_face(item: dict[str, Field]) -> bool:
    kind = _name(item, "/mwg-rs:Type")
    return kind is None or kind.lower() == "face"


def _mwg_own(item: dict[str, Field]) -> bool:
    return f"/mwg-rs:Extensions/{MARK}" in item


def _regions(fields: Fields, origin: Path, geometry: Geometry) -> list[Region]:
    """The face regions of one file: its MWG ones, or its MP ones when it has no MWG ones."""
    out: list[Region] = []
    for item in _items(fields, MWG_LIST).values():
        rect = _mwg_rect(item, fields)
        box = box_from_stored(rect, geometry) if rect is not None and _is_face(item) else None
        if box is not None:
            out.append(Region(_name(item, "/mwg-rs:Name"), box, "mwg", origin, _mwg_own(item)))
    if out:
        return out
    for item in _items(fields, MP_LIST).values():
        rect = _mp_rect(item)
        box = box_from_stored(rect, geometry) if rect is not None else None
        if box is not None:
            out.append(Region(_name(item, "/MPReg:PersonDisplayName"), box, "mp", origin, f"/{MARK}" in item))
    return out


def _distinct(regions: list[Region]) -> list[Region]:
    """One region per face: the first file's, and in one file a named one before an unnamed one."""
    files: list[Path] = []
    for r in regions:
        if r.origin not in files:
            files.append(r.origin)
    order = sorted(range(len(regions)), key=lambda i: (files.index(regions[i].origin), regions[i].name is None, i))
    taken: list[Region] = []
    for i in order:
        region = regions[i]
        if all(region.box.iou(other.box) < SAME_FACE for other in taken):
            taken.append(region)
        else:
            log.debug("%s: region %s left out, another one covers the same face", region.origin, region.box)
    return taken


def _check_name(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise InvalidNameError("a face to write has an empty name")
    if any(ord(c) < 32 or ord(c) == 127 for c in clean):
        raise InvalidNameError(f"{clean!r}: a name with control characters cannot be written to XMP")
    if clean.startswith("type="):  # libexiv2 would read it as the type of an XMP node
        raise InvalidNameError(f"{clean!r}: a name starting with 'type=' cannot be written to XMP")
    return clean


def sidecar_for_writing(photo: Path) -> Path:
    """The sidecar `write_regions` writes: an existing `IMG_1.jpg.xmp`, else an existing
    `IMG_1.xmp` that no other file shares (a RAW+JPEG pair's `IMG_1.xmp` belongs to
    both, and usually to the RAW's developer), else a new `IMG_1.jpg.xmp`: one
    sidecar per photo, the name digiKam, darktable and Immich write and read."""
    paths = sidecar_paths(photo)
    if paths[0].exists() or len(paths) == 1:
        return paths[0]
    short = paths[1]
    if short.exists():
        pattern = glob.escape(str(photo.with_suffix(""))) + ".*"
        others = [Path(p) for p in glob.glob(pattern) if Path(p) != photo and Path(p).suffix.lower() != ".xmp"]
        if not others:
            return short
        log.info("%s is shared with %s; writing %s instead", short, others[0].name, paths[0])
    return paths[0]


def write_regions(photo: Path, faces: Sequence[tuple[str, Box]], in_place: bool = False) -> RegionWrite:
    """Write the named `faces` (name, box in upright pixels) as face regions of `photo`.

    By default into its sidecar (see `sidecar_for_writing`), merged: facerec's regions
    of an earlier write are replaced, other tools' regions and every other property
    are kept. A face another tool already tagged with the same name at the same place
    is not written twice. `in_place=True` rewrites the XMP inside the photo instead
    (JPEG and PNG; only the XMP bytes change, never the pixels). Journal the result:
    `restore(result)` puts the file back as it was.
    """
    photo = Path(photo)
    wanted = [(_check_name(name), box) for name, box in faces]
    photo_bytes = read_file(photo)
    if photo_bytes is None:
        raise MetadataError(f"{photo}: no such file")
    geometry = photo_geometry(photo, photo_bytes)
    if in_place:
        target = photo
        previous: bytes | None = photo_bytes
        where = _where_in_place(photo, photo_bytes)
        packet = where.packet
    else:
        target = sidecar_for_writing(photo)
        previous = read_file(target)
        packet = previous
    fields = xmp.read_packet(packet, str(target)) if packet else {}
    plan = _plan(fields, wanted, geometry)
    if not plan.written and not plan.replaced:
        log.debug("%s: no face region to write or take out", target)
        return RegionWrite(photo, target, previous, sha256(previous or b""), 0, 0, plan.kept, changed=False)
    check_writable(target)
    new_packet = xmp.rewrite_packet(packet, str(target), plan.delete, plan.values)
    if in_place:
        data = _spliced(photo, photo_bytes, where, new_packet)
    else:
        data = new_packet
    if data == previous:
        return RegionWrite(photo, target, previous, sha256(data), plan.written, plan.replaced, plan.kept, False)
    replace_file(target, data, like=photo)
    log.info(
        "%s: wrote %d face region(s) (%d of facerec's replaced, %d of other tools kept)",
        target,
        plan.written,
        plan.replaced,
        plan.kept,
    )
    return RegionWrite(photo, target, previous, sha256(data), plan.written, plan.replaced, plan.kept)


def restore(write: RegionWrite) -> None:
    """Put the file `write` changed back exactly as it was (a sidecar facerec created is
    removed). Refuses, changing nothing, when the file changed since facerec wrote it."""
    if not write.changed:
        return
    current = read_file(write.path)
    if current is None or sha256(current) != write.sha256:
        raise MetadataError(f"{write.path}: changed since facerec wrote it; not restored")
    if write.previous is None:
        remove_file(write.path)
    else:
        replace_file(write.path, write.previous, like=write.photo)
    log.info("%s: restored", write.path)


def _where_in_place(photo: Path, data: bytes) -> containers.Embedded:
    try:
        where = containers.find_xmp(data)
    except containers.ContainerError as exc:
        raise MetadataError(f"{photo}: {exc}; nothing was changed") from None
    if where is None:
        raise MetadataError(
            f"{photo}: facerec writes face regions into JPEG and PNG photos only; write a sidecar instead"
        )
    if where.extended:
        raise MetadataError(f"{photo}: its XMP continues in extended XMP segments; write a sidecar instead")
    return where


def _spliced(photo: Path, data: bytes, where: containers.Embedded, packet: bytes) -> bytes:
    if packet.startswith(b"<?xml"):
        packet = packet[packet.index(b"?>") + 2 :].lstrip()
    try:
        return containers.replace_xmp(data, where, packet)
    except containers.ContainerError as exc:
        raise MetadataError(f"{photo}: {exc}; write a sidecar instead") from None


@dataclass
class _Plan:
    delete: list[str]
    values: dict[str, Value]
    written: int
    replaced: int
    kept: int


def _fraction(value: float) -> str:
    return f"{value:.6f}"


def _same_rect(a: Rect, b: Rect) -> bool:
    return max(abs(p - q) for p, q in zip(a, b)) < 1e-4


def _plan(fields: Fields, faces: list[tuple[str, Box]], geometry: Geometry) -> _Plan:
    """What to take out of `fields` and what to set, to hold `faces` as facerec's regions."""
    mwg_items = list(_items(fields, MWG_LIST).values())
    own = [item for item in mwg_items if _mwg_own(item)]
    others = [item for item in mwg_items if not _mwg_own(item)]
    own_rects = [rect for rect in (_mwg_rect(item, fields) for item in own) if rect is not None]
    mp_items = list(_items(fields, MP_LIST).values())
    mp_others = [
        item
        for item in mp_items
        if f"/{MARK}" not in item and not any(_same_rect(r, rect) for r in own_rects if (rect := _mp_rect(item)))
    ]
    # A face another tool already has, with the same name at the same place, is not written twice.
    present = [
        (name.casefold(), box)
        for item in others
        if _is_face(item) and (name := _name(item, "/mwg-rs:Name")) and (rect := _mwg_rect(item, fields))
        if (box := box_from_stored(rect, geometry)) is not None
    ]
    new = [
        (name, box)
        for name, box in faces
        if not any(n == name.casefold() and box.iou(b) >= SAME_FACE for n, b in present)
    ]
    if len(new) < len(faces):
        log.info(
            "%d face(s) already tagged with the same name by another tool; not written twice", len(faces) - len(new)
        )

    # The dimensions other tools' regions were applied to stay theirs; facerec's regions
    # are fractions, right for any size. Without other regions: the photo's stored size.
    keep_dimensions = bool(others) and MWG_DIMENSIONS + "/stDim:w" in fields
    delete = [
        key
        for key in fields
        if key.startswith((MWG_LIST, MP_LIST))
        or (key.startswith(MWG_DIMENSIONS) and not keep_dimensions)
        or key == PEOPLE
        or key.startswith(PEOPLE + "[")
    ]
    values: dict[str, Value] = {}
    if others or new:
        if MWG not in fields:
            values[MWG] = _STRUCT
        if not keep_dimensions:
            values[MWG_DIMENSIONS] = _STRUCT
            values[MWG_DIMENSIONS + "/stDim:w"] = str(geometry.stored_width)
            values[MWG_DIMENSIONS + "/stDim:h"] = str(geometry.stored_height)
            values[MWG_DIMENSIONS + "/stDim:unit"] = "pixel"
        values[MWG_LIST] = _BAG
        for i, item in enumerate(others, 1):
            values.update(_copied(item, f"{MWG_LIST}[{i}]"))
        for i, (name, box) in enumerate(new, len(others) + 1):
            left, top, right, bottom = stored_from_box(box, geometry)
            p = f"{MWG_LIST}[{i}]"
            values[p] = _STRUCT
            values[p + "/mwg-rs:Name"] = name
            values[p + "/mwg-rs:Type"] = "Face"
            values[p + "/mwg-rs:Area"] = _STRUCT
            values[p + "/mwg-rs:Area/stArea:x"] = _fraction((left + right) / 2)
            values[p + "/mwg-rs:Area/stArea:y"] = _fraction((top + bottom) / 2)
            values[p + "/mwg-rs:Area/stArea:w"] = _fraction(right - left)
            values[p + "/mwg-rs:Area/stArea:h"] = _fraction(bottom - top)
            values[p + "/mwg-rs:Area/stArea:unit"] = "normalized"
            values[p + "/mwg-rs:Extensions"] = _STRUCT
            values[p + f"/mwg-rs:Extensions/{MARK}"] = MARK_VALUE
    elif MWG in fields and not _rest(fields, MWG, delete):
        delete.append(MWG)
    if mp_others or new:
        if MP not in fields:
            values[MP] = _STRUCT
        values[MP_LIST] = _BAG
        for i, item in enumerate(mp_others, 1):
            values.update(_copied(item, f"{MP_LIST}[{i}]"))
        for i, (name, box) in enumerate(new, len(mp_others) + 1):
            left, top, right, bottom = stored_from_box(box, geometry)
            p = f"{MP_LIST}[{i}]"
            values[p] = _STRUCT
            values[p + "/MPReg:Rectangle"] = ", ".join(_fraction(v) for v in (left, top, right - left, bottom - top))
            values[p + "/MPReg:PersonDisplayName"] = name
            values[p + f"/{MARK}"] = MARK_VALUE
    elif MP in fields and not _rest(fields, MP, delete):
        delete.append(MP)
    people = _people(fields, own, others, mp_others, [name for name, _ in faces])
    if people:
        values[PEOPLE] = _BAG
        for i, name in enumerate(people, 1):
            values[f"{PEOPLE}[{i}]"] = name
    return _Plan(delete, values, len(new), len(own), len(others) + len(mp_others))


def _rest(fields: Fields, parent: str, deleted: list[str]) -> list[str]:
    """Keys under `parent` that stay."""
    gone = set(deleted)
    return [k for k in fields if k.startswith(parent + "/") and k not in gone]


def _copied(item: dict[str, Field], prefix: str) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for path, field in item.items():
        out.update(xmp.array_values(prefix + path, field))
    return out


def _people(
    fields: Fields,
    own: list[dict[str, Field]],
    others: list[dict[str, Field]],
    mp_others: list[dict[str, Field]],
    names: list[str],
) -> list[str]:
    """`Iptc4xmpExt:PersonInImage`: what it held, less the names only facerec's old
    regions carried, plus the names written now."""
    field = fields.get(PEOPLE)
    held = [n for n in field.value if n.strip()] if field is not None and isinstance(field.value, list) else []
    if field is not None and isinstance(field.value, str) and field.text and not field.text.startswith("type="):
        held = [field.text]
    carried = {n for item in others if (n := _name(item, "/mwg-rs:Name"))}
    carried |= {n for item in mp_others if (n := _name(item, "/MPReg:PersonDisplayName"))}
    dropped = {n for item in own if (n := _name(item, "/mwg-rs:Name"))} - carried - set(names)
    out = [n for n in held if n not in dropped]
    for name in names:
        if name not in out:
            out.append(name)
    return out
