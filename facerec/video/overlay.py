"""Drawing on frames: face boxes with names, FPS, key help, progress text."""

from __future__ import annotations

import cv2

from facerec.types import Box, Image

KNOWN_COLOR = (60, 200, 60)  # BGR green
UNKNOWN_COLOR = (40, 40, 230)  # BGR red
TEXT_COLOR = (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _label(image: Image, text: str, x: int, y: int, color: tuple[int, int, int], scale: float = 0.55) -> None:
    """Text on a filled background, kept inside the image."""
    (tw, th), base = cv2.getTextSize(text, FONT, scale, 1)
    h, w = image.shape[:2]
    x = max(0, min(x, w - tw - 4))
    y = max(th + base + 2, min(y, h - 1))
    cv2.rectangle(image, (x, y - th - base - 2), (x + tw + 4, y), color, cv2.FILLED)
    cv2.putText(image, text, (x + 2, y - base), FONT, scale, TEXT_COLOR, 1, cv2.LINE_AA)


def draw_face(image: Image, box: Box, name: str | None, distance: float | None) -> None:
    """A box and a "name 0.31" label above it; Unknown in red."""
    color = KNOWN_COLOR if name else UNKNOWN_COLOR
    cv2.rectangle(image, (box.x, box.y), (box.x + box.w, box.y + box.h), color, 2)
    text = name or "Unknown"
    if distance is not None:
        text += f" {distance:.2f}"
    _label(image, text, box.x, box.y - 2, color)


def draw_status(image: Image, text: str) -> None:
    """A status line at the top left (FPS, progress)."""
    _label(image, text, 4, 24, (50, 50, 50), 0.6)


def draw_help(image: Image, text: str) -> None:
    """A one-line key help at the bottom."""
    _label(image, text, 4, image.shape[0] - 4, (50, 50, 50), 0.45)
