"""Photos for the detection benchmark and tests, built at run time from the dev set.

Nothing here is written to disk: every case is JPEG bytes (what `index` reads)
with the faces it holds. The truth is what today's detector (YuNet, one look
at 640 px) finds in each source photo at its own size, carried into the new
photo by the same scale, offset or turn.

- `crowd_cases`: the group photos laid out on 12 MP canvases (4032 x 3024),
  each scaled so its faces are about 26-80 px wide: a class photo or a party
  seen by a phone.
- `filled_cases`: each portrait's face cut tight and enlarged to 2000 px.
- `turned_cases`: photos turned 90, 180 or 270 degrees, without EXIF.
- `ordinary_cases`: the portraits enlarged to 4032 x 3024 (or 3024 x 4032),
  grey bars where the aspect differs: a library's usual phone photo.
- `empty_cases`: 12 MP photos without a face (the dev set's landscape, enlarged).
- `known_cases`: the dev photos whose face count the source states.
- `library_cases`: every dev photo as it is (the photos `bench/index_bench.py` indexes).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from facerec.types import Box, Face, Image
from facerec.vision.detectors import YuNetDetector
from facerec.vision.images import load_image

CROWD_SIZE = (4032, 3024)
CROWD_FACE_PX = (26, 80)
FILLED_SIDE = 2000
_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


@dataclass(frozen=True)
class Case:
    """One photo: `data` (JPEG bytes, no EXIF), the faces in it (`truth`, boxes in its
    pixels), the turn that shows it upright, and where each true face comes from
    (`origins`: its source photo and the face there, in the pixels `index` decodes
    it to: the same face's embedding, to compare with)."""

    name: str
    data: bytes
    truth: list[Box]
    turn: int = 0
    known: int | None = None
    origins: list[tuple[Path, Face]] = field(default_factory=list)
    source: Path | None = None


@dataclass(frozen=True)
class DevPhoto:
    path: Path
    kind: str
    faces_in_photo: int | None


def dev_photos(root: Path) -> list[DevPhoto]:
    """The dev set's photos, from its manifest."""
    with (root / "manifest.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [
        DevPhoto(root / r["path"], r["kind"], int(r["faces_in_photo"]) if r["faces_in_photo"] else None) for r in rows
    ]


def jpeg(image: Image, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def today_faces(detector: YuNetDetector, path: Path) -> tuple[Image, list[Face]]:
    """The photo's pixels (as `index` decodes it today) and the faces today's
    detector finds in it, in those pixels."""
    return _today(detector, load_image(path, reduce_to=1920).pixels)


def _today(detector: YuNetDetector, pixels: Image) -> tuple[Image, list[Face]]:
    return pixels, detector.detect(pixels)


def crowd_cases(
    root: Path, detector: YuNetDetector, count: int = 6, seed: int = 22, band: float | None = None
) -> list[Case]:
    """`count` 12 MP canvases, each filled with the group photos scaled so their
    faces are `CROWD_FACE_PX` wide (each photo's own faces spread that range).
    `band`: fill only that share of the canvas (its bottom), the rest being the
    dev set's landscape without faces, enlarged: a group in a wide view."""
    groups = [p for p in dev_photos(root) if p.kind == "group"]
    sources = [(p.path, *today_faces(detector, p.path)) for p in groups]
    sources = [s for s in sources if s[2]]
    rng = random.Random(seed)
    background = None
    if band is not None:
        scenery = next(p for p in dev_photos(root) if p.kind == "noface")
        background = cv2.resize(load_image(scenery.path).pixels, CROWD_SIZE, interpolation=cv2.INTER_CUBIC)
    prefix = "crowd" if band is None else "band"
    return [_crowd(sources, rng, f"{prefix}-{i + 1}", background, band) for i in range(count)]


def _crowd(
    sources: list[tuple[Path, Image, list[Face]]],
    rng: random.Random,
    name: str,
    background: Image | None = None,
    band: float | None = None,
) -> Case:
    width, height = CROWD_SIZE
    if background is None:
        canvas = np.full((height, width, 3), rng.randint(70, 180), np.uint8)
    else:
        canvas = background.copy()
    truth: list[Box] = []
    origins: list[tuple[Path, Face]] = []
    x = 0
    y = 0 if band is None else round(height * (1 - band))
    row_h = 0
    gap = 12
    order = list(sources)
    tries = 0
    while tries < 200:
        tries += 1
        if not order:
            order = list(sources)
        rng.shuffle(order)
        path, pixels, faces = order.pop()
        widths = [f.box.w for f in faces]
        low, high = CROWD_FACE_PX[0] / min(widths), CROWD_FACE_PX[1] / max(widths)
        if low > high:  # the photo's faces differ more than the range: centre its median
            scale = float(np.sqrt(CROWD_FACE_PX[0] * CROWD_FACE_PX[1]) / np.median(widths))
        else:
            scale = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        h, w = pixels.shape[:2]
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        if sw > width or sh > height:
            continue
        if x + sw > width:
            x, y, row_h = 0, y + row_h + gap, 0
        if y + sh > height:
            continue
        small = cv2.resize(pixels, (sw, sh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        canvas[y : y + sh, x : x + sw] = small
        for f in faces:
            b = f.box
            truth.append(Box(x + round(b.x * scale), y + round(b.y * scale), round(b.w * scale), round(b.h * scale)))
            origins.append((path, f))
        x += sw + gap
        row_h = max(row_h, sh)
    return Case(name, jpeg(canvas), truth, origins=origins)


def filled_cases(root: Path, detector: YuNetDetector) -> list[Case]:
    """The largest face of every portrait (people and distractors), cut tight to its
    box and enlarged so its longer side is `FILLED_SIDE`: the face is the photo."""
    cases = []
    for p in dev_photos(root):
        if p.kind not in ("face", "distractor"):
            continue
        pixels, faces = today_faces(detector, p.path)
        if not faces:
            continue
        b = max(faces, key=lambda f: f.box.area).box
        crop = pixels[b.y : b.y + b.h, b.x : b.x + b.w]
        s = FILLED_SIDE / max(crop.shape[:2])
        big = cv2.resize(crop, (round(crop.shape[1] * s), round(crop.shape[0] * s)), interpolation=cv2.INTER_CUBIC)
        truth = [Box(0, 0, big.shape[1], big.shape[0])]
        cases.append(Case(f"filled {_rel(root, p.path)}", jpeg(big), truth, source=p.path))
    return cases


def turned_cases(root: Path, detector: YuNetDetector, turns: tuple[int, ...] = (90, 180, 270)) -> list[Case]:
    """Every dev photo with faces, turned by each of `turns` clockwise and saved
    without EXIF: the photo needs `360 - turn` to show upright again."""
    cases = []
    for p in dev_photos(root):
        if p.kind == "noface":
            continue
        pixels, faces = today_faces(detector, p.path)
        if not faces:
            continue
        h, w = pixels.shape[:2]
        for turn in turns:
            turned = cv2.rotate(pixels, _ROTATE[turn])
            truth = [_turn_box(f.box, turn, w, h) for f in faces]
            name = f"turned {turn} {_rel(root, p.path)}"
            origins = [(p.path, f) for f in faces]
            cases.append(Case(name, jpeg(turned, 95), truth, (360 - turn) % 360, origins=origins, source=p.path))
    return cases


def _turn_box(b: Box, turn: int, width: int, height: int) -> Box:
    """A box of a `width` x `height` photo, in that photo turned `turn` degrees clockwise."""
    if turn == 90:
        return Box(height - (b.y + b.h), b.x, b.h, b.w)
    if turn == 180:
        return Box(width - (b.x + b.w), height - (b.y + b.h), b.w, b.h)
    if turn == 270:
        return Box(b.y, width - (b.x + b.w), b.h, b.w)
    return b


def ordinary_cases(root: Path, detector: YuNetDetector, limit: int | None = None) -> list[Case]:
    """The portraits enlarged into 12 MP frames (4032 x 3024 for landscape photos,
    3024 x 4032 for portrait ones), grey bars where the aspect differs."""
    cases = []
    for p in [p for p in dev_photos(root) if p.kind == "face"][:limit]:
        pixels, faces = today_faces(detector, p.path)
        h, w = pixels.shape[:2]
        fw, fh = CROWD_SIZE if w >= h else CROWD_SIZE[::-1]
        s = min(fw / w, fh / h)
        big = cv2.resize(pixels, (round(w * s), round(h * s)), interpolation=cv2.INTER_CUBIC)
        frame = np.full((fh, fw, 3), 128, np.uint8)
        ox, oy = (fw - big.shape[1]) // 2, (fh - big.shape[0]) // 2
        frame[oy : oy + big.shape[0], ox : ox + big.shape[1]] = big
        truth = [
            Box(ox + round(f.box.x * s), oy + round(f.box.y * s), round(f.box.w * s), round(f.box.h * s)) for f in faces
        ]
        cases.append(Case(f"12MP {_rel(root, p.path)}", jpeg(frame), truth, source=p.path))
    return cases


def empty_cases(root: Path, count: int = 8) -> list[Case]:
    """12 MP photos without a face: the dev set's landscape enlarged, each a
    different crop of it (mirrored every other time), as a library's scenery."""
    scenery = next(p for p in dev_photos(root) if p.kind == "noface")
    pixels = load_image(scenery.path).pixels
    h, w = pixels.shape[:2]
    cases = []
    for i in range(count):
        f = 0.6 + 0.4 * i / max(1, count - 1)
        cw, ch = round(w * f), round(h * f)
        x, y = (w - cw) * i // max(1, count - 1), (h - ch) // 2
        crop = pixels[y : y + ch, x : x + cw]
        if i % 2:
            crop = cv2.flip(crop, 1)
        big = cv2.resize(crop, CROWD_SIZE, interpolation=cv2.INTER_CUBIC)
        cases.append(Case(f"empty {i + 1}", jpeg(big), [], known=0, source=scenery.path))
    return cases


def known_cases(root: Path) -> list[Case]:
    """The dev photos whose source states how many faces they hold (their own bytes)."""
    return [
        Case(f"known {_rel(root, p.path)}", p.path.read_bytes(), [], known=p.faces_in_photo, source=p.path)
        for p in dev_photos(root)
        if p.faces_in_photo is not None
    ]


def library_cases(root: Path) -> Iterator[Case]:
    """Every dev photo's own bytes (the photos `bench/index_bench.py` copies)."""
    for p in dev_photos(root):
        yield Case(f"library {_rel(root, p.path)}", p.path.read_bytes(), [], source=p.path)


def _rel(root: Path, path: Path) -> str:
    return str(path.relative_to(root))


def match(found: list[Box], truth: list[Box], iou: float = 0.4) -> tuple[int, int]:
    """(faces of `truth` found, boxes of `found` that are no face of `truth`): each
    true face is matched to at most one box, the best overlapping one."""
    used: set[int] = set()
    hits = 0
    for t in truth:
        best, best_i = iou, -1
        for i, f in enumerate(found):
            if i not in used:
                v = t.iou(f)
                if v >= best:
                    best, best_i = v, i
        if best_i >= 0:
            used.add(best_i)
            hits += 1
    return hits, len(found) - len(used)
