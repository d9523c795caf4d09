"""Face regions written into XMP for other tools, and put back when undone.

For each named face an MWG region, an MP region and the name in
`Iptc4xmpExt:PersonInImage`, into the sidecar (`sidecar_for_writing`) or, asked to,
the photo's own XMP (JPEG and PNG; only the XMP bytes change, never the pixels).
facerec marks its regions (`facerec:Source`), so writing again replaces only
facerec's regions; what changes in the fields is `facerec.metadata.region_plan`.
Journal every `RegionWrite`: `restore` puts the file back exactly, and refuses when
the file changed since.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from facerec.errors import InvalidNameError, MetadataError
from facerec.metadata import containers, xmp
from facerec.metadata.geometry import photo_geometry
from facerec.metadata.region_plan import plan
from facerec.metadata.regions import sidecar_paths
from facerec.metadata.writing import check_writable, read_file, remove_file, replace_file, sha256
from facerec.types import Box

log = logging.getLogger(__name__)


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
    todo = plan(fields, wanted, geometry)
    if not todo.written and not todo.replaced:
        log.debug("%s: no face region to write or take out", target)
        return RegionWrite(photo, target, previous, sha256(previous or b""), 0, 0, todo.kept, changed=False)
    check_writable(target)
    new_packet = xmp.rewrite_packet(packet, str(target), todo.delete, todo.values)
    if in_place:
        data = _spliced(photo, photo_bytes, where, new_packet)
    else:
        data = new_packet
    if data == previous:
        return RegionWrite(photo, target, previous, sha256(data), todo.written, todo.replaced, todo.kept, False)
    replace_file(target, data, like=photo)
    log.info(
        "%s: wrote %d face region(s) (%d of facerec's replaced, %d of other tools kept)",
        target,
        todo.written,
        todo.replaced,
        todo.kept,
    )
    return RegionWrite(photo, target, previous, sha256(data), todo.written, todo.replaced, todo.kept)


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
