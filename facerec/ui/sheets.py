"""Contact sheets: one JPEG of thumbnails, each photo with the matching face
boxed and a caption (distance, file name), or each tile a face cropped from
its photo; optionally in sections with a heading each (the groups of
`people --export`). People would rather look than read.

Captions are drawn with `facerec.video.text`, so names in any script show
as written."""

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
from facerec.types import Box, Face
from facerec.video import overlay, text
from facerec.vision.images import LoadedImage, load_image, save_private_image
from facerec.vision.turns import face_upright, turn_image

TILE = 240
"""Thumbnail size in pixels (square)."""
CAPTION = 36
"""Height of the two caption lines under a tile."""
HEADING = 30
"""Height of a section's heading bar."""
CAPTION_SIZE = 13
"""Font size (pixels) of the captions."""
HEADING_SIZE = 18
CAPTION_LINE = 16
"""Distance between the tops of the two caption lines."""
CAPTION_TOP = 2
CAPTION_LEFT = 3
MAX_TILES = 200
"""A sheet shows at most this many photos (the first ones: best matches first)."""
CROP_MARGIN = 0.6
"""A cropped tile shows the face box widened by this fraction of its size on every side."""
GREY = 200


@dataclass(frozen=True)
class Tile:
    """One photo on the sheet: its stored key, the face to box, two caption lines.

    `crop`: show the face itself (its box with a margin, enlarged) instead of
    the whole photo. `turn`: degrees clockwise that show the photo upright (a
    photo lying on its side; `facerec.usecases.library.thumbnails.photo_turns`):
    the tile shows it turned, the box with it (`box` is in the file's pixels)."""

    picture: str
    box: Box
    caption: str
    label: str | None = None
    crop: bool = False
    turn: int = 0
    t_seconds: float | None = None
    """A video clip's tile: the time of the frame shown (`frame_at`)."""


@dataclass(frozen=True)
class Section:
    """A run of tiles under a heading (one group of `people --export`)."""

    title: str
    tiles: Sequence[Tile]


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


def caption_lines(tile: Tile) -> list[str]:
    """The two lines under a tile: label and caption, then the photo's file name."""
    first = tile.caption if not tile.label else f"{tile.label}  {tile.caption}"
    return [first, os.path.basename(tile.picture)]


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
        _place(sheet, c * TILE, r * (TILE + CAPTION), tile)
    save_private_image(path, sheet, quality=90)
    return Sheet(path, len(tiles), columns, rows)


def make_sectioned_sheet(sections: Sequence[Section], path: Path, columns: int = 6) -> Sheet:
    """Sections one under the other, each a heading bar and its tiles (up to
    `MAX_TILES` in all), `columns` tiles a row, into a private JPEG at `path`."""
    left = MAX_TILES
    kept: list[Section] = []
    for s in sections:
        if left <= 0:
            break
        if s.tiles:
            kept.append(Section(s.title, list(s.tiles[:left])))
            left -= len(kept[-1].tiles)
    if not kept:
        raise NothingToShowError("nothing to put on a contact sheet")
    columns = max(1, min(columns, max(len(s.tiles) for s in kept)))
    rows = sum(math.ceil(len(s.tiles) / columns) for s in kept)
    sheet = np.full((len(kept) * HEADING + rows * (TILE + CAPTION), columns * TILE, 3), 255, np.uint8)
    y = 0
    for s in kept:
        cv2.rectangle(sheet, (0, y), (sheet.shape[1] - 1, y + HEADING - 1), (60, 60, 60), cv2.FILLED)
        title = text.fit(s.title, HEADING_SIZE, sheet.shape[1] - 12)
        text.draw_text(sheet, title, 6, y + (HEADING - text.line_height(HEADING_SIZE)) // 2, HEADING_SIZE, (255,) * 3)
        y += HEADING
        for n, tile in enumerate(s.tiles):
            r, c = divmod(n, columns)
            _place(sheet, c * TILE, y + r * (TILE + CAPTION), tile)
        y += math.ceil(len(s.tiles) / columns) * (TILE + CAPTION)
    total = sum(len(s.tiles) for s in kept)
    save_private_image(path, sheet, quality=90)
    return Sheet(path, total, columns, rows)


def _place(sheet: np.ndarray, x0: int, y0: int, tile: Tile) -> None:
    sheet[y0 : y0 + TILE, x0 : x0 + TILE] = _thumbnail(tile)
    for i, line in enumerate(caption_lines(tile)):
        line = text.fit(line, CAPTION_SIZE, TILE - 2 * CAPTION_LEFT)
        top = y0 + TILE + CAPTION_TOP + CAPTION_LINE * i
        text.draw_text(sheet, line, x0 + CAPTION_LEFT, top, CAPTION_SIZE, (0, 0, 0))


def _unreadable() -> np.ndarray:
    cell = np.full((TILE, TILE, 3), GREY, np.uint8)
    width = text.text_width("unreadable", 15)
    text.draw_text(cell, "unreadable", (TILE - width) // 2, TILE // 2 - 9, 15, (60, 60, 60))
    return cell


def _crop_region(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """A square around `box` with `CROP_MARGIN`, clipped to the photo: (x0, y0, x1, y1)."""
    side = int(max(box.w, box.h) * (1 + 2 * CROP_MARGIN))
    cx, cy = box.x + box.w // 2, box.y + box.h // 2
    x0, y0 = max(0, cx - side // 2), max(0, cy - side // 2)
    return x0, y0, min(width, x0 + side), min(height, y0 + side)


def _thumbnail(tile: Tile) -> np.ndarray:
    cell = np.full((TILE, TILE, 3), GREY, np.uint8)
    try:
        if tile.t_seconds is not None:
            path = Path(key_path(tile.picture))
            from facerec.video.decode import frame_at  # PyAV: only for a clip

            frame = frame_at(path, tile.t_seconds)
            image = LoadedImage(path, frame, "", 0, frame.shape[1], frame.shape[0])
        else:
            image = load_image(key_path(tile.picture), reduce_to=None if tile.crop else TILE * 2)
    except FacerecError:
        return _unreadable()
    pixels = image.pixels
    b = tile.box
    if image.scale != 1.0:  # original coordinates -> the decoded pixels
        k = 1.0 / image.scale
        b = Box(int(b.x * k), int(b.y * k), max(1, int(b.w * k)), max(1, int(b.h * k)))
    if tile.turn % 360:  # shown upright, the box with it
        b = face_upright(Face(b, 1.0), tile.turn, pixels.shape[1], pixels.shape[0]).box
        pixels = turn_image(pixels, tile.turn)
    ox_src = oy_src = 0
    if tile.crop:
        x0, y0, x1, y1 = _crop_region(b, pixels.shape[1], pixels.shape[0])
        if x1 > x0 and y1 > y0:
            pixels = pixels[y0:y1, x0:x1]
            ox_src, oy_src = x0, y0
    h, w = pixels.shape[:2]
    f = min((TILE - 4) / w, (TILE - 4) / h)
    interpolation = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
    small = cv2.resize(pixels, (max(1, int(w * f)), max(1, int(h * f))), interpolation=interpolation)
    sh, sw = small.shape[:2]
    oy, ox = (TILE - sh) // 2, (TILE - sw) // 2
    cell[oy : oy + sh, ox : ox + sw] = small
    box = Box(ox + int((b.x - ox_src) * f), oy + int((b.y - oy_src) * f), max(2, int(b.w * f)), max(2, int(b.h * f)))
    color = overlay.KNOWN_COLOR if tile.label else overlay.UNKNOWN_COLOR
    cv2.rectangle(cell, (box.x, box.y), (box.x + box.w, box.y + box.h), color, 2)
    return cell
