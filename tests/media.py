"""Building test videos and frames from the dev photos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def near_miss(pipeline, sample: Path, photos: list[Path], target: Path, low: float, high: float) -> Path:
    """A blurred copy of one of `photos` (written to `target`, a JPEG) whose face is
    between `low` and `high` (cosine distance) from the face of `sample`: a genuine
    face of the person just past the threshold, as a shaken or out-of-focus shot is.
    Tries each photo at growing blur until one lands there (deterministic)."""
    from facerec.usecases.library.index import DECODE_SIDE
    from facerec.vision.images import image_from_bytes

    def main_face(pixels: np.ndarray) -> Any:
        found = pipeline.analyze(pixels)
        return max(found, key=lambda f: f.face.box.area) if found else None

    reference = main_face(load_image(sample).pixels)
    assert reference is not None, f"no face in {sample}"

    def blurred(pixels: np.ndarray, sigma: float) -> tuple[bytes, float | None]:
        data = cv2.imencode(".jpg", cv2.GaussianBlur(pixels, (0, 0), sigma), [cv2.IMWRITE_JPEG_QUALITY, 95])[1]
        face = main_face(image_from_bytes(target, data.tobytes(), reduce_to=DECODE_SIDE).pixels)  # as `index` reads it
        far = None if face is None else 1.0 - float(np.dot(reference.embedding, face.embedding))
        return data.tobytes(), far

    for photo in photos:
        pixels = load_image(photo).pixels
        face = main_face(pixels)
        if face is None:
            continue
        below = 0.0
        for step in range(1, 60):  # coarse, then halving between the last blur below and the first above
            sigma = face.face.box.w * 0.01 * step
            data, distance = blurred(pixels, sigma)
            if distance is None:
                break
            if distance <= low:
                below = sigma
                continue
            above = sigma
            for _ in range(12):
                if distance is not None and low < distance <= high:
                    target.write_bytes(data)
                    return target
                sigma = (below + above) / 2
                data, distance = blurred(pixels, sigma)
                if distance is not None and distance <= low:
                    below = sigma
                else:
                    above = sigma
            break
    raise AssertionError(f"no blurred copy of {[p.name for p in photos]} lands between {low} and {high}")
