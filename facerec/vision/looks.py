"""Several looks at one photo, merged: faces that fill the frame, crowds of small
faces in large photos, and photos lying on their side.

YuNet finds a face reliably when it is between about `RELIABLE_PX` and 300
pixels wide in the image it is shown, so one look at a photo shrunk to 640 px
(the normal look, and the live window's only one) sees faces between about
1/40 and 1/2 of the photo's longer side. `find_faces` adds, each only when
what the photo shows asks for it:

- **coarse**: the photo at `COARSE_SIDE` px, for a face that fills the frame;
  run when the normal look finds no face.
- **turns**: when no face is clearly upright (the best scores under
  `UPRIGHT_SCORE`), the photo at `TURN_SIDE` px in its four turns; the turn
  whose best face scores highest wins, and the looks are taken again in it.
- **probe**: the photo at twice the normal look's scale (1280 px), when the
  photo is large enough to hold faces the normal look cannot see
  (`PROBE_MIN_GAIN`) and the normal look shows signs of them: faces at its
  lower limit (narrower than 2 x `RELIABLE_PX`), or at least two doubtful
  ones (`HINT_SCORE`). Small faces come in groups and leave such signs even
  when too small to be found: 12 MP photos of crowds whose faces were all
  26-40 px wide (4-6 px in the normal look) left 4-36 doubtful faces each,
  while 12 MP landscapes and portraits left none.
- **tiles**: `TILE` px squares of the decoded photo with `OVERLAP` px of
  overlap, through a network compiled for that shape, only within reach of
  the probe's signs of small faces (the same signs, one look closer).

Detections of all looks are merged by non-maximum suppression: a box cut by
an inner tile edge loses to any box that overlaps it (the tile that holds the
face whole); among whole boxes the one seen largest wins (at least 2 x
`RELIABLE_PX` wide in its look, then at least `RELIABLE_PX`), then the higher
score; the winner keeps its own landmarks. A cut box left alone is looked at
once more in a tile centred on it.

Measured with `python bench/detect_bench.py` (before: today's single look;
CPU time, one thread, provisional: a loaded 2-core machine): 12 MP crowds
(faces 26-80 px) recall 0.08 -> 0.98, the same photos in a third of a
landscape 0.08 -> 0.99 with half the tiles, faces filling the frame 0.94 ->
1.00, photos on their side 0.32 -> 1.00 (right turn for all 294), no dev
photo with a known face count over it; of the crowd faces, 98% still match
their source face (SFace, 0.57). Time against today's (two runs): ordinary
12 MP portraits 0.72-0.81x (the pyramid pays for the new looks), the dev
photos as they are 0.97-1.01x, 12 MP landscapes 0.95-1.09x, photos on their
side 2.7x, crowds about 24 ms per face found, as today.

Coordinates: `find_faces` returns boxes and landmarks in the pixels it was
given, plus the `turn`: how many degrees clockwise to rotate those pixels to
show the photo upright (0, 90, 180 or 270). Landmarks of a turned face are
turned with it, so `align_face` gives the upright face from them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from facerec.types import Box, Face, Image
from facerec.vision.detectors import YuNetDetector

log = logging.getLogger(__name__)

RELIABLE_PX = 16
"""YuNet finds a face at least this wide (in the image it is shown) reliably:
of the dev set's group faces shown at a given width, it found (score >= 0.8)
35% at 10 px, 60% at 12, 89% at 14, 91% at 16, 98% at 20 and all from 28."""

HINT_SCORE = 0.5
"""Below YuNet's threshold (0.8) and at least this: a doubtful face. Faces
too small for a look leave one: at 8 px 71% of the dev group faces give one,
at 10 px 97%. Doubtful faces are never returned; they say where to look closer."""

UPRIGHT_SCORE = 0.93
"""A photo whose best face scores under this is tried in its other turns. On the
dev set the best face of an upright photo scores 0.92-0.96 (1 photo in 98 under
0.92), while YuNet's faces in a turned photo (it finds many upside-down faces)
score at most 0.91."""

TURN_SCORE = 0.85
"""A turn wins only with a face at least this clear (the right turn's best face
scored 0.86 and up on the dev set; a stray face-like pattern rarely does)."""

COARSE_SIDE = 160
"""The coarse look's longer side: a face filling the frame is 50-160 px there.
On the dev faces cut tight and enlarged to 2000 px, the normal look found 75 of
79 and the coarse look (160-320 px alike) all 79."""

TURN_SIDE = 320
"""The longer side at which the four turns are compared: on the dev set (98
photos with faces, each in its four turns) the turn with the best face was
the right one in all 392 cases, at 320 px as at 640 px."""

TILE = 640
"""Side of a tile (a multiple of 32), in decoded pixels."""

OVERLAP = 128
"""How much neighbouring tiles overlap: a face up to this wide lies whole in at
least one tile. Wider faces are seen by the coarser looks."""

PROBE_FACTOR = 2.0
"""The probe's scale as a multiple of the normal look's."""

PROBE_MIN_GAIN = 1.5
"""The probe runs only when the decoded photo is at least this many times
larger than the normal look (960 px and up): on a smaller photo it would cost
more than twice the normal look to see faces at most 1.5 times larger."""

MERGE_IOU = 0.3
"""Boxes of two looks overlapping this much (intersection over union) are one face (YuNet's own NMS value)."""

MERGE_IOS = 0.6
"""Or when this much of the smaller box lies in the larger (a face part found beside the whole face)."""

CUT_IOS = 0.3
"""A box cut by a tile edge is one with any box that covers this much of it."""

TURNS = (0, 90, 180, 270)
_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


@dataclass(frozen=True)
class Looks:
    """Which looks `find_faces` may take besides the normal one.

    `tiles`: "auto" (where the photo shows faces at the limit of the coarser
    looks: see the module), "always" (the probe and tiles over the whole photo,
    to measure what "auto" misses) or "never"."""

    coarse: bool = True
    turns: bool = True
    tiles: str = "auto"


ALL_LOOKS = Looks()
"""Every look, tiles where the photo asks for them: for the library and the API."""


@dataclass(frozen=True)
class FoundFaces:
    """What `find_faces` found: `faces` in the pixels it was given, left to right;
    `turn` the clockwise rotation (0, 90, 180, 270) that shows the photo upright;
    `looks` the looks taken, in order (e.g. "normal", "coarse", "turns",
    "probe", "tiles"), and `tiles` how many tiles were run."""

    faces: list[Face]
    turn: int = 0
    looks: tuple[str, ...] = ("normal",)
    tiles: int = 0


@dataclass
class _Hit:
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
class _Look:
    """Accepted faces and doubtful ones of one look."""

    faces: list[_Hit] = field(default_factory=list)
    doubtful: list[_Hit] = field(default_factory=list)


class _Pyramid:
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


def find_faces(detector: YuNetDetector, image: Image, looks: Looks = ALL_LOOKS) -> FoundFaces:
    """Every face in `image` (BGR, as decoded and turned by its EXIF), from the
    looks `looks` allows; see the module for which look runs when."""
    taken: list[str] = ["normal"]
    pyramid = _Pyramid(image)
    hits, normal = _normal_looks(detector, pyramid, looks, taken)
    turn = 0
    upright = max((h.score for h in hits), default=0.0)
    if looks.turns and upright < UPRIGHT_SCORE:
        taken.append("turns")
        turn = _best_turn(detector, pyramid, upright)
        if turn:
            turned = _Pyramid(cv2.rotate(image, _ROTATE[turn]))
            turned_hits, turned_normal = _normal_looks(detector, turned, looks, taken)
            if turned_hits:
                pyramid, hits, normal = turned, turned_hits, turned_normal
            else:
                turn = 0
    tiles = 0
    if looks.tiles != "never":
        more, tiles = _closer_looks(detector, pyramid, normal, looks, taken)
        hits += more
    kept = _merge(hits)
    if tiles and any(h.cut for h in kept):
        more, extra = _recentre(detector, pyramid, [h for h in kept if h.cut])
        tiles += extra
        kept = _merge(hits + more)
    height, width = image.shape[:2]
    faces = [f for f in (_face(h, turn, width, height) for h in kept) if f is not None]
    faces.sort(key=lambda f: (f.box.x, f.box.y))
    if len(taken) > 1:
        log.debug("looks %s, %d tiles, turn %d: %d faces", "+".join(taken), tiles, turn, len(faces))
    return FoundFaces(faces, turn, tuple(taken), tiles)


def _normal_looks(
    detector: YuNetDetector, pyramid: _Pyramid, looks: Looks, taken: list[str]
) -> tuple[list[_Hit], _Look]:
    """The normal look (and the coarse one when it finds nothing)."""
    normal = _look(detector, pyramid, detector.max_side)
    hits = list(normal.faces)
    if not hits and looks.coarse and pyramid.longest > COARSE_SIDE:
        taken.append("coarse")
        hits = _look(detector, pyramid, COARSE_SIDE, pad=True).faces
    return hits, normal


def _look(detector: YuNetDetector, pyramid: _Pyramid, side: int, pad: bool = False) -> _Look:
    """One look at the whole working image shrunk to `side` px. `pad` adds a grey
    margin, so a face cut by the photo's edge still looks like a face."""
    small, scale = pyramid.at(side)
    margin = 0
    if pad:
        margin = max(small.shape[:2]) // 8
        small = cv2.copyMakeBorder(small, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    rows = detector.rows(small, HINT_SCORE)
    return _split(rows, detector.score_threshold, scale, -margin, -margin)


_Edges = tuple[float | None, float | None, float | None, float | None]
"""A tile's left, top, right and bottom edges in its own pixels; None for an edge that is the photo's."""


def _split(rows: np.ndarray, threshold: float, scale: float, ox: float, oy: float, cut: _Edges | None = None) -> _Look:
    """Rows of a look whose top-left corner is at (ox, oy) in look pixels, as hits in
    working pixels, split into accepted and doubtful. `cut`: the tile's inner edges."""
    out = _Look()
    for row in rows:
        x, y, w, h = (float(v) for v in row[:4])
        points = row[4:14].reshape(5, 2).astype(np.float32)
        is_cut = cut is not None and _touches(x, y, w, h, cut)
        hit = _Hit(
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


def _touches(x: float, y: float, w: float, h: float, edges: _Edges) -> bool:
    """Whether a box (tile pixels) reaches within 2 px of an inner edge of its tile."""
    left, top, right, bottom = edges
    near = 2.0
    return (
        (left is not None and x <= left + near)
        or (top is not None and y <= top + near)
        or (right is not None and x + w >= right - near)
        or (bottom is not None and y + h >= bottom - near)
    )


def _best_turn(detector: YuNetDetector, pyramid: _Pyramid, upright: float) -> int:
    """The clockwise turn (0, 90, 180, 270) whose best face at `TURN_SIDE` px scores
    highest; another turn than 0 must also beat `upright` (the normal look's best:
    a face too large for one size scores low there, so both are compared) and
    reach `TURN_SCORE`."""
    small, _ = pyramid.at(TURN_SIDE)
    best, best_turn = upright, 0
    for turn in TURNS:
        rows = detector.rows(small if turn == 0 else cv2.rotate(small, _ROTATE[turn]))
        score = float(rows[:, 14].max()) if len(rows) else 0.0
        if score > best and (turn == 0 or score >= TURN_SCORE):
            best, best_turn = score, turn
    return best_turn


def _evidence(look: _Look) -> list[_Hit]:
    """Signs that a look missed faces too small for it: its faces at its lower
    limit and its small doubtful faces. Small faces come in groups, so one
    doubtful face alone (most often a pattern, not a face) is no sign."""
    limit = 2 * RELIABLE_PX
    small = [h for h in look.faces if h.px < limit]
    doubtful = [h for h in look.doubtful if h.px < limit and not _covered(h, look.faces)]
    if not small and len(doubtful) < 2:
        return []
    return small + doubtful


def _covered(hit: _Hit, others: Sequence[_Hit]) -> bool:
    return any(_ios(hit, o) >= CUT_IOS for o in others)


def _closer_looks(
    detector: YuNetDetector, pyramid: _Pyramid, normal: _Look, looks: Looks, taken: list[str]
) -> tuple[list[_Hit], int]:
    """The probe and the tiles, when the photo can hold faces the normal look
    cannot see and shows signs of them (see the module)."""
    normal_scale = min(1.0, detector.max_side / pyramid.longest)
    if normal_scale * PROBE_MIN_GAIN > 1.0:
        return [], 0
    always = looks.tiles == "always"
    if not always and not _evidence(normal):
        return [], 0
    taken.append("probe")
    probe_side = round(pyramid.longest * min(1.0, PROBE_FACTOR * normal_scale))
    probe = _look(detector, pyramid, probe_side)
    found = list(probe.faces)
    if probe_side >= pyramid.longest:
        return found, 0
    if always:
        windows = tile_grid(pyramid.width, pyramid.height)
    else:
        signs = _evidence(probe)
        if not signs:
            return found, 0
        windows = _select(tile_grid(pyramid.width, pyramid.height), signs)
    taken.append("tiles")
    found += _run_tiles(detector, pyramid, windows)
    return found, len(windows)


def _starts(length: int) -> list[int]:
    """Tile origins along one side: `TILE` apart less `OVERLAP`, the last one flush with the end."""
    if length <= TILE:
        return [0]
    stride = TILE - OVERLAP
    starts = list(range(0, length - TILE, stride))
    starts.append(length - TILE)
    return starts


def tile_grid(width: int, height: int) -> list[Box]:
    """Every tile a `width` x `height` image is cut into (boxes at most `TILE`
    square, `OVERLAP` px over their neighbours, the last ones flush with the edges)."""
    return [Box(x, y, min(TILE, width - x), min(TILE, height - y)) for y in _starts(height) for x in _starts(width)]


def _select(grid: list[Box], signs: Sequence[_Hit]) -> list[Box]:
    """The tiles within `OVERLAP` px of a sign of small faces. Measured on 12 MP
    photos with a crowd in their bottom third (5 photos, 2 of faces 26-40 px):
    the same recall (0.981) within 0, 160, 320 or 640 px, with 107, 118, 120
    and 160 tiles."""
    reach = OVERLAP
    chosen = []
    for tile in grid:
        for s in signs:
            if (
                s.x - reach < tile.x + tile.w
                and s.x + s.w + reach > tile.x
                and s.y - reach < tile.y + tile.h
                and s.y + s.h + reach > tile.y
            ):
                chosen.append(tile)
                break
    return chosen


def _run_tiles(detector: YuNetDetector, pyramid: _Pyramid, windows: Sequence[Box]) -> list[_Hit]:
    """Faces in each window of the working image at full resolution (see `YuNetDetector.rows_in_tiles`)."""
    image = pyramid.image
    crops = [image[w.y : w.y + w.h, w.x : w.x + w.w] for w in windows]
    found: list[_Hit] = []
    for window, rows in zip(windows, detector.rows_in_tiles(crops, TILE)):
        edges: _Edges = (
            0 if window.x > 0 else None,
            0 if window.y > 0 else None,
            window.w if window.x + window.w < pyramid.width else None,
            window.h if window.y + window.h < pyramid.height else None,
        )
        found += _split(rows, detector.score_threshold, 1.0, window.x, window.y, edges).faces
    return found


def _recentre(detector: YuNetDetector, pyramid: _Pyramid, cut: Sequence[_Hit]) -> tuple[list[_Hit], int]:
    """One more tile centred on each face that only a tile edge was seen cutting."""
    windows = []
    for hit in cut:
        x = int(min(max(0, hit.x + hit.w / 2 - TILE / 2), max(0, pyramid.width - TILE)))
        y = int(min(max(0, hit.y + hit.h / 2 - TILE / 2), max(0, pyramid.height - TILE)))
        windows.append(Box(x, y, min(TILE, pyramid.width - x), min(TILE, pyramid.height - y)))
    return _run_tiles(detector, pyramid, windows), len(windows)


def _ios(a: _Hit, b: _Hit) -> float:
    """How much of the smaller box lies in the other, 0..1."""
    ax0, ay0, ax1, ay1 = a.box()
    bx0, by0, bx1, by1 = b.box()
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    smaller = min(a.w * a.h, b.w * b.h)
    return inter / smaller if smaller > 0 else 0.0


def _merge(hits: Sequence[_Hit]) -> list[_Hit]:
    """Non-maximum suppression across looks: whole boxes before cut ones, then
    boxes seen larger in their look (`_Hit.tier`), then by score; a box
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


def _face(hit: _Hit, turn: int, width: int, height: int) -> Face | None:
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


def turn_image(image: Image, turn: int) -> Image:
    """`image` rotated `turn` degrees clockwise (0, 90, 180 or 270): with a photo's
    `FoundFaces.turn`, the photo shown upright."""
    return image if turn % 360 == 0 else cv2.rotate(image, _ROTATE[turn % 360])


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
