"""Face regions in XMP, read from a photo and its sidecars.

MWG regions (`mwg-rs:Regions`, written by digiKam, Lightroom, Picasa, darktable,
ACDSee, exiftool; read by Immich) of type Face, and Microsoft's
(`MP:RegionInfo/MPRI:Regions`, Windows Photo Gallery) where a file has no MWG ones,
from `photo.jpg.xmp`, `photo.xmp` and the photo's own XMP, in that order of trust: a
region that overlaps one already taken (same face, IoU >= 0.5) is left out, and a
named region wins over an unnamed one in the same file. Keep the `SidecarState`s of
a read with what was read: `sidecar_states(photo)` then tells when to read again.

Writing them for other tools is `facerec.metadata.region_write`; the XMP keys and the
parsing of one region are `facerec.metadata.region_fields`. Boxes are pixels of the
upright photo (EXIF orientation applied, as `facerec.vision.images` decodes it); the
files hold fractions of the stored image (see `facerec.metadata.geometry`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from facerec.errors import MetadataError
from facerec.metadata import containers, xmp
from facerec.metadata.geometry import Geometry, box_from_stored, photo_geometry
from facerec.metadata.region_fields import (
    MP_LIST,
    MWG_LIST,
    SAME_FACE,
    is_face,
    items,
    mp_own,
    mp_rect,
    mwg_own,
    mwg_rect,
    name_of,
)
from facerec.metadata.writing import read_file, sha256
from facerec.metadata.xmp import Fields
from facerec.types import Box

log = logging.getLogger(__name__)


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


def _regions(fields: Fields, origin: Path, geometry: Geometry) -> list[Region]:
    """The face regions of one file: its MWG ones, or its MP ones when it has no MWG ones."""
    out: list[Region] = []
    for item in items(fields, MWG_LIST).values():
        rect = mwg_rect(item, fields)
        box = box_from_stored(rect, geometry) if rect is not None and is_face(item) else None
        if box is not None:
            out.append(Region(name_of(item, "/mwg-rs:Name"), box, "mwg", origin, mwg_own(item)))
    if out:
        return out
    for item in items(fields, MP_LIST).values():
        rect = mp_rect(item)
        box = box_from_stored(rect, geometry) if rect is not None else None
        if box is not None:
            out.append(Region(name_of(item, "/MPReg:PersonDisplayName"), box, "mp", origin, mp_own(item)))
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
