"""Detections of the looks at one photo, in working pixels, and their merging.

A `Hit` is one YuNet row turned into working pixels (the photo, turned upright) with
the width it had in its own look; `Pyramid` makes every shrunk look from halvings of
the working image; `merge` keeps one hit per face across looks; `to_face` gives the
photo's own pixels back. Tune which box wins with `RELIABLE_PX` and the `*_IOU` /
`*_IOS` values here; which looks run is `facerec.vision.looks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from facerec.types import Box, Face, Image
from facerec.vision.turns import turn_box_back, turn_points_back

RELIABLE_PX = 16
"""YuNet finds a face at least this wide (in the image it is shown) reliably:
of the dev set's group faces shown at a given width, it found (score >= 0.8)
35% at 10 px, 60% at 12, 89% at 14, 91% at 16, 98% at 20 and all from 28."""


MERGE_IOU = 0.3
"""Boxes of two looks overlapping this much (intersection over union) are one face (YuNet's own NMS value)."""


MERGE_IOS = 0.6
"""Or when this much of the smaller box lies in the larger (a face part found beside the whole face)."""


CUT_IOS = 0.3
"""A box cut by a tile edge is one with any box that covers this much of it."""


@dataclass
class Hit:
    """One detection in working pixels (the photo, turned upright) and where it was seen."""

    x: float
    y: float
    w: float
    h: float
    landmarks: np.ndarray
    score: float
    px: float
    """Width in the look's own pixels."""
    cut: bool = False
    """Touches an edge of its tile that lies inside the photo."""

    def box(self) -> tuple[float, float, float, float]:
        return self.x, self.y, self.x + self.w, self.y + self.h

    @property
    def tier(self) -> int:
        """0: seen well over YuNet's lower limit (its landmarks are the best), 1:
        reliably but near it, 2: under it."""
        return 0 if self.px >= 2 * RELIABLE_PX else 1 if self.px >= RELIABLE_PX else 2


@dataclass
class Look:
    """Accepted faces and doubtful ones of one look."""

    faces: list[Hit] = field(default_factory=list)
    doubtful: list[Hit] = field(default_factory=list)


class Pyramid:
    """The working image and copies of it shrunk by halves (OpenCV's area
    averaging by exactly 2 is several times faster than by any other factor),
    from which every shrunk look is made."""

    def __init__(self, image: Image) -> None:
        self.image = image
        self.height, self.width = image.shape[:2]
        self._levels = [image]

    @property
    def longest(self) -> int:
        return max(self.width, self.height)

    def at(self, side: int) -> tuple[Image, float]:
        """The image with its longer side `side` px (never enlarged) and its scale (look px per working px)."""
        if self.longest <= side:
            return self.image, 1.0
        scale = side / self.longest
        size = (max(1, round(self.width * scale)), max(1, round(self.height * scale)))
        level = self._levels[0]
        k = 0
        while max(level.shape[:2]) // 2 >= side:
            k += 1
            if k == len(self._levels):
                h, w = level.shape[:2]
                half = cv2.resize(level[: h // 2 * 2, : w // 2 * 2], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
                self._levels.append(half)
            level = self._levels[k]
        return cv2.resize(level, size, interpolation=cv2.INTER_AREA), scale


Edges = tuple[float | None, float | None, float | None, float | None]
"""A tile's left, top, right and bottom edges in its own pixels; None for an edge that is the photo's."""


def split_rows(
    rows: np.ndarray, threshold: float, scale: float, ox: float, oy: float, cut: Edges | None = None
) -> Look:
    """Rows of a look whose top-left corner is at (ox, oy) in look pixels, as hits in
    working pixels, split into accepted and doubtful. `cut`: the tile's inner edges."""
    out = Look()
    for row in rows:
        x, y, w, h = (float(v) for v in row[:4])
        points = row[4:14].reshape(5, 2).astype(np.float32)
        is_cut = cut is not None and _touches(x, y, w, h, cut)
        hit = Hit(
            (x + ox) / scale,
            (y + oy) / scale,
            w / scale,
            h / scale,
            (points + np.array([ox, oy], np.float32)) / np.float32(scale),
            float(row[14]),
            w,
            is_cut,
        )
        (out.faces if hit.score >= threshold else out.doubtful).append(hit)
    return out


def _touches(x: float, y: float, w: float, h: float, edges: Edges) -> bool:
    """Whether a box (tile pixels) reaches within 2 px of an inner edge of its tile."""
    left, top, right, bottom = edges
    near = 2.0
    return (
        (left is not None and x <= left + near)
        or (top is not None and y <= top + near)
        or (right is not None and x + w >= right - near)
        or (bottom is not None and y + h >= bottom - near)
    )


def covered(hit: Hit, others: Sequence[Hit]) -> bool:
    return any(ios(hit, o) >= CUT_IOS for o in others)


def ios(a: Hit, b: Hit) -> float:
    """How much of the smaller box lies in the other, 0..1."""
    ax0, ay0, ax1, ay1 = a.box()
    bx0, by0, bx1, by1 = b.box()
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    smaller = min(a.w * a.h, b.w * b.h)
    return inter / smaller if smaller > 0 else 0.0


def merge(hits: Sequence[Hit]) -> list[Hit]:
    """Non-maximum suppression across looks: whole boxes before cut ones, then
    boxes seen larger in their look (`Hit.tier`), then by score; a box
    overlapping a kept one (`MERGE_IOU`, `MERGE_IOS`; `CUT_IOS` for a cut box)
    is the same face."""
    order = sorted(hits, key=lambda h: (h.cut, h.tier, -h.score))
    if len(order) < 2:
        return order
    boxes = np.array([h.box() for h in order])
    x0, y0, x1, y1 = boxes.T
    area = (x1 - x0) * (y1 - y0)
    inter = np.clip(np.minimum(x1[:, None], x1) - np.maximum(x0[:, None], x0), 0, None) * np.clip(
        np.minimum(y1[:, None], y1) - np.maximum(y0[:, None], y0), 0, None
    )
    iou = inter / np.maximum(area[:, None] + area - inter, 1e-9)
    ios = inter / np.maximum(np.minimum(area[:, None], area), 1e-9)
    same = (iou >= MERGE_IOU) | (ios >= np.where([h.cut for h in order], CUT_IOS, MERGE_IOS)[:, None])
    kept: list[int] = []
    for i in range(len(order)):
        if not kept or not same[i, kept].any():
            kept.append(i)
    return [order[i] for i in kept]


def to_face(hit: Hit, turn: int, width: int, height: int) -> Face | None:
    """A hit in working pixels as a `Face` in the photo's pixels (`width` x `height`), clipped to it."""
    x, y, w, h = hit.x, hit.y, hit.w, hit.h
    points = hit.landmarks.astype(np.float32)
    if turn:
        x, y, w, h = turn_box_back(x, y, w, h, turn, width, height)
        points = turn_points_back(points, turn, width, height)
    x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
    x1, y1 = min(width, int(round(x + w))), min(height, int(round(y + h)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return Face(Box(x0, y0, x1 - x0, y1 - y0), hit.score, points)
