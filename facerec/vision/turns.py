"""Photos lying on their side: turning an image, and boxes and landmarks back and forth.

`find_faces` (`facerec.vision.looks`) gives faces in the pixels it was given plus a
`turn`, the degrees clockwise (0, 90, 180 or 270) that show the photo upright. To
draw or crop the upright photo, turn the image with `turn_image(image, turn)` and its
faces with `face_upright(face, turn, width, height)`; never rotate boxes by hand.
"""

from __future__ import annotations

import cv2
import numpy as np

from facerec.types import Box, Face, Image

TURNS = (0, 90, 180, 270)
ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def turn_image(image: Image, turn: int) -> Image:
    """`image` rotated `turn` degrees clockwise (0, 90, 180 or 270): with a photo's
    `FoundFaces.turn`, the photo shown upright."""
    return image if turn % 360 == 0 else cv2.rotate(image, ROTATE[turn % 360])


def turn_box_back(
    x: float, y: float, w: float, h: float, turn: int, width: int, height: int
) -> tuple[float, float, float, float]:
    """A box in the photo turned `turn` degrees clockwise, in the photo's own pixels
    (`width` x `height`, before turning)."""
    if turn == 90:
        return y, height - (x + w), h, w
    if turn == 180:
        return width - (x + w), height - (y + h), w, h
    if turn == 270:
        return width - (y + h), x, h, w
    return x, y, w, h


def turn_points_back(points: np.ndarray, turn: int, width: int, height: int) -> np.ndarray:
    """Points (N x 2) in the photo turned `turn` degrees clockwise, in the photo's own pixels."""
    x, y = points[:, 0], points[:, 1]
    if turn == 90:
        out = np.stack([y, height - x], axis=1)
    elif turn == 180:
        out = np.stack([width - x, height - y], axis=1)
    elif turn == 270:
        out = np.stack([width - y, x], axis=1)
    else:
        out = points
    return out.astype(np.float32)


def face_upright(face: Face, turn: int, width: int, height: int) -> Face:
    """A face of a photo (`width` x `height`) where it is in the photo shown upright
    (`turn_image(photo, turn)`): what a page drawing the upright photo needs."""
    if turn % 360 == 0:
        return face
    # Turning by `turn` is turning back by 360 - turn in the turned frame, whose size is swapped for 90 / 270.
    back = (360 - turn) % 360
    tw, th = (height, width) if turn in (90, 270) else (width, height)
    b = face.box
    x, y, w, h = turn_box_back(b.x, b.y, b.w, b.h, back, tw, th)
    points = None if face.landmarks is None else turn_points_back(face.landmarks, back, tw, th)
    return Face(Box(round(x), round(y), round(w), round(h)), face.score, points)
