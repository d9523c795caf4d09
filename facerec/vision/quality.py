"""Image quality measures: how sharp a face is.

Used by guided registration (a blurred frame is not a sample) and, for the
People view, to keep blurred faces out of groups.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2

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
