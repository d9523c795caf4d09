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
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, target - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw - 1e-12)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + 1e-9:
        ticks.append(round(v, 10))
        v += step
    return ticks


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
    placed: dict[str, int] = {}
    for k, (label, xv) in enumerate((markers or {}).items()):
        if not x0 <= xv <= x1:
            continue
        color = MARKER_COLORS[k % len(MARKER_COLORS)]
        column = px(xv, 0)[0]
        for y in range(TOP, HEIGHT - BOTTOM, 8):  # dashed
            cv2.line(img, (column, y), (column, min(y + 4, HEIGHT - BOTTOM)), color, 2)
        width = text.text_width(label, 13)
        lx = column + 6 if column + 6 + width < WIDTH - RIGHT else column - 6 - width
        text.draw_text(img, label, lx, TOP + 4 + 18 * k, 13, color)
        placed[label] = column
    legend_y = HEIGHT - BOTTOM - 12 - 22 * len(series)
    for k, (name, ys) in enumerate(series.items()):
        color = COLORS[k % len(COLORS)]
        points = np.array([px(float(a), float(b)) for a, b in zip(x, ys)], np.int32)
        cv2.polylines(img, [points], False, color, 2, cv2.LINE_AA)
        y = legend_y + 22 * k
        cv2.line(img, (WIDTH - RIGHT - 200, y + 8), (WIDTH - RIGHT - 176, y + 8), color, 3)
        text.draw_text(img, name, WIDTH - RIGHT - 170, y, 14, color)
    text.draw_text(img, title, LEFT, 14, 17, INK)
    text.draw_text(img, x_label, (WIDTH - text.text_width(x_label, 14)) // 2, HEIGHT - 26, 14, INK)
    text.draw_text(img, y_label, 5, TOP - 24, 13, INK)
    if not cv2.imwrite(str(path), img):
        raise OutputError(f"{path}: cannot write the plot")
    return Chart(path, x_ticks, y_ticks, placed)
