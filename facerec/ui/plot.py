"""A small line chart drawn with OpenCV (no plotting library needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from facerec.errors import OutputError

WIDTH, HEIGHT = 800, 500
LEFT, RIGHT, TOP, BOTTOM = 70, 30, 50, 60
COLORS = [(200, 90, 30), (40, 40, 220), (40, 160, 40)]  # BGR: blue, red, green


def line_chart(
    path: Path,
    title: str,
    x: Sequence[float],
    series: dict[str, Sequence[float]],
    x_label: str,
    y_label: str,
    marker: float | None = None,
) -> Path:
    """Draw `series` (values 0..1) against `x` into a PNG; `marker` draws a vertical line at that x."""
    img = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    x0, x1 = float(min(x)), float(max(x))
    span = (x1 - x0) or 1.0

    def px(xv: float, yv: float) -> tuple[int, int]:
        return (
            int(LEFT + (xv - x0) / span * (WIDTH - LEFT - RIGHT)),
            int(HEIGHT - BOTTOM - yv * (HEIGHT - TOP - BOTTOM)),
        )

    font = cv2.FONT_HERSHEY_SIMPLEX
    for i in range(11):  # grid and y ticks
        y = i / 10
        cv2.line(img, px(x0, y), px(x1, y), (230, 230, 230), 1)
        cv2.putText(img, f"{y:.1f}", (LEFT - 40, px(x0, y)[1] + 4), font, 0.4, (80, 80, 80), 1, cv2.LINE_AA)
    for i in range(6):  # x ticks
        xv = x0 + span * i / 5
        at = (px(xv, 0)[0] - 15, HEIGHT - BOTTOM + 18)
        cv2.putText(img, f"{xv:.2f}", at, font, 0.4, (80, 80, 80), 1, cv2.LINE_AA)
    cv2.rectangle(img, px(x0, 1), px(x1, 0), (0, 0, 0), 1)
    if marker is not None:
        cv2.line(img, px(marker, 0), px(marker, 1), (120, 120, 120), 1, cv2.LINE_AA)
        cv2.putText(img, f"{marker:.2f}", (px(marker, 1)[0] + 4, TOP + 14), font, 0.45, (80, 80, 80), 1, cv2.LINE_AA)
    for k, (name, ys) in enumerate(series.items()):
        color = COLORS[k % len(COLORS)]
        points = np.array([px(float(a), float(b)) for a, b in zip(x, ys)], np.int32)
        cv2.polylines(img, [points], False, color, 2, cv2.LINE_AA)
        cv2.putText(img, name, (LEFT + 10, TOP + 18 + 20 * k), font, 0.5, color, 1, cv2.LINE_AA)
    cv2.putText(img, title, (LEFT, 30), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, x_label, (WIDTH // 2 - 60, HEIGHT - 15), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, y_label, (5, TOP - 10), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    if not cv2.imwrite(str(path), img):
        raise OutputError(f"{path}: cannot write the plot")
    return path
