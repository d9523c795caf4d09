"""Thumbnails for the web page: a face cropped around its box, or its whole
photo shrunk with the face boxed (and the photo's faces too small to
recognise boxed in grey, with a caption saying so). Both are shown upright:
a photo lying on its side is turned by its stored turn (the file is never
rewritten), its boxes with it. Each is made once and kept in
`<data dir>/thumbnails/` (0700, files 0600, like every other file facerec
writes), named after the face and a hash of what it shows, so a changed
photo gets a new one; `sweep_thumbnails` removes those of faces that are
gone (deleted people, pruned photos).

Two steps so a caller can hold a database lock for the first only:
`locate_thumbnail` (the database: which picture, which box) and
`make_thumbnail` (no database: decode, crop, write; a cached file is
returned at once).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from facerec.db.library import FaceSource, PictureFace
from facerec.errors import FaceNotFoundError, UsageError
from facerec.files import make_private_dir
from facerec.paths import key_path
from facerec.types import Box, Face, Image
from facerec.usecases.context import Context
from facerec.video import text
from facerec.vision.images import LoadedImage, load_image, save_private_image
from facerec.vision.turns import face_upright, turn_image

__all__ = [
    "CardSource",
    "PhotoTurns",
    "Sweep",
    "Thumbnail",
    "ThumbnailSource",
    "locate_card",
    "locate_thumbnail",
    "make_card",
    "make_thumbnail",
    "photo_turns",
    "sweep_thumbnails",
]

log = logging.getLogger(__name__)

FACE_SIZE = 160
"""A face thumbnail is this many pixels square (shown at half that on the page, sharp on HiDPI screens)."""
FACE_MARGIN = 0.35
"""Margin around the face box on each side, as a fraction of the box: hair and chin stay in."""
PHOTO_SIDE = 480
"""A photo thumbnail's longer side, in pixels."""
BOX_COLOR = (0, 200, 255)  # BGR amber: the same on named and unnamed faces, so naming never changes a thumbnail
SMALL_COLOR = (170, 170, 170)  # BGR grey: a face too small to recognise
SMALL_CAPTION = "too small to recognise"
KINDS = ("face", "photo")
VERSION = "3"
"""Part of every cache key: bump it when the drawing changes, and every thumbnail is made again."""

CARD_FACES = 4
"""A card (the People page) shows up to this many faces, 2 x 2 (a single face fills it), in one
image: one request per card."""
CARD_TILE = 120
"""Each face of a card, in pixels (the card is 240 x 240)."""

_NAME = re.compile(r"^(\d+)-(face|photo)-([0-9a-f]{16})\.jpg$")
_CARD_NAME = re.compile(r"^card-(\d+(?:_\d+){0,3})-([0-9a-f]{16})\.jpg$")
_LOCKS = [threading.Lock() for _ in range(32)]
"""Two requests for the same new thumbnail: the second waits and reuses the first one's file."""


@dataclass(frozen=True)
class ThumbnailSource:
    """What a thumbnail shows (a face of a picture) and where its cached file is or will be."""

    face: FaceSource
    kind: str
    path: Path
    key: str
    small: tuple[Box, ...] = ()
    """A photo thumbnail's other faces too small to recognise (boxes in the picture's pixels)."""


@dataclass(frozen=True)
class Thumbnail:
    """A thumbnail's JPEG file. `etag` changes exactly when its pixels would;
    `made` is False when it came from the cache."""

    path: Path
    etag: str
    made: bool


@dataclass(frozen=True)
class CardSource:
    """The faces of a card and where its cached image is or will be."""

    faces: list[ThumbnailSource]
    path: Path
    key: str


@dataclass(frozen=True)
class Sweep:
    """What a sweep of the cache did: files removed (a face of theirs is gone,
    or, when verified, its photo or box changed) and, when verified, the
    thumbnails kept, each up to date, by `cache_name` ('face:12', 'photo:12',
    'card:12_15_19')."""

    removed: int
    kept: dict[str, Thumbnail] = field(default_factory=dict)


def cache_name(kind: str, face_ids: Sequence[int]) -> str:
    """How `Sweep.kept` names a thumbnail: its kind and its face(s)."""
    return f"{kind}:{'_'.join(str(i) for i in face_ids)}"


def thumbnails_dir(ctx: Context) -> Path:
    return ctx.settings.data_dir / "thumbnails"


def locate_thumbnail(ctx: Context, face_id: int, kind: str = "face") -> ThumbnailSource:
    """Which picture and box thumbnail `kind` ('face' or 'photo') of a face shows; `FaceNotFoundError` if none."""
    if kind not in KINDS:
        raise UsageError(f"no thumbnail kind {kind!r} (one of {', '.join(KINDS)})")
    found = ctx.db.library.face_sources([face_id]).get(face_id)
    if found is None:
        raise FaceNotFoundError(f"no face {face_id}")
    key = _key(found, kind)
    small: tuple[Box, ...] = ()
    if kind == "photo":  # the faces of a picture change only with it (then every id is new)
        small = tuple(f.box for f in _small_faces(ctx.db.library.picture_faces(face_id)) if f.face_id != face_id)
    return ThumbnailSource(found, kind, thumbnails_dir(ctx) / f"{face_id}-{kind}-{key}.jpg", key, small)


@dataclass(frozen=True)
class PhotoTurns:
    """The turn (degrees clockwise) that shows each picture upright: `turns[picture]`."""

    turns: dict[str, int]

    def __getitem__(self, picture: str) -> int:
        return self.turns.get(picture, 0)


def photo_turns(ctx: Context, pictures: Sequence[str]) -> PhotoTurns:
    """The turn that shows each picture upright, for whoever draws them (contact
    sheets); 0 for a picture not stored."""
    return PhotoTurns(ctx.db.library.turns(list(dict.fromkeys(pictures))) if pictures else {})


def _small_faces(faces: Sequence[PictureFace]) -> list[PictureFace]:
    return [f for f in faces if f.small]


def locate_card(ctx: Context, face_ids: Sequence[int]) -> CardSource:
    """The faces a card shows (1 to `CARD_FACES`); `FaceNotFoundError` if one is gone."""
    if not 1 <= len(face_ids) <= CARD_FACES:
        raise UsageError(f"a card shows 1 to {CARD_FACES} faces, not {len(face_ids)}")
    found = ctx.db.library.face_sources(face_ids)
    missing = [i for i in face_ids if i not in found]
    if missing:
        raise FaceNotFoundError(f"no face {missing[0]}")
    faces = []
    for face_id in face_ids:
        key = _key(found[face_id], "face")
        faces.append(ThumbnailSource(found[face_id], "face", thumbnails_dir(ctx) / f"{face_id}-face-{key}.jpg", key))
    key = _card_key([f.key for f in faces])
    name = f"card-{'_'.join(str(i) for i in face_ids)}-{key}.jpg"
    return CardSource(faces, thumbnails_dir(ctx) / name, key)


def _card_key(face_keys: Sequence[str]) -> str:
    return hashlib.sha256(f"{VERSION}|card|{'|'.join(face_keys)}".encode()).hexdigest()[:16]


def make_card(ctx: Context, card: CardSource) -> Thumbnail:
    """The cached card image (its faces 2 x 2, or its one face filling it), made first
    if needed from the faces' own thumbnails (themselves made if needed; no database)."""
    etag = f"card-{card.key}"
    if card.path.is_file():
        return Thumbnail(card.path, etag, made=False)
    tiles = [cv2.imread(str(make_thumbnail(ctx, face).path)) for face in card.faces]
    with _LOCKS[hash(card.path) % len(_LOCKS)]:
        if card.path.is_file():
            return Thumbnail(card.path, etag, made=False)
        mosaic = np.full((2 * CARD_TILE, 2 * CARD_TILE, 3), 227, np.uint8)
        per_side = 1 if len(tiles) == 1 else 2  # one face fills the card, not a quarter of it
        tile_side = 2 * CARD_TILE // per_side
        for n, tile in enumerate(tiles):
            if tile is None:  # a face thumbnail removed meanwhile: its place stays grey
                continue
            r, c = divmod(n, per_side)
            inner = tile_side - 2
            small = cv2.resize(
                tile, (inner, inner), interpolation=cv2.INTER_AREA if inner < tile.shape[0] else cv2.INTER_LINEAR
            )
            mosaic[r * tile_side + 1 : (r + 1) * tile_side - 1, c * tile_side + 1 : (c + 1) * tile_side - 1] = small
        make_private_dir(card.path.parent)
        save_private_image(card.path, mosaic, quality=85)
    return Thumbnail(card.path, etag, made=True)


def _key(face: FaceSource, kind: str) -> str:
    """What the thumbnail shows, hashed: a new photo, box or drawing gives a new file."""
    b = face.box
    shown = f"{VERSION}|{kind}|{face.picture}|{face.sha256}|{b.x},{b.y},{b.w},{b.h}|{face.turn}|{face.small}"
    return hashlib.sha256(shown.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def make_thumbnail(ctx: Context, source: ThumbnailSource) -> Thumbnail:
    """The cached thumbnail, made first if needed (reads the photo; no database).
    `ImageError` if the photo can no longer be read."""
    etag = f"{source.face.face_id}-{source.key}"
    if source.path.is_file():
        return Thumbnail(source.path, etag, made=False)
    with _LOCKS[hash(source.path) % len(_LOCKS)]:
        if source.path.is_file():
            return Thumbnail(source.path, etag, made=False)
        pixels = _render(source)
        make_private_dir(source.path.parent)
        save_private_image(source.path, pixels, quality=85)
        _remove_older(source)
    return Thumbnail(source.path, etag, made=True)


def sweep_thumbnails(ctx: Context, verify: bool = False) -> Sweep:
    """Remove the cached thumbnails of faces that are no longer stored (and
    stray files). `verify`: also those whose photo or box changed, and list
    the ones kept (one query for the whole cache)."""
    folder = thumbnails_dir(ctx)
    try:
        files = [p for p in folder.iterdir() if p.is_file()]
    except FileNotFoundError:
        return Sweep(0)
    cached: list[tuple[Path, str, list[int], str]] = []  # path, kind, faces, key
    gone = []
    for path in files:
        single, card = _NAME.match(path.name), _CARD_NAME.match(path.name)
        if single:
            cached.append((path, single.group(2), [int(single.group(1))], single.group(3)))
        elif card:
            cached.append((path, "card", [int(i) for i in card.group(1).split("_")], card.group(2)))
        else:
            gone.append(path)
    ids = sorted({i for _, _, faces, _ in cached for i in faces})
    queries = ctx.db.library
    kept: dict[str, Thumbnail] = {}
    if verify:
        sources = queries.face_sources(ids) if ids else {}
        for path, kind, faces, key in cached:
            if any(i not in sources for i in faces):
                gone.append(path)
                continue
            if kind == "card":
                current, tag = _card_key([_key(sources[i], "face") for i in faces]), f"card-{key}"
            else:
                current, tag = _key(sources[faces[0]], kind), f"{faces[0]}-{key}"
            if current != key:
                gone.append(path)
            else:
                kept[cache_name(kind, faces)] = Thumbnail(path, tag, made=False)
    else:
        alive = queries.existing_faces(ids) if ids else set()
        gone += [path for path, _, faces, _ in cached if any(i not in alive for i in faces)]
    for path in gone:
        path.unlink(missing_ok=True)
    if gone:
        log.info("removed %d thumbnail(s) of faces no longer stored or changed", len(gone))
    return Sweep(len(gone), kept)


def _remove_older(source: ThumbnailSource) -> None:
    """Thumbnails of the same face and kind made before its photo changed."""
    for old in source.path.parent.glob(f"{source.face.face_id}-{source.kind}-*.jpg"):
        if old != source.path:
            old.unlink(missing_ok=True)


def _render(source: ThumbnailSource) -> Image:
    face = source.face
    if source.kind == "face":
        reduce_to = _face_decode_side(face.box, face.width, face.height)
    else:
        reduce_to = PHOTO_SIDE
    image = _load(face, reduce_to)
    h, w = image.pixels.shape[:2]
    pixels = turn_image(image.pixels, face.turn)

    def upright(b: Box) -> Box:  # original coordinates -> the decoded pixels, turned upright
        k = 1.0 / image.scale
        box = Box(int(b.x * k), int(b.y * k), max(1, int(b.w * k)), max(1, int(b.h * k)))
        return face_upright(Face(box, 1.0), face.turn, w, h).box

    if source.kind == "face":
        return face_tile(pixels, upright(face.box))
    small = [upright(b) for b in source.small]
    return boxed_photo(pixels, upright(face.box), small=small, this_small=face.small)


def _load(face: FaceSource, reduce_to: int | None) -> LoadedImage:
    """The face's photo, or for a face of a video clip the frame it was found in."""
    path = Path(key_path(face.picture))
    if face.t_seconds is None:
        return load_image(path, reduce_to=reduce_to)
    from facerec.video.decode import frame_at  # PyAV: only for a clip

    frame = frame_at(path, face.t_seconds)
    return LoadedImage(path, frame, face.sha256 or "", 0, frame.shape[1], frame.shape[0])


def _face_decode_side(box: Box, width: int | None, height: int | None) -> int | None:
    """How small a JPEG may be decoded while the face keeps `FACE_SIZE` pixels."""
    if not width or not height:
        return None
    side = max(box.w, box.h) * (1 + 2 * FACE_MARGIN)
    if side <= 0:
        return None
    return max(FACE_SIZE, int(min(width, height) * FACE_SIZE / side) + 1)


def face_tile(pixels: Image, box: Box, size: int = FACE_SIZE) -> Image:
    """A square crop around the face, scaled (up for a small photo) to `size` x `size`.

    `FACE_MARGIN` around the face where the photo has room for it; in a small
    photo, or with the face near an edge, the margin shrinks and the square
    slides to stay inside the photo, so the face fills the tile (a face taller
    than the photo is wide loses a little forehead and chin, never its width).
    Grey only where the face itself leaves the photo."""
    h, w = pixels.shape[:2]
    face_side = max(box.w, box.h)
    side = max(min(box.w, box.h), min(face_side * (1 + 2 * FACE_MARGIN), w, h))
    s = max(1, int(round(side)))
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    x0, y0 = int(round(cx - s / 2)), int(round(cy - s / 2))
    if s <= w:
        x0 = min(max(x0, 0), w - s)
    if s <= h:
        y0 = min(max(y0, 0), h - s)
    tile = np.full((s, s, 3), 200, np.uint8)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + s), min(h, y0 + s)
    if sx1 > sx0 and sy1 > sy0:
        tile[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = pixels[sy0:sy1, sx0:sx1]
    interpolation = cv2.INTER_AREA if s > size else cv2.INTER_LINEAR
    return cv2.resize(tile, (size, size), interpolation=interpolation)


def boxed_photo(
    pixels: Image, box: Box, side: int = PHOTO_SIDE, small: Sequence[Box] = (), this_small: bool = False
) -> Image:
    """The photo with its longer side `side` (never enlarged) and the face boxed; the
    faces too small to recognise (`small`, and the face itself when `this_small`)
    boxed thin in grey, with a caption saying what the grey boxes are."""
    h, w = pixels.shape[:2]
    f = min(1.0, side / max(h, w))
    shown = cv2.resize(pixels, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    shown = np.ascontiguousarray(shown)
    thickness = max(2, int(round(max(shown.shape[:2]) / 200)))
    for b in small:
        _rectangle(shown, b, f, SMALL_COLOR, 1)
    _rectangle(shown, box, f, SMALL_COLOR if this_small else BOX_COLOR, thickness)
    if small or this_small:
        size = 12
        width = text.text_width(SMALL_CAPTION, size) + 8
        top = shown.shape[0] - text.line_height(size) - 4
        cv2.rectangle(shown, (0, top), (width, shown.shape[0]), (40, 40, 40), cv2.FILLED)
        text.draw_text(shown, SMALL_CAPTION, 4, top + 2, size, SMALL_COLOR)
    return shown


def _rectangle(pixels: Image, box: Box, f: float, color: tuple[int, int, int], thickness: int) -> None:
    x0, y0 = int(box.x * f), int(box.y * f)
    x1, y1 = int((box.x + box.w) * f), int((box.y + box.h) * f)
    cv2.rectangle(pixels, (x0, y0), (x1, y1), color, thickness)
