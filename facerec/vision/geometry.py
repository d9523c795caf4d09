"""Face geometry: crops, alignment to the 112x112 template, unit vectors.

Pure numpy / OpenCV, no model: used by the embedders, registration crops,
contact sheets and thumbnails.
"""

from __future__ import annotations

import cv2
import numpy as np

from facerec.types import Face, Image


def normalize(rows: np.ndarray) -> np.ndarray:
    """Scale each row to unit length (rows of zeros stay zero)."""
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


def face_crop(image: Image, face: Face, margin: float = 0.0) -> Image:
    """The face's box, grown by `margin` x its size on each side, clipped to the image."""
    b = face.box
    mx, my = int(b.w * margin), int(b.h * margin)
    h, w = image.shape[:2]
    return image[max(0, b.y - my) : min(h, b.y + b.h + my), max(0, b.x - mx) : min(w, b.x + b.w + mx)]


ALIGNED_SIZE = 112
ARCFACE_LANDMARKS = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]], np.float64
)
"""Where the eyes, nose tip and mouth corners sit in a 112x112 aligned face (the
template ArcFace-family recognizers, SFace included, were trained on)."""


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 rotation + uniform scale + translation that best maps points
    `src` onto `dst` in the least-squares sense (Umeyama, 1991)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    u, s, vt = np.linalg.svd(dst_c.T @ src_c / len(src))
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # a reflection: flip the weakest axis
        d[-1] = -1
    rotation = u @ np.diag(d) @ vt
    variance = (src_c**2).sum() / len(src)
    scale = float(s @ d) / variance if variance > 0 else 1.0
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - matrix[:, :2] @ src_mean
    return matrix


def align_face(image: Image, landmarks: np.ndarray) -> Image:
    """The 112x112 face whose five `landmarks` are moved onto `ARCFACE_LANDMARKS`
    (what `cv2.FaceRecognizerSF.alignCrop` gives, without loading a network)."""
    matrix = similarity_transform(landmarks.reshape(5, 2), ARCFACE_LANDMARKS)
    return cv2.warpAffine(image, matrix, (ALIGNED_SIZE, ALIGNED_SIZE), flags=cv2.INTER_LINEAR)
