"""Contact sheets: one JPEG of thumbnails, each photo with the matching face
boxed and a caption (distance, file name). People would rather look than read."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facerec.errors import FacerecError, NothingToShowError
from facerec.paths import key_path
from facerec.types import Box
from facerec.video import overlay
from facerec.vision.images import load_image, save_private_image

TILE = 240
"""Thumbnail size in pixels (square)."""
CAPTION = 36
MAX_TILES = 200
"""A sheet shows at most this many photos (the first ones: best matches first)."""


@dataclass(frozen=True)
class Tile:
    """One photo on the sheet: its stored key, the face to box, two caption lines."""

    picture: str
    box: Box
    caption: str
    label: str | None = None


@dataclass(frozen=True)
class Sheet:
    """A written contact sheet and its grid."""

    path: Path
    tiles: int
    columns: int
    rows: int


def grid(count: int) -> tuple[int, int]:
    """(columns, rows) for `count` tiles: near-square, at most 8 columns."""
    columns = max(1, min(8, math.ceil(math.sqrt(count))))
    return columns, max(1, math.ceil(count / columns))


def make_sheet(tiles: Sequence[Tile], path: Path) -> Sheet:
    """Draw `tiles` (up to `MAX_TILES`) into a JPEG at `path`, readable by the owner only.

    A photo that can no longer be read gets a grey tile saying so.
    """
    if not tiles:
        raise NothingToShowError("nothing to put on a contact sheet")
    tiles = list(tiles[:MAX_TILES])
    columns, rows = grid(len(tiles))
    sheet = np.full((rows * (TILE + CAPTION), columns * TILE, 3), 255, np.uint8)
    for n, tile in enumerate(tiles):
        r, c = divmod(n, columns)
        y0, x0 = r * (TILE + CAPTION), c * TILE
        sheet[y0 : y0 + TILE, x0 : x0 + TILE] = _thumbnail(tile)
        _caption(sheet, x0, y0 + TILE, tile)
    save_private_image(path, sheet, quality=90)
    return Sheet(path, len(tiles), columns, rows)


def _thumbnail(tile: Tile) -> np.ndarray:
    cell = np.full((TILE, TILE, 3), 200, np.uint8)
    try:
        image = load_image(key_path(tile.picture), reduce_to=TILE * 2)
    except FacerecError:
        cv2.putText(cell, "unreadable", (60, TILE // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (60, 60, 60), 1, cv2.LINE_AA)
        return cell
    pixels = image.pixels
    h, w = pixels.shape[:2]
    f = min((TILE - 4) / w, (TILE - 4) / h)
    small = cv2.resize(pixels, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    oy, ox = (TILE - sh) // 2, (TILE - sw) // 2
    cell[oy : oy + sh, ox : ox + sw] = small
    k = f / image.scale  # original coordinates -> thumbnail
    b = tile.box
    box = Box(ox + int(b.x * k), oy + int(b.y * k), max(2, int(b.w * k)), max(2, int(b.h * k)))
    color = overlay.KNOWN_COLOR if tile.label else overlay.UNKNOWN_COLOR
    cv2.rectangle(cell, (box.x, box.y), (box.x + box.w, box.y + box.h), color, 2)
    return cell


def _caption(sheet: np.ndarray, x: int, y: int, tile: Tile) -> None:
    name = os.path.basename(tile.picture)
    lines = [tile.caption if not tile.label else f"{tile.label}  {tile.caption}", name]
    for i, text in enumerate(lines):
        while len(text) > 4 and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.42, 1)[0][0] > TILE - 6:
            text = text[:-2]
        cv2.putText(sheet, text, (x + 3, y + 14 + 16 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
