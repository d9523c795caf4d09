"""Detector + embedder, loaded once per process and used together."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from facerec.config import Settings
from facerec.errors import ImageError
from facerec.types import EmbeddedFace, Face, Image
from facerec.vision.detectors import Detector, YuNetDetector, get_detector
from facerec.vision.embedders import Embedder, embedder_spec, get_embedder
from facerec.vision.images import decode
from facerec.vision.looks import ALL_LOOKS, FoundFaces, Looks, find_faces
from facerec.vision.quality import face_sharpness

DECODE_SIDE = 1920
"""`analyze_photo` decodes large JPEGs at 1/2, 1/4 or 1/8 size while both sides
stay at least this long: a 12 MP phone photo (4032 x 3024) at full size, a
24 MP one (6000 x 4000) at half size. The tiles look at these pixels, so a face
keeps at least half its width (and the embedder sees the same pixels)."""


@dataclass(frozen=True)
class PhotoAnalysis:
    """Every face of one photo file, as `Pipeline.analyze_photo` finds them.

    `faces`: boxes and landmarks in the photo's own pixels (upright by its EXIF
    orientation, full size), left to right, each with its embedding.
    `turn`: degrees clockwise (0, 90, 180, 270) to rotate the photo so that it
    shows upright (a photo lying on its side); the boxes are *not* turned.
    `width`, `height`: the photo's size (EXIF-upright, before `turn`).
    `scale`: photo pixels per decoded pixel (1.0 unless decoded at reduced size).
    `sharpness`: per face, the variance of the Laplacian of the aligned face
    (None for an embedder that does not align); low is blurred.
    `small`: per face, True when it was narrower than `min_face_px` in the
    pixels the embedder read: too small to recognise, its embedding says little.
    `looks`, `tiles`: which looks ran (see `facerec.vision.looks`).
    """

    faces: list[EmbeddedFace]
    turn: int
    width: int
    height: int
    scale: float
    sharpness: tuple[float | None, ...]
    small: tuple[bool, ...]
    min_face_px: int
    looks: tuple[str, ...] = ("normal",)
    tiles: int = 0


@dataclass
class Pipeline:
    """Finds faces and embeds them. Get the one `Settings` describe with
    `load_pipeline(settings)`; `Pipeline.load` builds one by name."""

    detector: Detector
    embedder: Embedder

    @classmethod
    def load(
        cls, detector: str, embedder: str, settings: Settings | None = None, **detector_options: int | float | bool
    ) -> Pipeline:
        settings = settings if settings is not None else Settings()
        detector_ = get_detector(detector, runtime=settings.runtime, **detector_options)
        return cls(detector_, get_embedder(embedder, settings))

    @classmethod
    def from_settings(cls, settings: Settings) -> Pipeline:
        """The detector and embedder `settings` name (with the embedder's own settings)."""
        return cls.load(settings.detector, settings.embedder, settings, max_side=settings.detect_size)

    def detect(self, image: Image) -> list[Face]:
        return self.detector.detect(image)

    def embed(self, image: Image, faces: Sequence[Face]) -> list[EmbeddedFace]:
        if not faces:
            return []
        vectors = self.embedder.embed(image, faces)
        return [EmbeddedFace(face, vec, self.embedder.name) for face, vec in zip(faces, vectors)]

    def analyze(self, image: Image, looks: Looks | None = None) -> list[EmbeddedFace]:
        """Every face in `image` with its embedding, left to right; with `looks`
        (e.g. `ALL_LOOKS`), from several looks (see `find`) instead of one."""
        if looks is None:
            return self.embed(image, self.detect(image))
        return self.embed(image, self.find(image, looks).faces)

    def find(self, image: Image, looks: Looks | None = ALL_LOOKS) -> FoundFaces:
        """The faces of `image` from the looks `looks` allows (`facerec.vision.looks`):
        a filled frame, a crowd of small faces, a photo on its side. Only YuNet
        takes several looks; another detector (or `looks=None`) takes its single one."""
        if looks is None or not isinstance(self.detector, YuNetDetector):
            return FoundFaces(self.detect(image))
        return find_faces(self.detector, image, looks)

    def analyze_photo(self, data: bytes, label: str = "image", looks: Looks | None = ALL_LOOKS) -> PhotoAnalysis:
        """Decode a photo file's bytes once (`DECODE_SIDE`) and find, embed and
        measure every face in it; `label` names it in errors (`ImageError`)."""
        if not data:
            raise ImageError(f"{label}: empty file")
        pixels, width, height, scale = decode(data, label, DECODE_SIDE)
        return self.analyze_pixels(pixels, width, height, scale, looks)

    def analyze_pixels(
        self, pixels: Image, width: int, height: int, scale: float = 1.0, looks: Looks | None = ALL_LOOKS
    ) -> PhotoAnalysis:
        """`analyze_photo` for a photo already decoded (`facerec.vision.images.decode`):
        `pixels` of a `width` x `height` photo, decoded at 1/`scale`. Boxes come back
        in the photo's pixels; pass `scale=1.0` (and the pixels' own size) to keep
        them in the decoded pixels (e.g. to crop from `pixels` afterwards)."""
        found = self.find(pixels, looks)
        faces = self.embed(pixels, found.faces)
        sharp = face_sharpness(self.embedder, pixels, found.faces)
        min_px = embedder_spec(self.embedder.name).min_face_px
        small = tuple(f.box.w < min_px for f in found.faces)
        if scale != 1.0:
            faces = [EmbeddedFace(f.face.scaled(scale), f.embedding, f.model) for f in faces]
        return PhotoAnalysis(faces, found.turn, width, height, scale, sharp, small, min_px, found.looks, found.tiles)


_pipelines: dict[tuple[object, ...], Pipeline] = {}
_lock = threading.Lock()


def load_pipeline(settings: Settings) -> Pipeline:
    """The pipeline `settings` describe, built on the first call and kept for the
    process (the networks themselves are shared too: see `facerec.vision.runtime`)."""
    key = (settings.detector, settings.embedder, settings.runtime, settings.detect_size, settings.imgbeddings_model)
    with _lock:
        pipeline = _pipelines.get(key)
        if pipeline is None:
            pipeline = _pipelines[key] = Pipeline.from_settings(settings)
    return pipeline
