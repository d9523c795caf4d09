"""Drawing on frames: face boxes with names, FPS, key help, banners and notices.

All text goes through `facerec.video.text` (TrueType, any script)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2

from facerec.types import Box, Image
from facerec.video import text

KNOWN_COLOR = (60, 200, 60)  # BGR green
UNKNOWN_COLOR = (40, 40, 230)  # BGR red
CHOSEN_COLOR = (0, 215, 255)  # BGR amber: the face a key acts on (`r` registers it)
TEXT_COLOR = (255, 255, 255)
PANEL_COLOR = (50, 50, 50)

LABEL_SIZE = 15
"""Font size (pixels) of the name above a face box."""
STATUS_SIZE = 16
HELP_SIZE = 13
BANNER_SIZE = 30
BANNER_SMALLER = (22, 16)
"""Sizes a banner shrinks to when no edge has room for it at `BANNER_SIZE` beside the faces."""
BANNER_PAD = 8
NOTICE_SIZE = 16


def draw_face(image: Image, box: Box, name: str | None, distance: float | None, chosen: bool = False) -> None:
    """A box and a "name 0.31" label above it; Unknown in red. `chosen`: the face
    a key acts on, drawn with a thick amber box."""
    color = CHOSEN_COLOR if chosen else KNOWN_COLOR if name else UNKNOWN_COLOR
    cv2.rectangle(image, (box.x, box.y), (box.x + box.w, box.y + box.h), color, 4 if chosen else 2)
    label = _face_label(name, distance)
    text.draw_label(image, label, box.x, box.y - 2, LABEL_SIZE, color, (0, 0, 0) if chosen else TEXT_COLOR)


def _face_label(name: str | None, distance: float | None) -> str:
    label = name or "Unknown"
    return label if distance is None else f"{label} {distance:.2f}"


def face_region(box: Box, name: str | None, distance: float | None) -> Box:
    """What `draw_face` covers: the box (its thickest outline included) and the label above it.
    Pass these to `draw_banner` so a banner leaves the faces in view."""
    r = text.render(_face_label(name, distance), LABEL_SIZE)
    label_w, label_h = r.width + 2 * 3, r.height + 3
    x0, y0 = box.x - 2, min(box.y - 2, box.y - 2 - label_h)
    x1, y1 = max(box.x + box.w + 2, box.x + label_w), box.y + box.h + 2
    return Box(x0, y0, x1 - x0, y1 - y0)


def draw_status(image: Image, line: str) -> None:
    """A status line at the top left (FPS, progress)."""
    text.draw_label(image, line, 4, 4 + text.line_height(STATUS_SIZE) + 3, STATUS_SIZE, PANEL_COLOR)


def draw_help(image: Image, line: str) -> None:
    """A one-line key help at the bottom."""
    line = text.fit(line, HELP_SIZE, image.shape[1] - 16)
    text.draw_label(image, line, 4, image.shape[0] - 4, HELP_SIZE, PANEL_COLOR)


def _overlap(a: tuple[int, int, int, int], b: Box) -> int:
    """Area (pixels) shared by the rectangle `a` (x, y, w, h) and `b`."""
    w = min(a[0] + a[2], b.x + b.w) - max(a[0], b.x)
    h = min(a[1] + a[3], b.y + b.h) - max(a[1], b.y)
    return max(0, w) * max(0, h)


def banner_box(
    shape: tuple[int, ...], line: str, size: int = BANNER_SIZE, avoid: Sequence[Box] = ()
) -> tuple[str, int, tuple[int, int, int, int]]:
    """Where `draw_banner` puts `line` on a frame of `shape`: (the line as fitted, its size,
    its box x, y, w, h). The top edge (below the status line), then the bottom edge (above the
    notice and help lines), centred, then at the right or left; at `size`, then smaller. The first
    place that covers none of `avoid` wins; if none is free, the one that covers least."""
    h, w = shape[:2]
    top = 4 + text.line_height(STATUS_SIZE) + 3 + 4
    bottom = h - 8 - text.line_height(HELP_SIZE) - 6 - (text.line_height(NOTICE_SIZE) + 3) - 4
    best: tuple[int, tuple[str, int, tuple[int, int, int, int]]] | None = None
    for s in (size, *(smaller for smaller in BANNER_SMALLER if smaller < size)):
        fitted = text.fit(line, s, w - 24)
        r = text.render(fitted, s)
        bw, bh = r.width + 2 * BANNER_PAD, r.height + BANNER_PAD
        for y in (top, bottom - bh):
            for x in ((w - bw) // 2, w - 4 - bw, 4):
                place = (max(0, min(x, w - bw)), max(0, min(y, h - bh)), bw, bh)
                covered = sum(_overlap(place, b) for b in avoid)
                if best is None or covered < best[0]:
                    best = (covered, (fitted, s, place))
                if covered == 0:
                    return fitted, s, place
    assert best is not None
    return best[1]


def draw_banner(
    image: Image, line: str, size: int = BANNER_SIZE, avoid: Sequence[Box] = ()
) -> tuple[int, int, int, int]:
    """Large text ("PAUSED") at an edge of the frame where it covers none of `avoid` (the faces
    in view, as `face_region` gives them; see `banner_box`); returns its box (x, y, w, h)."""
    fitted, s, (x, y, _, bh) = banner_box(image.shape, line, size, avoid)
    return text.draw_label(image, fitted, x, y + bh, s, PANEL_COLOR, pad=BANNER_PAD)


def draw_notice(image: Image, line: str) -> tuple[int, int, int, int]:
    """A notice above the help line ("snapshot saved", "type the name in the terminal")."""
    line = text.fit(line, NOTICE_SIZE, image.shape[1] - 16)
    bottom = image.shape[0] - 8 - text.line_height(HELP_SIZE) - 6
    return text.draw_label(image, line, 4, bottom, NOTICE_SIZE, CHOSEN_COLOR, (0, 0, 0))
