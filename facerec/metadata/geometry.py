"""Where a region is: the stored image, EXIF orientation, and facerec's upright pixels.

Face regions in photo metadata (MWG `mwg-rs:Area`, Microsoft `MPReg:Rectangle`,
Picasa `rect64`) are fractions (0..1) of the image *as stored*, before the EXIF
orientation is applied (MWG guidelines 2.0, "Image Region Metadata": the region
is applied to the stored image; a viewer that rotates by the Orientation tag must
rotate the regions too; digiKam, Immich and exiftool's rotate_regions.config do
so). facerec's boxes are pixels of the *upright* image, the way
`facerec.vision.images` decodes it (EXIF orientation applied). This module turns
one into the other for all eight orientations.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from facerec.errors import MetadataError
from facerec.types import Box

log = logging.getLogger(__name__)

try:  # HEIC/HEIF photos, as facerec.vision.images reads them, when pillow-heif is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - optional
    pass

Rect = tuple[float, float, float, float]
"""A rectangle as fractions of an image: left, top, right, bottom, each 0..1."""

_SWAPS = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class Geometry:
    """A photo's stored size in pixels and its EXIF orientation (1..8; 1 when absent or invalid)."""

    stored_width: int
    stored_height: int
    orientation: int = 1

    @property
    def width(self) -> int:
        """Width of the upright image (what facerec's boxes measure)."""
        return self.stored_height if self.orientation in _SWAPS else self.stored_width

    @property
    def height(self) -> int:
        """Height of the upright image."""
        return self.stored_width if self.orientation in _SWAPS else self.stored_height


def photo_geometry(photo: Path, data: bytes | None = None) -> Geometry:
    """Stored size and EXIF orientation, read from the header as `facerec.vision.images`
    reads them (Pillow), so boxes here and boxes of detected faces share one frame.
    Pass `data` when the photo's bytes are already in memory."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with PILImage.open(io.BytesIO(data) if data is not None else photo) as img:
                width, height = img.size
                orientation = img.getexif().get(0x0112, 1)
    except FileNotFoundError:
        raise MetadataError(f"{photo}: no such file") from None
    except UnidentifiedImageError:
        raise MetadataError(f"{photo}: not an image, or a format that cannot be read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise MetadataError(f"{photo}: cannot read the image's size ({exc})") from None
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    return Geometry(width, height, orientation)


def _upright_point(x: float, y: float, orientation: int) -> tuple[float, float]:
    """A point of the stored image (fractions) in the upright image."""
    if orientation == 2:  # mirrored left-right
        return 1 - x, y
    if orientation == 3:  # rotated 180
        return 1 - x, 1 - y
    if orientation == 4:  # mirrored top-bottom
        return x, 1 - y
    if orientation == 5:  # transposed
        return y, x
    if orientation == 6:  # shown rotated 90 degrees clockwise
        return 1 - y, x
    if orientation == 7:  # transversed
        return 1 - y, 1 - x
    if orientation == 8:  # shown rotated 90 degrees counter-clockwise
        return y, 1 - x
    return x, y


def _stored_point(u: float, v: float, orientation: int) -> tuple[float, float]:
    """The inverse of `_upright_point`."""
    if orientation == 6:
        return v, 1 - u
    if orientation == 8:
        return 1 - v, u
    return _upright_point(u, v, orientation)  # the other six are their own inverse


def _transform(rect: Rect, orientation: int, point: Callable[[float, float, int], tuple[float, float]]) -> Rect:
    (ax, ay), (bx, by) = point(rect[0], rect[1], orientation), point(rect[2], rect[3], orientation)
    return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


def upright_rect(rect: Rect, orientation: int) -> Rect:
    """A rectangle of the stored image, as fractions of the upright image."""
    return _transform(rect, orientation, _upright_point)


def stored_rect(rect: Rect, orientation: int) -> Rect:
    """A rectangle of the upright image, as fractions of the stored image."""
    return _transform(rect, orientation, _stored_point)


def _clip(rect: Rect) -> Rect:
    left, top, right, bottom = (min(1.0, max(0.0, v)) for v in rect)
    return left, top, right, bottom


def box_from_stored(rect: Rect, geometry: Geometry) -> Box | None:
    """Pixels of the upright image for a stored-image rectangle (clipped to the image);
    None when nothing of it is inside the image."""
    left, top, right, bottom = upright_rect(_clip(rect), geometry.orientation)
    x0, y0 = round(left * geometry.width), round(top * geometry.height)
    x1, y1 = round(right * geometry.width), round(bottom * geometry.height)
    if x1 <= x0 or y1 <= y0:
        return None
    return Box(x0, y0, x1 - x0, y1 - y0)


def stored_from_box(box: Box, geometry: Geometry) -> Rect:
    """The stored-image rectangle (fractions) of a box in upright pixels, clipped to the image."""
    w, h = geometry.width, geometry.height
    rect = (box.x / w, box.y / h, (box.x + box.w) / w, (box.y + box.h) / h)
    return stored_rect(_clip(rect), geometry.orientation)
