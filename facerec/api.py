"""facerec's Python API, in the spirit of `face_recognition`'s: arrays in, arrays out.

    import facerec

    image = facerec.load_image_file("group.jpg")        # H x W x 3, RGB
    boxes = facerec.face_locations(image)               # [(x, y, w, h), ...]
    vectors = facerec.face_encodings(image, boxes)      # unit vectors, 128 numbers each
    facerec.face_distance(vectors, vectors[0])          # cosine distances; <= 0.57: same person

The first four need no database; the models load once per process, on the
first call. `open_app()` opens the database-backed application (the embedded
PostgreSQL, or `DATABASE_URL`) for registering, recognizing and searching.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from facerec.config import Settings, load_settings
from facerec.types import Box, Face, Person, Recognition
from facerec.usecases.context import Context
from facerec.usecases.library.index import IndexReport, index_folders
from facerec.usecases.library.recognize import recognize_photo
from facerec.usecases.library.search import PhotoMatch, photos_of, search_photo
from facerec.usecases.people import users
from facerec.usecases.people.register import Registration, register_photos
from facerec.vision.detectors import YuNetDetector
from facerec.vision.embedders import EMBEDDERS
from facerec.vision.images import load_image
from facerec.vision.pipeline import Pipeline, load_pipeline

Location = tuple[int, int, int, int]
"""A face box: (x, y, width, height) in pixels, x and y its top-left corner."""

DEFAULT_TOLERANCE = EMBEDDERS["sface"].threshold
"""Cosine distance at or under which two SFace faces are the same person (0.57, calibrated)."""


@lru_cache(maxsize=1)
def _settings() -> Settings:
    return load_settings()


def _pipeline(model: str) -> Pipeline:
    return load_pipeline(dataclasses.replace(_settings(), detector=model, embedder="sface"))


def load_image_file(path: str | Path) -> np.ndarray:
    """The image at `path` as an H x W x 3 uint8 RGB array, turned upright by its
    EXIF orientation. Any format Pillow reads (JPEG, PNG, WebP, HEIC, ...);
    raises `facerec.errors.ImageError` with a readable message for a missing,
    corrupt or huge file."""
    pixels = load_image(path).pixels
    return np.ascontiguousarray(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB))


def _bgr(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim == 2:
        return cv2.cvtColor(array.astype(np.uint8), cv2.COLOR_GRAY2BGR)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"expected an H x W x 3 RGB image, got an array of shape {array.shape}")
    code = cv2.COLOR_RGBA2BGR if array.shape[2] == 4 else cv2.COLOR_RGB2BGR
    return cv2.cvtColor(array.astype(np.uint8), code)


def _faces(image: np.ndarray, model: str) -> list[Face]:
    return _pipeline(model).detect(_bgr(image))


def face_locations(image: np.ndarray, model: str = "yunet") -> list[Location]:
    """Every face in an RGB `image`, left to right, as (x, y, w, h) boxes.

    `model`: "yunet" (default; finds turned and small faces, down to about 1/40
    of the image's longer side) or "haar" (the tutorial's cascade: frontal
    faces only, more false faces). An image without faces gives [].
    """
    return [(f.box.x, f.box.y, f.box.w, f.box.h) for f in _faces(image, model)]


def face_encodings(image: np.ndarray, known_face_locations: Sequence[Location] | None = None) -> list[np.ndarray]:
    """One 128-number unit vector (SFace) per face of an RGB `image`.

    Without `known_face_locations` every face is found first (as
    `face_locations`). With them, each box is aligned on the landmarks YuNet
    finds in it (boxes from another detector work too); a box with no face in
    it is embedded unaligned, which is less accurate. Compare vectors with
    `face_distance`.
    """
    bgr = _bgr(image)
    pipeline = _pipeline("yunet")
    if known_face_locations is None:
        faces = pipeline.detect(bgr)
    else:
        found = pipeline.detect(bgr)
        faces = [_landmarked(bgr, Box(*map(int, loc)), found, pipeline) for loc in known_face_locations]
    return [np.asarray(f.embedding, np.float32) for f in pipeline.embed(bgr, faces)]


def _landmarked(image: np.ndarray, box: Box, found: list[Face], pipeline: Pipeline) -> Face:
    """`box` with the landmarks of the detection that matches it, or found inside it."""
    best = max(found, key=lambda f: f.box.iou(box), default=None)
    if best is not None and best.box.iou(box) >= 0.5:
        return Face(box, best.score, best.landmarks)
    detector = pipeline.detector
    landmarks = detector.landmarks_in(image, box) if isinstance(detector, YuNetDetector) else None
    return Face(box, 0.0, landmarks)


def face_distance(face_encodings: Sequence[np.ndarray] | np.ndarray, face_to_compare: np.ndarray) -> np.ndarray:
    """Cosine distance (0 = identical, 2 = opposite) from `face_to_compare` to each
    of `face_encodings`. For SFace vectors, at most `DEFAULT_TOLERANCE` (0.57)
    means the same person; lower is stricter. No encodings give an empty array."""
    known = np.asarray(face_encodings, np.float32)
    if known.size == 0:
        return np.zeros((0,), np.float32)
    query = np.asarray(face_to_compare, np.float32)
    known = known / np.maximum(np.linalg.norm(known, axis=1, keepdims=True), 1e-12)
    query = query / max(float(np.linalg.norm(query)), 1e-12)
    return np.asarray(1.0 - known @ query, np.float32)


def compare_faces(
    known_face_encodings: Sequence[np.ndarray] | np.ndarray,
    face_encoding_to_check: np.ndarray,
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[bool]:
    """For each known vector, whether it is the same person as `face_encoding_to_check`
    (distance at most `tolerance`; lower is stricter)."""
    return [bool(d <= tolerance) for d in face_distance(known_face_encodings, face_encoding_to_check)]


class App:
    """The database-backed application: register people, recognize faces, search
    the photo library. Open with `open_app()`, as a context manager:

        with facerec.open_app() as app:
            app.register("Barack Obama", ["obama.jpg"])
            for face in app.recognize("group.jpg"):
                print(face.name or "Unknown", face.distance)

    The methods call the same use cases as the `facerec` command and raise the
    same `facerec.errors` exceptions (a photo with no face, an unknown name).
    """

    def __init__(self, ctx: Context) -> None:
        self.context = ctx

    def register(self, name: str, images: Sequence[str | Path], use_largest: bool = False) -> Registration:
        """Add the face of each photo as a sample of `name` (created if new); all or nothing."""
        return register_photos(self.context, name, images, use_largest)

    def recognize(self, image: str | Path) -> list[Recognition]:
        """Every face of a photo, named (`.name`) or Unknown (`.name` is None), left to right."""
        return recognize_photo(self.context, image).faces

    def people(self) -> list[Person]:
        """Everyone registered, with their sample counts."""
        return users.list_people(self.context).people

    def index(self, *folders: str | Path, prune: bool = False) -> IndexReport:
        """Index every photo under `folders` (incremental) so `search` and `photos` can find them."""
        return index_folders(self.context, folders, prune=prune)

    def search(self, image: str | Path, limit: int | None = None) -> list[PhotoMatch]:
        """The library photos that contain the person in `image` (its largest face), nearest first."""
        return search_photo(self.context, image, limit).matches

    def photos(self, name: str, limit: int | None = None) -> list[PhotoMatch]:
        """The library photos that contain registered person `name`."""
        return photos_of(self.context, name, limit).matches

    def close(self) -> None:
        self.context.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_app(**settings: Any) -> App:
    """Open the application with the usual settings (environment, `.env`), any of
    them overridden by keyword: `open_app(data_dir=Path("faces"))`,
    `open_app(database_url="postgresql://...")`, `open_app(threshold=0.5)`.
    Field names are those of `facerec.config.Settings`."""
    base = load_settings()
    if "data_dir" in settings:
        settings["data_dir"] = Path(settings["data_dir"]).expanduser().absolute()
    return App(Context(dataclasses.replace(base, **settings)))
