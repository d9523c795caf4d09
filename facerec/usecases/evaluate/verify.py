"""`verify IMAGE1 IMAGE2`: are these two faces the same person? Models only, no database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facerec.errors import NoFaceError
from facerec.types import EmbeddedFace
from facerec.usecases.context import Context
from facerec.usecases.library.recognize import analyze_photo, largest

__all__ = ["Verification", "verify"]


@dataclass(frozen=True)
class Verification:
    """The largest face of each image, how many faces each had, their cosine
    distance, and the threshold it was judged by (at or under: the same person)."""

    first: EmbeddedFace
    second: EmbeddedFace
    faces: tuple[int, int]
    distance: float
    threshold: float

    @property
    def same(self) -> bool:
        return self.distance <= self.threshold


def _main_face(ctx: Context, path: Path | str) -> tuple[EmbeddedFace, int]:
    faces = analyze_photo(ctx, path).faces
    if not faces:
        raise NoFaceError(f"{path}: no face found")
    return largest(faces), len(faces)


def verify(ctx: Context, first: Path | str, second: Path | str) -> Verification:
    """Compare the largest face of `first` with the largest face of `second`.

    Touches no database: only the models and the threshold (`--threshold`,
    or the embedder's calibrated one) are used."""
    a, na = _main_face(ctx, first)
    b, nb = _main_face(ctx, second)
    distance = float(1.0 - np.dot(a.embedding, b.embedding))
    return Verification(a, b, (na, nb), max(0.0, distance), ctx.threshold)
