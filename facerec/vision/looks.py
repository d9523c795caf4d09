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

Where each part lives: the hits and their merging in `facerec.vision.hits`
(`RELIABLE_PX`, `MERGE_IOU`, `MERGE_IOS`, `CUT_IOS`), the tiles in
`facerec.vision.tiles` (`TILE`, `OVERLAP`), the turns in `facerec.vision.turns`;
this module decides which looks run.

Coordinates: `find_faces` returns boxes and landmarks in the pixels it was
given, plus the `turn`: how many degrees clockwise to rotate those pixels to
show the photo upright (0, 90, 180 or 270). Landmarks of a turned face are
turned with it, so `align_face` gives the upright face from them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2

from facerec.types import Face, Image
from facerec.vision.detectors import YuNetDetector
from facerec.vision.hits import RELIABLE_PX, Hit, Look, Pyramid, covered, merge, split_rows, to_face
from facerec.vision.tiles import recentre, run_tiles, select_tiles, tile_grid
from facerec.vision.turns import ROTATE, TURNS

log = logging.getLogger(__name__)

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


PROBE_FACTOR = 2.0
"""The probe's scale as a multiple of the normal look's."""


PROBE_MIN_GAIN = 1.5
"""The probe runs only when the decoded photo is at least this many times
larger than the normal look (960 px and up): on a smaller photo it would cost
more than twice the normal look to see faces at most 1.5 times larger."""


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


def find_faces(detector: YuNetDetector, image: Image, looks: Looks = ALL_LOOKS) -> FoundFaces:
    """Every face in `image` (BGR, as decoded and turned by its EXIF), from the
    looks `looks` allows; see the module for which look runs when."""
    taken: list[str] = ["normal"]
    pyramid = Pyramid(image)
    hits, normal = _normal_looks(detector, pyramid, looks, taken)
    turn = 0
    upright = max((h.score for h in hits), default=0.0)
    if looks.turns and upright < UPRIGHT_SCORE:
        taken.append("turns")
        turn = _best_turn(detector, pyramid, upright)
        if turn:
            turned = Pyramid(cv2.rotate(image, ROTATE[turn]))
            turned_hits, turned_normal = _normal_looks(detector, turned, looks, taken)
            if turned_hits:
                pyramid, hits, normal = turned, turned_hits, turned_normal
            else:
                turn = 0
    tiles = 0
    if looks.tiles != "never":
        more, tiles = _closer_looks(detector, pyramid, normal, looks, taken)
        hits += more
    kept = merge(hits)
    if tiles and any(h.cut for h in kept):
        more, extra = recentre(detector, pyramid, [h for h in kept if h.cut])
        tiles += extra
        kept = merge(hits + more)
    height, width = image.shape[:2]
    faces = [f for f in (to_face(h, turn, width, height) for h in kept) if f is not None]
    faces.sort(key=lambda f: (f.box.x, f.box.y))
    if len(taken) > 1:
        log.debug("looks %s, %d tiles, turn %d: %d faces", "+".join(taken), tiles, turn, len(faces))
    return FoundFaces(faces, turn, tuple(taken), tiles)


def _normal_looks(detector: YuNetDetector, pyramid: Pyramid, looks: Looks, taken: list[str]) -> tuple[list[Hit], Look]:
    """The normal look (and the coarse one when it finds nothing)."""
    normal = _look(detector, pyramid, detector.max_side)
    hits = list(normal.faces)
    if not hits and looks.coarse and pyramid.longest > COARSE_SIDE:
        taken.append("coarse")
        hits = _look(detector, pyramid, COARSE_SIDE, pad=True).faces
    return hits, normal


def _look(detector: YuNetDetector, pyramid: Pyramid, side: int, pad: bool = False) -> Look:
    """One look at the whole working image shrunk to `side` px. `pad` adds a grey
    margin, so a face cut by the photo's edge still looks like a face."""
    small, scale = pyramid.at(side)
    margin = 0
    if pad:
        margin = max(small.shape[:2]) // 8
        small = cv2.copyMakeBorder(small, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    rows = detector.rows(small, HINT_SCORE)
    return split_rows(rows, detector.score_threshold, scale, -margin, -margin)


def _best_turn(detector: YuNetDetector, pyramid: Pyramid, upright: float) -> int:
    """The clockwise turn (0, 90, 180, 270) whose best face at `TURN_SIDE` px scores
    highest; another turn than 0 must also beat `upright` (the normal look's best:
    a face too large for one size scores low there, so both are compared) and
    reach `TURN_SCORE`."""
    small, _ = pyramid.at(TURN_SIDE)
    best, best_turn = upright, 0
    for turn in TURNS:
        rows = detector.rows(small if turn == 0 else cv2.rotate(small, ROTATE[turn]))
        score = float(rows[:, 14].max()) if len(rows) else 0.0
        if score > best and (turn == 0 or score >= TURN_SCORE):
            best, best_turn = score, turn
    return best_turn


def _evidence(look: Look) -> list[Hit]:
    """Signs that a look missed faces too small for it: its faces at its lower
    limit and its small doubtful faces. Small faces come in groups, so one
    doubtful face alone (most often a pattern, not a face) is no sign."""
    limit = 2 * RELIABLE_PX
    small = [h for h in look.faces if h.px < limit]
    doubtful = [h for h in look.doubtful if h.px < limit and not covered(h, look.faces)]
    if not small and len(doubtful) < 2:
        return []
    return small + doubtful


def _closer_looks(
    detector: YuNetDetector, pyramid: Pyramid, normal: Look, looks: Looks, taken: list[str]
) -> tuple[list[Hit], int]:
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
        windows = select_tiles(tile_grid(pyramid.width, pyramid.height), signs)
    taken.append("tiles")
    found += run_tiles(detector, pyramid, windows)
    return found, len(windows)
