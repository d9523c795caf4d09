"""Drawing on frames: face boxes with names, FPS, key help, banners and notices.

All text goes through `facerec.video.text` (TrueType, any script)."""

from __future__ import annotations

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
NOTICE_SIZE = 16


def draw_face(image: Image, box: Box, name: str | None, distance: float | None, chosen: bool = False) -> None:
    """A box and a "name 0.31" label above it; Unknown in red. `chosen`: the face
    a key acts on, drawn with a thick amber box."""
    color = CHOSEN_COLOR if chosen else KNOWN_COLOR if name else UNKNOWN_COLOR
    cv2.rectangle(image, (box.x, box.y), (box.x + box.w, box.y + box.h), color, 4 if chosen else 2)
    label = name or "Unknown"
    if distance is not None:
        label += f" {distance:.2f}"
    text.draw_label(image, label, box.x, box.y - 2, LABEL_SIZE, color, (0, 0, 0) if chosen else TEXT_COLOR)


def draw_status(image: Image, line: str) -> None:
    """A status line at the top left (FPS, progress)."""
    text.draw_label(image, line, 4, 4 + text.line_height(STATUS_SIZE) + 3, STATUS_SIZE, PANEL_COLOR)


def draw_help(image: Image, line: str) -> None:
    """A one-line key help at the bottom."""
    line = text.fit(line, HELP_SIZE, image.shape[1] - 16)
    text.draw_label(image, line, 4, image.shape[0] - 4, HELP_SIZE, PANEL_COLOR)


def draw_banner(image: Image, line: str, size: int = BANNER_SIZE) -> tuple[int, int, int, int]:
    """Large text centred on the frame ("PAUSED"); returns its box (x, y, w, h)."""
    line = text.fit(line, size, image.shape[1] - 24)
    h, w = image.shape[:2]
    bw = text.text_width(line, size) + 2 + 2 * 8
    bh = text.line_height(size) + 8
    return text.draw_label(image, line, (w - bw) // 2, (h + bh) // 2, size, PANEL_COLOR, pad=8)


def draw_notice(image: Image, line: str) -> tuple[int, int, int, int]:
    """A notice above the help line ("snapshot saved", "type the name in the terminal")."""
    line = text.fit(line, NOTICE_SIZE, image.shape[1] - 16)
    bottom = image.shape[0] - 8 - text.line_height(HELP_SIZE) - 6
    return text.draw_label(image, line, 4, bottom, NOTICE_SIZE, CHOSEN_COLOR, (0, 0, 0))
