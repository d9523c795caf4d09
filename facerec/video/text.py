"""Text on images in any script: every label of the live window, the
registration window, contact sheets and charts goes through here.

OpenCV's own fonts (Hershey) have ASCII glyphs only: "Zoë" came out as
`Zo??`. This module draws with FreeType through Pillow, from a chain of
TrueType fonts, choosing the font per character:

1. DejaVu Sans, from inside the `matplotlib` package (Latin, Greek, Cyrillic,
   and many symbols). Its file is found without importing matplotlib, which
   would write a font cache into HOME.
2. For a character it lacks, any installed font that has it, asked of
   fontconfig (`fc-match`, once per character, cached): 王小明 is drawn with
   Noto Sans CJK, Droid Sans Fallback or whatever CJK font is installed.
   Without fontconfig, a fixed list of usual system paths stands in.
3. matplotlib's STIX (mathematical symbols) and Last Resort fonts: Last Resort
   has a glyph for every code point (a box naming its Unicode block), so a
   character no font covers still never becomes a question mark. A box means
   no installed font has that character: install one (`fonts-noto-cjk` or
   `fonts-droid-fallback` for Chinese and Japanese).

Rendered labels are cached (a name is drawn on every frame).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import shutil
import subprocess
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from facerec.types import Image

log = logging.getLogger(__name__)

Color = tuple[int, int, int]
"""BGR, as OpenCV images are."""

SYSTEM_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
"""Fallbacks looked for on the system when fontconfig (`fc-match`) is not installed,
in this order (those that exist are used)."""

FONTCONFIG_CANDIDATES = 3
"""How many of fontconfig's best matches for a character are checked for its glyph.
Fontconfig ranks coverage of the character above the family, so if none of the
first few has it, no scalable font installed does."""
FONTCONFIG_TIMEOUT = 10.0

LAST_RESORT = "LastResortHE-Regular.ttf"
ELLIPSIS = "\u2026"


def _matplotlib_fonts() -> Path | None:
    """matplotlib's bundled TrueType folder, located without importing matplotlib."""
    try:
        spec = importlib.util.find_spec("matplotlib")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"
    return folder if folder.is_dir() else None


@dataclass(frozen=True)
class FontFile:
    """One font of the chain: its file and, for a collection (.ttc), which face."""

    path: Path
    index: int = 0
    covers_everything: bool = False
    after_system: bool = False
    """A bundled fallback (STIX, Last Resort): tried only after the system's fonts."""

    @functools.cached_property
    def codepoints(self) -> frozenset[int]:
        """The characters this font has a glyph for (read from its cmap table)."""
        if self.covers_everything:
            return frozenset()
        from fontTools.ttLib import TTFont  # imported here: only needed for a character the first font lacks

        try:
            with TTFont(str(self.path), fontNumber=self.index, lazy=True) as font:
                return frozenset(font.getBestCmap() or {})
        except Exception as exc:  # a broken font file must not stop drawing
            log.debug("cannot read the character map of %s: %s", self.path, exc)
            return frozenset()

    def has(self, char: str) -> bool:
        return self.covers_everything or ord(char) in self.codepoints


@functools.cache
def _fontconfig() -> str | None:
    """The `fc-match` program, or None where fontconfig's tools are not installed."""
    return shutil.which("fc-match")


@functools.cache
def _base_chain() -> tuple[FontFile, ...]:
    """The fonts known before any character is looked up: DejaVu Sans, the fixed
    system list (only without fontconfig), then the bundled fallbacks."""
    chain: list[FontFile] = []
    bundled = _matplotlib_fonts()
    if bundled is not None and (bundled / "DejaVuSans.ttf").is_file():
        chain.append(FontFile(bundled / "DejaVuSans.ttf"))
    if _fontconfig() is None:
        log.debug("fontconfig (fc-match) not found: looking for fallback fonts at fixed paths")
        for name in SYSTEM_FONTS:
            if Path(name).is_file():
                chain.append(FontFile(Path(name)))
    if bundled is not None:
        if (bundled / "STIXGeneral.ttf").is_file():
            chain.append(FontFile(bundled / "STIXGeneral.ttf", after_system=True))
        if (bundled / LAST_RESORT).is_file():
            chain.append(FontFile(bundled / LAST_RESORT, covers_everything=True, after_system=True))
    if not chain:
        log.warning("no TrueType font found (install matplotlib): text is drawn with Pillow's basic font")
    return tuple(chain)


_found: list[FontFile] = []
"""Fonts fontconfig found for characters the first font lacks, in the order first needed
(appended only, so a font's index in `font_chain()` never changes)."""
_found_lock = threading.Lock()


def font_chain() -> tuple[FontFile, ...]:
    """Every font text may be drawn with, indexed as `runs` refers to them: the
    fonts known from the start, then those fontconfig found since."""
    return _base_chain() + tuple(_found)


def _usable(font: FontFile, char: str) -> bool:
    """`font` has a glyph for `char` and FreeType (through Pillow) can draw it at any size."""
    if font.path.suffix.lower() not in (".ttf", ".otf", ".ttc", ".otc") or not font.has(char):
        return False
    try:
        ImageFont.truetype(str(font.path), 20, index=font.index)
    except OSError as exc:  # e.g. a bitmap-only colour emoji font
        log.debug("cannot draw with %s: %s", font.path, exc)
        return False
    return True


def _fontconfig_font(char: str) -> FontFile | None:
    """An installed font with a glyph for `char`, as fontconfig ranks them
    (scalable, not colour), or None (none has it, or no fontconfig)."""
    program = _fontconfig()
    if program is None:
        return None
    pattern = f":charset={ord(char):x}:scalable=true:color=false"
    try:
        result = subprocess.run(
            [program, "--sort", "--format", "%{file}\t%{index}\n", pattern],
            capture_output=True,
            text=True,
            timeout=FONTCONFIG_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("fc-match failed for U+%04X: %s", ord(char), exc)
        return None
    if result.returncode != 0:
        log.debug("fc-match failed for U+%04X: %s", ord(char), result.stderr.strip())
        return None
    seen: set[tuple[str, int]] = set()
    for line in result.stdout.splitlines():
        path, _, index = line.partition("\t")
        key = (path, int(index) if index.strip().isdigit() else 0)
        if not path or key in seen:
            continue
        seen.add(key)
        font = FontFile(Path(path), key[1])
        if _usable(font, char):
            return font
        if len(seen) >= FONTCONFIG_CANDIDATES:
            break
    return None


def _system_font_for(char: str) -> int | None:
    """Index in `font_chain()` of an installed font with `char`: one fontconfig
    already found, else a new one it finds now."""
    base = len(_base_chain())
    for i, f in enumerate(_found):
        if f.has(char):
            return base + i
    found = _fontconfig_font(char)
    if found is None:
        return None
    with _found_lock:
        for i, f in enumerate(_found):
            if (f.path, f.index) == (found.path, found.index):
                return base + i
        _found.append(found)
        log.debug("drawing U+%04X (and more) with %s", ord(char), found.path)
        return base + len(_found) - 1


def primary_font() -> Path | None:
    """The file of the first-choice font (DejaVu Sans), or None without one."""
    chain = font_chain()
    return chain[0].path if chain else None


@functools.lru_cache(maxsize=64)
def _font(index: int, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    chain = font_chain()
    if not chain:
        return ImageFont.load_default()
    f = chain[index]
    return ImageFont.truetype(str(f.path), size, index=f.index)


@functools.lru_cache(maxsize=4096)
def _font_for(char: str) -> int:
    """Index in the chain of the first font with a glyph for `char` (0 if none has one)."""
    chain = _base_chain()
    if unicodedata.category(char) in ("Mn", "Me", "Cf") or char in " \t":
        return 0  # combining marks and format characters stay with the text around them
    for i, f in enumerate(chain):
        if not f.after_system and f.has(char):
            return i
    system = _system_font_for(char)
    if system is not None:
        return system
    for i, f in enumerate(chain):
        if f.after_system and f.has(char):
            return i
    return 0


@functools.lru_cache(maxsize=1024)
def runs(text: str) -> tuple[tuple[int, str], ...]:
    """`text` cut into pieces that one font draws: (font index, piece)."""
    out: list[tuple[int, str]] = []
    for char in text:
        index = _font_for(char)
        if unicodedata.category(char) in ("Mn", "Me", "Cf") and out:
            index = out[-1][0]
        if out and out[-1][0] == index:
            out[-1] = (index, out[-1][1] + char)
        else:
            out.append((index, char))
    return tuple(out)


@dataclass(frozen=True)
class Rendered:
    """A line of text as coverage (0..255), `baseline` pixels below its top."""

    mask: np.ndarray
    baseline: int
    alpha: np.ndarray
    """`mask` as float32 coverage 0..1, H x W x 1 (what blending needs)."""

    @property
    def width(self) -> int:
        return int(self.mask.shape[1])

    @property
    def height(self) -> int:
        return int(self.mask.shape[0])


def _metrics(indexes: Iterable[int], size: int) -> tuple[int, int]:
    ascent, descent = 0, 0
    for i in set(indexes) | {0}:
        font = _font(i, size)
        if isinstance(font, ImageFont.FreeTypeFont):
            a, d = font.getmetrics()
        else:
            a, d = size, 0
        ascent, descent = max(ascent, a), max(descent, d)
    return ascent, descent


@functools.lru_cache(maxsize=1024)
def text_width(text: str, size: int) -> int:
    """Width in pixels of `text` drawn at `size`."""
    return int(round(sum(_font(i, size).getlength(piece) for i, piece in runs(text))))


@functools.lru_cache(maxsize=64)
def line_height(size: int) -> int:
    """Height in pixels of a line of text at `size` (first font's ascent + descent)."""
    ascent, descent = _metrics([0], size)
    return ascent + descent


@functools.lru_cache(maxsize=512)
def render(text: str, size: int) -> Rendered:
    """`text` drawn in white on black at `size` pixels (the font size), each
    character in the first font of the chain that has it."""
    pieces = runs(text)
    ascent, descent = _metrics((i for i, _ in pieces), size)
    width = max(1, text_width(text, size) + 2)
    canvas = PILImage.new("L", (width, ascent + descent), 0)
    draw = ImageDraw.Draw(canvas)
    x = 0.0
    for i, piece in pieces:
        font = _font(i, size)
        draw.text((x, ascent), piece, font=font, fill=255, anchor="ls")
        x += font.getlength(piece)
    mask = np.asarray(canvas, dtype=np.uint8)
    return Rendered(mask, ascent, (mask.astype(np.float32) / 255.0)[..., None])


@functools.lru_cache(maxsize=256)
def fit(text: str, size: int, max_width: int) -> str:
    """`text`, shortened with an ellipsis if needed to fit `max_width` pixels."""
    if text_width(text, size) <= max_width:
        return text
    while text and text_width(text + ELLIPSIS, size) > max_width:
        text = text[:-1]
    return text + ELLIPSIS


def draw_text(image: Image, text: str, x: int, y: int, size: int, color: Color) -> tuple[int, int]:
    """Draw `text` with its top-left corner at (x, y), clipped to the image;
    returns its (width, height)."""
    if not text:
        return 0, 0
    r = render(text, size)
    h, w = image.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(w, x + r.width), min(h, y + r.height)
    if x1 <= x0 or y1 <= y0:
        return r.width, r.height
    alpha = r.alpha[y0 - y : y1 - y, x0 - x : x1 - x]
    region = image[y0:y1, x0:x1].astype(np.float32)
    ink = np.array(color, np.float32)
    image[y0:y1, x0:x1] = (region * (1.0 - alpha) + ink * alpha + 0.5).astype(np.uint8)
    return r.width, r.height


def draw_label(
    image: Image, text: str, x: int, y: int, size: int, background: Color, color: Color = (255, 255, 255), pad: int = 3
) -> tuple[int, int, int, int]:
    """`text` on a filled box whose bottom-left corner is at (x, y), moved to stay
    inside the image; returns the box (x, y, w, h)."""
    r = render(text, size)
    h, w = image.shape[:2]
    bw, bh = r.width + 2 * pad, r.height + pad
    bx = max(0, min(x, w - bw))
    by = max(0, min(y - bh, h - bh))
    cv2.rectangle(image, (bx, by), (bx + bw - 1, by + bh - 1), background, cv2.FILLED)
    draw_text(image, text, bx + pad, by + pad // 2, size, color)
    return bx, by, bw, bh
