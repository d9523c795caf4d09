"""A small line chart drawn with OpenCV and `facerec.video.text` (no plotting library needed):
ticks at round values, a legend naming each line, and labelled vertical markers
(the threshold in use, the calibrated one)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facerec.errors import OutputError
from facerec.video import text

WIDTH, HEIGHT = 800, 500
LEFT, RIGHT, TOP, BOTTOM = 70, 30, 50, 60
COLORS = [(200, 90, 30), (40, 40, 220), (40, 160, 40)]  # BGR: blue, red, green
MARKER_COLORS = [(0, 0, 0), (120, 120, 120), (0, 140, 255)]  # black, grey, orange
INK = (0, 0, 0)
TICK_INK = (80, 80, 80)
GRID = (230, 230, 230)


@dataclass(frozen=True)
class Chart:
    """A written chart: its ticks, and the pixel column of each marker line."""

    path: Path
    x_ticks: list[float]
    y_ticks: list[float]
    markers: dict[str, int]


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick values inside [lo, hi]: a step of 1, 2 or 5 times a power of
    ten, the one giving a count of ticks nearest `target`."""
    if hi <= lo:
        return [lo]
    power = 10.0 ** math.floor(math.log10((hi - lo) / max(1, target - 1)))

    def ticks(step: float) -> list[float]:
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        return [round(i * step, 10) for i in range(first, last + 1)]

    steps = [m * power for m in (0.5, 1, 2, 5, 10)]
    return min((ticks(s) for s in reversed(steps)), key=lambda t: abs(len(t) - target))


def _decimals(ticks: Sequence[float]) -> int:
    """Digits after the point that tell the ticks apart."""
    for d in range(0, 5):
        if all(abs(round(t, d) - t) < 1e-9 for t in ticks):
            return d
    return 4


def line_chart(
    path: Path,
    title: str,
    x: Sequence[float],
    series: dict[str, Sequence[float]],
    x_label: str,
    y_label: str,
    markers: dict[str, float] | None = None,
) -> Chart:
    """Draw `series` (values 0..1) against `x` into a PNG; each of `markers`
    (label -> x) is a labelled vertical line."""
    img = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    x0, x1 = float(min(x)), float(max(x))
    span = (x1 - x0) or 1.0

    def px(xv: float, yv: float) -> tuple[int, int]:
        return (
            int(round(LEFT + (xv - x0) / span * (WIDTH - LEFT - RIGHT))),
            int(round(HEIGHT - BOTTOM - yv * (HEIGHT - TOP - BOTTOM))),
        )

    y_ticks = nice_ticks(0.0, 1.0, 11)
    for y in y_ticks:  # grid and y ticks
        cv2.line(img, px(x0, y), px(x1, y), GRID, 1)
        label = f"{y:.1f}"
        text.draw_text(img, label, LEFT - 8 - text.text_width(label, 12), px(x0, y)[1] - 8, 12, TICK_INK)
    x_ticks = nice_ticks(x0, x1, 8)
    digits = _decimals(x_ticks)
    for xv in x_ticks:
        at = px(xv, 0)
        cv2.line(img, (at[0], at[1]), (at[0], at[1] + 5), TICK_INK, 1)
        label = f"{xv:.{digits}f}"
        text.draw_text(img, label, at[0] - text.text_width(label, 12) // 2, HEIGHT - BOTTOM + 8, 12, TICK_INK)
    cv2.rectangle(img, px(x0, 1), px(x1, 0), INK, 1)
    for k, ys in enumerate(series.values()):
        points = np.array([px(float(a), float(b)) for a, b in zip(x, ys)], np.int32)
        cv2.polylines(img, [points], False, COLORS[k % len(COLORS)], 2, cv2.LINE_AA)
    placed: dict[str, int] = {}
    shown = [(label, xv) for label, xv in (markers or {}).items() if x0 <= xv <= x1]
    for k, (label, xv) in enumerate(shown):  # the lines first, then every label over them
        column = px(xv, 0)[0]
        for y in range(TOP, HEIGHT - BOTTOM, 8):  # dashed
            cv2.line(img, (column, y), (column, min(y + 4, HEIGHT - BOTTOM)), MARKER_COLORS[k % len(MARKER_COLORS)], 2)
        placed[label] = column
    for k, (label, column) in enumerate(placed.items()):
        width = text.text_width(label, 13) + 8
        lx = column + 4 if column + 4 + width < WIDTH - RIGHT else column - 4 - width
        text.draw_label(img, label, lx, TOP + 26 + 22 * k, 13, (255, 255, 255), MARKER_COLORS[k % len(MARKER_COLORS)])
    # The legend: a framed box at the right, half-way up, naming each line in its colour.
    legend_w = 44 + max((text.text_width(n, 14) for n in series), default=0)
    lx, ly = WIDTH - RIGHT - legend_w - 10, (TOP + HEIGHT - BOTTOM) // 2 - 11 * len(series)
    cv2.rectangle(img, (lx - 6, ly - 6), (lx + legend_w, ly + 22 * len(series)), (255, 255, 255), cv2.FILLED)
    cv2.rectangle(img, (lx - 6, ly - 6), (lx + legend_w, ly + 22 * len(series)), (160, 160, 160), 1)
    for k, name in enumerate(series):
        color = COLORS[k % len(COLORS)]
        y = ly + 22 * k
        cv2.line(img, (lx, y + 8), (lx + 24, y + 8), color, 3)
        text.draw_text(img, name, lx + 30, y, 14, color)
    text.draw_text(img, title, LEFT, 14, 17, INK)
    text.draw_text(img, x_label, (WIDTH - text.text_width(x_label, 14)) // 2, HEIGHT - 26, 14, INK)
    text.draw_text(img, y_label, 5, TOP - 24, 13, INK)
    if not cv2.imwrite(str(path), img):
        raise OutputError(f"{path}: cannot write the plot")
    return Chart(path, x_ticks, y_ticks, placed)
