"""Reading image files safely into OpenCV's BGR arrays.

Every way a file can be wrong (missing, a directory, unreadable, empty,
truncated, not an image, a decompression bomb) becomes an `ImageError` with a
message that names the file. Pillow reads every header (size limit, EXIF
orientation) and decodes everything but plain RGB / greyscale JPEGs: palette,
RGBA, 16-bit, CMYK modes and animated formats (the first frame is used).
Those JPEGs, most photos, are decoded by OpenCV's libjpeg-turbo straight into
BGR, about twice as fast (5 against 10 ms per photo here) with the same
pixels; anything OpenCV cannot decode falls back to Pillow and its errors.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from facerec.errors import ImageError
from facerec.files import write_private_file
from facerec.types import Image

log = logging.getLogger(__name__)

MAX_PIXELS = 100_000_000
"""Images with more pixels than this (e.g. 10000 x 10000) are refused before decoding."""

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})

try:  # HEIC/HEIF photos from phones, when the optional pillow-heif package is present
    from pillow_heif import register_heif_opener

    register_heif_opener()
    IMAGE_SUFFIXES = IMAGE_SUFFIXES | {".heic", ".heif"}
except ImportError:  # pragma: no cover - optional
    pass

# We enforce MAX_PIXELS ourselves, before decoding, with a clearer message.
PILImage.MAX_IMAGE_PIXELS = None


@dataclass(frozen=True)
class LoadedImage:
    """Decoded pixels plus what is needed to refer back to the file.

    `scale` is original size / decoded size (1.0 unless a reduced decode was
    asked for): multiply coordinates in `pixels` by it to get coordinates in
    the original (EXIF-rotated) image. `width`/`height` are the original's.
    """

    path: Path
    pixels: Image
    sha256: str
    size: int
    width: int
    height: int
    scale: float = 1.0


def read_bytes(path: Path) -> bytes:
    """Read a whole file, turning every OS error into an `ImageError`."""
    try:
        if path.is_dir():
            raise ImageError(f"{path}: is a directory, not an image")
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except PermissionError:
        raise ImageError(f"{path}: permission denied") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror or exc})") from None


def load_image(path: Path | str, reduce_to: int | None = None) -> LoadedImage:
    """Decode `path` into an upright BGR uint8 array.

    `reduce_to`: for JPEGs, let the decoder skip detail so that both sides
    are still at least this many pixels (a 6000x4000 photo with 1920 decodes
    at 1/2 size, several times faster). Coordinates found in the reduced
    image must be multiplied by `LoadedImage.scale`.
    """
    path = Path(path)
    return image_from_bytes(path, read_bytes(path), reduce_to)


def image_from_bytes(path: Path, data: bytes, reduce_to: int | None = None, sha256: str | None = None) -> LoadedImage:
    """`load_image` for bytes already read; pass their `sha256` if already computed."""
    if not data:
        raise ImageError(f"{path}: empty file")
    digest = sha256 or hashlib.sha256(data).hexdigest()
    pixels, width, height, scale = decode(data, str(path), reduce_to)
    return LoadedImage(path, pixels, digest, len(data), width, height, scale)


def decode(data: bytes, label: str = "image", reduce_to: int | None = None) -> tuple[Image, int, int, float]:
    """Decode image bytes; returns (bgr pixels, original width, original height, scale)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = PILImage.open(io.BytesIO(data))
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise ImageError(f"{label}: image too large ({width}x{height} pixels; the limit is {MAX_PIXELS:,})")
            orientation = img.getexif().get(0x0112, 1)
            jpeg = img.format == "JPEG"
            reduction = _jpeg_reduction(width, height, reduce_to) if jpeg else 1
            plain = jpeg and img.mode in ("RGB", "L")
            bgr = _decode_jpeg(data, width, height, orientation, reduction) if plain else None
            if bgr is None:
                if reduction > 1 and reduce_to:
                    img.draft("RGB", (reduce_to, reduce_to))
                img.seek(0)
                img.load()
                upright: PILImage.Image = ImageOps.exif_transpose(img)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{label}: not an image, or a format that cannot be read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{label}: corrupt or truncated image ({exc})") from None
    except PILImage.DecompressionBombError as exc:  # pragma: no cover - MAX_IMAGE_PIXELS is None
        raise ImageError(f"{label}: image too large ({exc})") from None
    except MemoryError:
        raise ImageError(f"{label}: image too large to decode in the memory available") from None

    if orientation in (5, 6, 7, 8):  # rotated by 90 degrees: the original's sides swap
        width, height = height, width
    if bgr is None:
        try:
            bgr = cv2.cvtColor(_to_rgb_array(upright), cv2.COLOR_RGB2BGR)
        except (ValueError, OSError) as exc:  # a pixel format Pillow cannot convert to RGB
            raise ImageError(f"{label}: unsupported image mode {upright.mode} ({exc})") from None
        except MemoryError:
            raise ImageError(f"{label}: image too large to decode in the memory available") from None
    scale = max(width, height) / max(bgr.shape[0], bgr.shape[1])
    return bgr, width, height, scale


def _jpeg_reduction(width: int, height: int, reduce_to: int | None) -> int:
    """1, 2, 4 or 8: how much a JPEG decoder may shrink this image while both
    sides stay at least `reduce_to` (what Pillow's `draft` picks)."""
    if not reduce_to or max(width, height) <= 2 * reduce_to:
        return 1
    fits = min(width // reduce_to, height // reduce_to)
    return next(r for r in (8, 4, 2, 1) if r <= max(fits, 1))


_REDUCED = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}

_ORIENT: dict[int, Callable[[Image], Image]] = {  # EXIF orientation -> what makes the image upright
    2: lambda im: cv2.flip(im, 1),
    3: lambda im: cv2.rotate(im, cv2.ROTATE_180),
    4: lambda im: cv2.flip(im, 0),
    5: cv2.transpose,
    6: lambda im: cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE),
    7: lambda im: cv2.rotate(cv2.transpose(im), cv2.ROTATE_180),
    8: lambda im: cv2.rotate(im, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def _decode_jpeg(data: bytes, width: int, height: int, orientation: int, reduction: int) -> Image | None:
    """Upright BGR pixels of an RGB / greyscale JPEG through OpenCV, or None
    when OpenCV cannot decode it fully (the caller then uses Pillow)."""
    try:
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), _REDUCED[reduction] | cv2.IMREAD_IGNORE_ORIENTATION)
    except cv2.error:
        return None
    if bgr is None or bgr.shape[:2] != (-(-height // reduction), -(-width // reduction)):
        return None
    turn = _ORIENT.get(orientation)
    return turn(bgr) if turn is not None else bgr


def _to_rgb_array(img: PILImage.Image) -> np.ndarray:
    """Any Pillow mode -> H x W x 3 uint8 RGB. Transparent pixels become white."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr: np.ndarray = np.asarray(img, dtype=np.uint32 if mode == "I" else np.uint16)
        if arr.max(initial=0) > 255:
            arr = arr >> 8 if mode != "I" else arr * 255 // max(int(arr.max()), 1)
        gray = np.clip(arr, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.stack([gray] * 3, axis=-1))
    if mode == "F":  # floats: 0..1 or 0..255; NaN and infinities (corrupt data) become black / white
        arr = np.clip(np.nan_to_num(np.asarray(img, dtype=np.float32), nan=0.0, posinf=255.0), 0.0, None)
        gray = np.clip(arr if arr.max(initial=0) > 1.0 else arr * 255, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.stack([gray] * 3, axis=-1))
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = PILImage.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def save_private_image(path: Path, pixels: Image, quality: int = 92) -> None:
    """Write an image readable by the owner only (0600), atomically (see `facerec.files`)."""
    ext = path.suffix.lower()
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(ext, pixels, params)
    if not ok:
        raise ImageError(f"{path}: could not encode image")
    write_private_file(path, buf.tobytes())
