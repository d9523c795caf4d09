"""Building test videos and frames from the dev photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facerec.vision.images import load_image

FRAME_SIZE = (640, 480)


def canvas(color: int = 90) -> np.ndarray:
    w, h = FRAME_SIZE
    return np.full((h, w, 3), color, np.uint8)


def place(photo: np.ndarray, height: int, cx: int, cy: int, base: np.ndarray | None = None) -> np.ndarray:
    """`photo` scaled to `height` pixels tall, centred at (cx, cy) on a frame."""
    frame = canvas() if base is None else base.copy()
    h, w = photo.shape[:2]
    s = height / h
    small = cv2.resize(photo, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    x0, y0 = cx - sw // 2, cy - sh // 2
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(frame.shape[1], x0 + sw), min(frame.shape[0], y0 + sh)
    frame[fy0:fy1, fx0:fx1] = small[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
    return frame


def pan_zoom(photo_path: Path, n: int, height: int = 400) -> list[np.ndarray]:
    """`n` frames that slowly pan and zoom over a photo (a face moving in front of a camera)."""
    photo = load_image(photo_path).pixels
    frames = []
    for i in range(n):
        t = i / max(1, n - 1)
        frames.append(place(photo, int(height * (0.9 + 0.2 * t)), int(300 + 40 * t), 240))
    return frames


def blank(n: int) -> list[np.ndarray]:
    return [canvas() for _ in range(n)]


def write_video(path: Path, frames: list[np.ndarray], fps: float = 15.0) -> Path:
    """An MJPG .avi that OpenCV reads back on any platform."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened(), "cannot write test video"
    for f in frames:
        writer.write(f)
    writer.release()
    return path
