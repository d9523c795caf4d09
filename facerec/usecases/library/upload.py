"""Searching the library with a photo that is not a file on this machine (an
upload from the web page): decoded from memory by the same safe loader as
every other image, never written anywhere."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2

from facerec.errors import FaceNotFoundError, ImageError, NoFaceError
from facerec.types import Box, EmbeddedFace, Image
from facerec.usecases.context import Context
from facerec.usecases.library.search import PhotoMatch
from facerec.usecases.library.search import search_face as search_library
from facerec.vision.images import image_from_bytes
from facerec.vision.pipeline import DECODE_SIDE
from facerec.vision.turns import face_upright, turn_image

__all__ = ["FaceSearch", "PhotoFaces", "Preview", "SearchCache", "analyze_bytes", "preview", "search_face"]


@dataclass(frozen=True)
class PhotoFaces:
    """A decoded photo (at reduced size: `DECODE_SIDE`; boxes are in these pixels) and
    its faces, left to right. `small`: per face, too small to recognise (never
    searched for or kept as a sample); `turn`: degrees clockwise that show it upright."""

    label: str
    pixels: Image
    faces: list[EmbeddedFace]
    small: tuple[bool, ...] = ()
    turn: int = 0

    def too_small(self, number: int) -> bool:
        """Whether face `number` (1-based, left to right) is too small to recognise."""
        return 1 <= number <= len(self.small) and self.small[number - 1]

    def preview_boxes(self, width: int) -> list[Box]:
        """Each face's box in the pixels of its `preview`, `width` pixels wide (upright)."""
        h, w = self.pixels.shape[:2]
        k = width / (h if self.turn in (90, 270) else w)
        boxes = []
        for f in self.faces:
            b = face_upright(f.face, self.turn, w, h).box
            boxes.append(Box(round(b.x * k), round(b.y * k), round(b.w * k), round(b.h * k)))
        return boxes


@dataclass(frozen=True)
class FaceSearch:
    """The library photos that contain face number `face` (1 = leftmost) of a photo, best first."""

    face: int
    matches: list[PhotoMatch]
    total: int = 0


@dataclass(frozen=True)
class Preview:
    """A JPEG of the photo to show (`width` x `height`); face boxes times `scale` are in its pixels."""

    jpeg: bytes
    width: int
    height: int
    scale: float


def preview(ctx: Context, photo: PhotoFaces, side: int = 1024) -> Preview:
    """The photo shown upright (`PhotoFaces.turn`) and shrunk to `side` pixels on its
    longer side (never enlarged), encoded in memory; `PhotoFaces.preview_boxes` gives its face boxes."""
    h, w = photo.pixels.shape[:2]
    f = min(1.0, side / max(h, w))
    small = cv2.resize(photo.pixels, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    small = turn_image(small, photo.turn)
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise ImageError(f"{photo.label}: could not encode a preview")
    return Preview(buf.tobytes(), small.shape[1], small.shape[0], f)


def analyze_bytes(ctx: Context, data: bytes, label: str = "upload") -> PhotoFaces:
    """Decode image bytes once (`ImageError` when they are not a readable image) and
    find every face with every look (`Pipeline.analyze_pixels`), each embedded."""
    image = image_from_bytes(Path(label), data, reduce_to=DECODE_SIDE)
    h, w = image.pixels.shape[:2]
    found = ctx.pipeline.analyze_pixels(image.pixels, w, h)  # boxes in the decoded pixels
    order = sorted(range(len(found.faces)), key=lambda i: (found.faces[i].face.box.x, found.faces[i].face.box.y))
    faces = [found.faces[i] for i in order]
    return PhotoFaces(label, image.pixels, faces, tuple(found.small[i] for i in order), found.turn)


@dataclass
class SearchCache:
    """The answers already given for one uploaded photo (by face number and limit),
    good while the library is as it was (`facerec.db.stats.StatsStore.version`): the
    web page shows the same upload again (a reload, back from naming) without a search."""

    version: tuple[int, int, int] | None = None
    answers: dict[tuple[int | None, int | None], FaceSearch] = field(default_factory=dict)


def search_face(
    ctx: Context,
    photo: PhotoFaces,
    face_number: int | None = None,
    limit: int | None = None,
    cache: SearchCache | None = None,
) -> FaceSearch:
    """The library photos of the person whose face is number `face_number` in
    `photo` (1-based, left to right; default: the largest), within the threshold.
    With a `cache`, an answer given before is given again while nothing changed."""
    if cache is not None:
        version = ctx.db.stats.version()
        if version != cache.version:
            cache.version, cache.answers = version, {}
        elif (face_number, limit) in cache.answers:
            return cache.answers[(face_number, limit)]
    if not photo.faces:
        raise NoFaceError(f"{photo.label}: no face found")
    number = face_number
    if number is None:
        number = 1 + max(range(len(photo.faces)), key=lambda i: photo.faces[i].face.box.area)
    if not 1 <= number <= len(photo.faces):
        raise FaceNotFoundError(f"{photo.label} has {len(photo.faces)} face(s), not a face {number}")
    if photo.too_small(number):
        raise NoFaceError(f"{photo.label}: face {number} is too small to recognise")
    found = search_library(ctx, photo.faces[number - 1], limit)
    answer = FaceSearch(number, found.matches, found.total)
    if cache is not None:
        cache.answers[(face_number, limit)] = answer
    return answer
