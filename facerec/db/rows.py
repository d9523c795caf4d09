"""Column values to and from the dataclasses the rest of facerec uses."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facerec.types import Box, Face


def face_values(model: str, face: Face, embedding: np.ndarray) -> tuple[object, ...]:
    """The (model, box, landmarks, score, embedding) column values of a face row."""
    landmarks = None if face.landmarks is None else face.landmarks.reshape(-1).tolist()
    return (model, face.box.as_list(), landmarks, face.score, np.asarray(embedding, np.float32))


def box(values: Sequence[int]) -> Box:
    """A `faces.box` array as a `Box`."""
    x, y, w, h = (int(v) for v in values)
    return Box(x, y, w, h)


def face(values: Sequence[int], score: float, landmarks: Sequence[float] | None) -> Face:
    """A stored face's box, score and landmarks as a `Face`."""
    points = None if landmarks is None else np.asarray(landmarks, np.float32).reshape(5, 2)
    return Face(box(values), float(score), points)


def vector(value: object) -> np.ndarray:
    """A pgvector value (as the driver returns it) as a float32 array."""
    to_numpy = getattr(value, "to_numpy", None)
    return np.asarray(to_numpy() if to_numpy else value, np.float32)
