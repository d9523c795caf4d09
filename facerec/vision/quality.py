"""Image quality measures: how sharp a face is.

Used by guided registration (a blurred frame is not a sample), for the
People view, to keep blurred faces out of groups, and by video analysis to
pick the best frames of a face followed through a clip.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from facerec.types import Face, Image


def sharpness(aligned_face: Image) -> float:
    """Variance of the Laplacian of the aligned face: low means blurred."""
    gray = cv2.cvtColor(aligned_face, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def face_sharpness(embedder: object, image: Image, faces: Sequence[Face]) -> tuple[float | None, ...]:
    """`sharpness` of each face as the embedder aligns it (None for each face
    if the embedder does not align faces, as imgbeddings does not)."""
    align = getattr(embedder, "align", None)
    if align is None:
        return (None,) * len(faces)
    return tuple(sharpness(align(image, face)) for face in faces)


def frontality(landmarks: np.ndarray | None) -> float | None:
    """How squarely a face looks at the camera, 0..1, from its five landmarks: 1
    when the nose tip sits midway between the eyes along the line of the eyes (a
    frontal face; a tilted head does not matter), about 0.5 for a face turned 30
    degrees, 0 from about 50 degrees (the nose tip half the eye distance off the
    middle). None without landmarks (Haar)."""
    if landmarks is None:
        return None
    points = np.asarray(landmarks, np.float64).reshape(5, 2)
    right_eye, left_eye, nose = points[0], points[1], points[2]
    axis = left_eye - right_eye
    span = float(np.hypot(axis[0], axis[1]))
    if span < 1e-6:
        return 0.0
    offset = abs(float(np.dot(nose - (right_eye + left_eye) / 2, axis))) / (span * span)
    return max(0.0, 1.0 - 2.0 * offset)
