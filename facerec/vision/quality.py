"""Image quality measures: how sharp a face is.

Used by guided registration (a blurred frame is not a sample) and, for the
People view, to keep blurred faces out of groups.
"""

from __future__ import annotations

import cv2

from facerec.types import Image


def sharpness(aligned_face: Image) -> float:
    """Variance of the Laplacian of the aligned face: low means blurred."""
    gray = cv2.cvtColor(aligned_face, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())
