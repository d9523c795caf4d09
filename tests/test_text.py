"""Text in any script on frames and contact sheets (TrueType through Pillow, with per-character fallback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from facerec.types import Box
from facerec.ui.sheets import CAPTION, CAPTION_LEFT, CAPTION_SIZE, CAPTION_TOP, TILE, Tile, caption_lines, make_sheet
from facerec.video import overlay, text
from tests.helpers import PROJECT, FaceSet, skip_or_fail

NAME = "Zoë Ñuñez Жанна"


def font_rendering(line: str, size: int, width: int, height: int, x: int, y: int) -> np.ndarray:
    """`line` drawn by Pillow with DejaVu Sans directly, black on white, top-left at (x, y)."""
    path = text.primary_font()
    assert path is not None and path.name == "DejaVuSans.ttf"
    font = ImageFont.truetype(str(path), size)
    canvas = Image.new("L", (width, height), 255)
    ascent, _ = font.getmetrics()
    ImageDraw.Draw(canvas).text((x, y + ascent), line, font=font, fill=0, anchor="ls")
    return np.asarray(canvas, dtype=np.float32)


def test_the_first_font_is_dejavu_sans_found_without_importing_matplotlib():
    probe = (
        "import sys\n"
        "from facerec.video import text\n"
        "print(text.primary_font())\n"
        "text.render('Zoë', 14)\n"
        "print('matplotlib' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT)
    assert r.returncode == 0, r.stderr
    path, imported = r.stdout.split()
    assert path.endswith("mpl-data/fonts/ttf/DejaVuSans.ttf") and imported == "False"


def test_latin_greek_and_cyrillic_come_from_the_first_font_and_other_scripts_fall_back():
    assert text.runs("Zoë Ñuñez Жанна Αλέξης") == ((0, "Zoë Ñuñez Жанна Αλέξης"),)
    pieces = text.runs("Li 中文 ok")
    assert [p for _, p in pieces] == ["Li ", "中文", " ok"]
    assert pieces[1][0] != 0  # another font of the chain has (or stands in for) these glyphs
    assert text.font_chain()[pieces[1][0]].has("中")


def test_a_character_no_font_has_is_never_a_question_mark():
    for char in ("中", "\U0001f600", "\u0e01"):  # CJK, an emoji, Thai
        drawn = text.render(char, 20).mask
        question = text.render("?", 20).mask
        assert drawn.max() > 0, char  # something is drawn...
        same_size = drawn.shape == question.shape and np.array_equal(drawn, question)
        assert not same_size, char  # ...and it is not a question mark


def test_a_name_in_several_scripts_is_drawn_on_a_contact_sheet_exactly_as_the_font_draws_it(
    faces: FaceSet, tmp_path: Path
):
    photo = faces.people()["deepface_scarlett"][0]
    tile = Tile(str(photo), Box(10, 10, 80, 80), "distance 0.123", NAME)
    sheet = make_sheet([tile], tmp_path / "sheet.jpg")
    pixels = cv2.imread(str(sheet.path), cv2.IMREAD_GRAYSCALE).astype(np.float32)
    caption = pixels[TILE : TILE + CAPTION, 0:TILE]
    first = caption_lines(tile)[0]
    assert first == f"{NAME}  distance 0.123"
    rows = slice(0, CAPTION_TOP + text.line_height(CAPTION_SIZE))

    def difference(line: str) -> float:
        expected = font_rendering(line, CAPTION_SIZE, TILE, CAPTION, CAPTION_LEFT, CAPTION_TOP)
        return float(np.mean(np.abs(caption[rows] - expected[rows])))

    right = difference(first)
    with_question_marks = difference("Zo? ?u?ez ?????  distance 0.123")
    assert right < 3.0, right  # the same pixels, up to JPEG noise
    assert with_question_marks > 3 * right + 3.0, (right, with_question_marks)
    # OpenCV's Hershey font (the old way) gives other pixels too.
    hershey = np.full((CAPTION, TILE), 255, np.uint8)
    cv2.putText(hershey, first, (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, 0, 1, cv2.LINE_AA)
    assert float(np.mean(np.abs(caption[rows] - hershey[rows].astype(np.float32)))) > 3 * right + 3.0


def test_a_name_above_a_face_box_in_the_live_window_is_the_fonts_rendering():
    frame = np.full((240, 320, 3), 90, np.uint8)
    overlay.draw_face(frame, Box(100, 100, 80, 80), NAME, 0.31)
    x, y, w, h = text.draw_label(frame.copy(), f"{NAME} 0.31", 100, 98, overlay.LABEL_SIZE, overlay.KNOWN_COLOR)
    label = frame[y : y + h, x : x + w]
    mask = text.render(f"{NAME} 0.31", overlay.LABEL_SIZE).mask.astype(np.float32)
    ink = label[1 : 1 + mask.shape[0], 3 : 3 + mask.shape[1], 1].astype(np.float32)  # green channel
    expected = overlay.KNOWN_COLOR[1] + (255 - overlay.KNOWN_COLOR[1]) * mask[:, : ink.shape[1]] / 255.0
    assert float(np.max(np.abs(ink - expected[: ink.shape[0]]))) <= 1.0
    assert mask.max() == 255 and (mask > 128).sum() > 100


CJK_NAMES = ("王小明", "山田太郎")  # Chinese, Japanese


def installed_fonts_with(chars: str) -> list[tuple[Path, int]]:
    """Every scalable font fontconfig knows with a glyph for each of `chars` (the test's own look-up)."""
    charset = " ".join(f"{ord(c):x}" for c in sorted(set(chars)))
    try:
        r = subprocess.run(
            ["fc-list", "--format", "%{file}\t%{index}\n", f":charset={charset}:scalable=true"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except FileNotFoundError:
        return []
    out = []
    for line in r.stdout.splitlines():
        path, _, index = line.partition("\t")
        if path.endswith((".ttf", ".otf", ".ttc", ".otc")):
            out.append((Path(path), int(index or 0)))
    return out


def label_difference(ink: np.ndarray, line: str, font: ImageFont.FreeTypeFont, baseline: int) -> np.ndarray:
    """|window label - `line` drawn by `font` itself| per pixel, green channel (the known colour's ink)."""
    canvas = Image.new("L", (ink.shape[1], ink.shape[0]), 0)
    ImageDraw.Draw(canvas).text((0, baseline), line, font=font, fill=255, anchor="ls")
    expected = overlay.KNOWN_COLOR[1] + (255 - overlay.KNOWN_COLOR[1]) * np.asarray(canvas, np.float32) / 255.0
    return np.abs(ink - expected)


def test_chinese_and_japanese_names_in_the_live_window_are_drawn_with_an_installed_cjk_font_not_boxes():
    fonts = installed_fonts_with("".join(CJK_NAMES))
    if not fonts:
        skip_or_fail("no CJK font installed (apt-get install fonts-droid-fallback)")
    last_resort_path = next(f.path for f in text.font_chain() if f.covers_everything)
    last_resort = ImageFont.truetype(str(last_resort_path), overlay.LABEL_SIZE)
    for name in CJK_NAMES:
        frame = np.full((240, 320, 3), 90, np.uint8)
        overlay.draw_face(frame, Box(100, 100, 80, 80), name, None)
        x, y, w, h = text.draw_label(frame.copy(), name, 100, 98, overlay.LABEL_SIZE, overlay.KNOWN_COLOR)
        rendered = text.render(name, overlay.LABEL_SIZE)
        ink = frame[y + 1 : y + 1 + rendered.height, x + 3 : x + 3 + rendered.width, 1].astype(np.float32)
        own = {
            path: float(
                label_difference(
                    ink, name, ImageFont.truetype(str(path), overlay.LABEL_SIZE, index=i), rendered.baseline
                ).max()
            )
            for path, i in fonts
        }
        assert min(own.values()) <= 1.0, (name, own)  # exactly one installed font's own glyphs
        boxes = float(label_difference(ink, name, last_resort, rendered.baseline).mean())
        assert boxes > 10, (name, boxes)  # not Last Resort's boxes
        assert (rendered.mask > 128).sum() > 40, name


def test_without_fontconfig_fonts_are_looked_for_at_the_usual_paths(tmp_path: Path):
    probe = (
        "from facerec.video import text\n"
        "assert text._fontconfig() is None\n"
        "runs = text.runs('Zoë 王小明')\n"
        "assert runs[0] == (0, 'Zoë '), runs\n"
        "font = text.font_chain()[runs[1][0]]\n"
        "assert text.render('Zoë 王小明', 20).mask.max() == 255\n"
        "print(font.path)\n"
    )
    env = {**os.environ, "PATH": str(tmp_path), "PYTHONPATH": str(PROJECT)}  # no fc-match on PATH
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT, env=env)
    assert r.returncode == 0, r.stderr
    fixed = [Path(p) for p in text.SYSTEM_FONTS if Path(p).is_file() and text.FontFile(Path(p)).has("王")]
    last_resort = next(f.path for f in text.font_chain() if f.covers_everything)
    assert Path(r.stdout.strip()) == (fixed[0] if fixed else last_resort)
