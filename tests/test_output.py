"""What commands say: index of an empty, missing or single path, delete, --help,
tables with wide names, the script without its virtual environment, the
evaluate chart and the people contact sheet."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from facerec.ui.console import display_width
from facerec.ui.parser import build_parser
from facerec.ui.plot import COLORS, MARKER_COLORS, line_chart, nice_ticks
from facerec.ui.sheets import (
    CAPTION,
    CAPTION_LEFT,
    CAPTION_LINE,
    CAPTION_SIZE,
    CAPTION_TOP,
    CROP_MARGIN,
    HEADING,
    HEADING_SIZE,
    TILE,
)
from facerec.video import text
from tests.helpers import CLI, PROJECT, FaceSet, count

INSTALL = "python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt"


def copy_people(faces: FaceSet, folder: Path, people: dict[str, int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for person, n in people.items():
        for photo in faces.people()[person][:n]:
            shutil.copy(photo, folder / f"{person}_{photo.name}")
    return folder


@pytest.fixture
def cli(cli: CLI) -> CLI:
    """Real processes here: what a command prints and its exit status, as a user's shell sees them
    (the other tests run the same `main` in the test process: see `tests.helpers.CLI`)."""
    cli.in_process = False
    return cli


# -- index ------------------------------------------------------------------------------


def test_index_of_a_folder_without_photos_says_so(cli: CLI, tmp_path: Path):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("no photos here")
    r = cli("index", str(empty))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"no photos found under {empty}"


def test_index_of_a_missing_folder_is_an_error_and_indexes_nothing(cli: CLI, faces: FaceSet, db, tmp_path: Path):
    good = copy_people(faces, tmp_path / "good", {"barack_obama": 1})
    missing = tmp_path / "missing"
    r = cli("index", str(good), str(missing))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [f"facerec: {missing}: no such folder or file; nothing indexed"]
    assert "seen" not in r.stdout
    assert count(db, "SELECT count(*) FROM pictures") == 0
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    r = cli("index", str(notes))
    assert r.returncode == 1 and "not a folder or a photo" in r.stderr


def test_index_of_a_single_photo_indexes_it(cli: CLI, faces: FaceSet, db):
    photo = faces.photo("groups/fr_two_people.jpg")
    r = cli("--json", "index", str(photo))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert (summary["seen"], summary["indexed"], summary["faces"]) == (1, 1, 2)
    assert count(db, "SELECT count(*) FROM pictures WHERE indexed_at IS NOT NULL") == 1


# -- delete -----------------------------------------------------------------------------


def test_delete_says_how_many_crops_it_removed_and_that_photos_were_not_touched(cli: CLI, faces: FaceSet, tmp_path):
    photos = [shutil.copy(p, tmp_path) for p in faces.people()["joe_biden"][:2]]
    assert cli("register", "Joe", *map(str, photos)).returncode == 0
    r = cli("users", "delete", "Joe", "--yes")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "deleted 'Joe'; removed 2 stored face crops; your photos were not touched"
    assert all(Path(p).is_file() for p in photos)


# -- --help -----------------------------------------------------------------------------


def _parsers(parser: argparse.ArgumentParser, name: str = "") -> list[tuple[str, argparse.ArgumentParser]]:
    out = [(name, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, p in action.choices.items():
                out += _parsers(p, f"{name} {sub}".strip())
    return out


def test_help_describes_every_positional_argument_and_shows_an_example_for_every_command():
    parsers = _parsers(build_parser("facerec"))
    assert len(parsers) > 20
    for name, parser in parsers:
        for action in parser._actions:
            if not action.option_strings and not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"{name}: positional {action.dest!r} has no help line"
        assert parser.epilog and parser.epilog.startswith("example"), name
        assert "facerec" in parser.epilog, name


def test_help_output_lists_the_arguments_and_the_example(cli: CLI):
    r = cli("register", "--help")
    assert r.returncode == 0
    assert "the person's name" in r.stdout and "photos with the person's face" in r.stdout
    assert "face_recognition.py register 'Barack Obama' obama1.jpg obama2.jpg" in r.stdout
    r = cli("people", "name", "--help")
    assert "a group number (from 'people')" in r.stdout and "people name 12 'Barack Obama'" in r.stdout


# -- tables -------------------------------------------------------------------------------


def test_the_users_table_lines_up_names_with_wide_characters(cli: CLI, faces: FaceSet):
    photo = str(faces.people()["deepface_scarlett"][0])
    for name, person in (("王小明", "deepface_scarlett"), ("Zoë 😀", "deepface_jennifer"), ("Bob", "deepface_mark")):
        assert cli("register", name, str(faces.people()[person][0])).returncode == 0, name
    assert photo
    r = cli("users")
    lines = r.stdout.splitlines()
    assert len(lines) == 4
    columns = set()
    for line in lines:
        at = re.search(r"REGISTERED|\d{4}-\d\d-\d\d", line)
        assert at is not None, line
        columns.add(display_width(line[: at.start()]))
    assert len(columns) == 1, lines  # the REGISTERED column starts at one terminal column on every line
    assert display_width("王小明") == 6 and display_width("Zoë 😀") == 6


# -- the script without its virtual environment ---------------------------------------


def test_the_script_without_its_packages_says_how_to_install_in_one_line(tmp_path: Path):
    # -S: no site-packages, as with a system Python outside the virtual environment.
    r = subprocess.run(
        [sys.executable, "-S", str(PROJECT / "face_recognition.py"), "users"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 1
    (line,) = r.stderr.strip().splitlines()
    assert "is not installed" in line and line.endswith(f"install with: {INSTALL}")
    assert "Traceback" not in r.stderr
    readme = (PROJECT / "README.md").read_text()
    assert f"Install: `{INSTALL}`" in readme  # the same command as the README's


# -- the evaluate chart -------------------------------------------------------------------


def test_chart_ticks_are_round_values():
    assert nice_ticks(0.2, 0.9, 8) == [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert nice_ticks(0.0, 1.0, 11) == [round(0.1 * i, 10) for i in range(11)]
    assert nice_ticks(0.23, 0.87, 6) == [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    assert nice_ticks(3, 97, 5) == [20, 40, 60, 80]


def test_the_chart_marks_the_threshold_in_use_and_labels_its_lines(tmp_path: Path):
    xs = [round(0.2 + 0.01 * i, 2) for i in range(71)]
    series = {"identification rate": [min(1.0, x) for x in xs], "false-accept rate": [max(0.0, x - 0.6) for x in xs]}
    markers = {"threshold in use: 0.57": 0.57, "at most 1% false accepts: 0.65": 0.65}
    chart = line_chart(tmp_path / "c.png", "sweep", xs, series, "threshold", "rate", markers)
    image = cv2.imread(str(chart.path))
    assert chart.x_ticks == [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert set(chart.markers) == set(markers)
    for k, (label, column) in enumerate(chart.markers.items()):
        strip = image[60:400, column - 1 : column + 2]
        dashed = np.all(np.abs(strip.astype(int) - np.array(MARKER_COLORS[k])) <= 10, axis=2).any(axis=1)
        assert dashed.sum() > 100, label  # a dashed line from top to bottom at the marker's x
        assert _drawn(image, label, 13, MARKER_COLORS[k]), label
    for k, name in enumerate(series):
        assert _drawn(image, name, 14, COLORS[k]), name  # the legend names each line in its colour
    assert chart.markers["threshold in use: 0.57"] < chart.markers["at most 1% false accepts: 0.65"]


def _drawn(image: np.ndarray, line: str, size: int, color: tuple[int, int, int]) -> bool:
    patch = np.full((text.line_height(size), text.text_width(line, size) + 2, 3), 255, np.uint8)
    text.draw_text(patch, line, 0, 0, size, color)
    return float(cv2.matchTemplate(image, patch, cv2.TM_SQDIFF_NORMED).min()) < 0.01


# -- the people contact sheet -----------------------------------------------------------


def test_the_people_sheet_has_a_section_per_group_and_face_tiles_labelled_with_photo_and_face_id(
    cli: CLI, faces: FaceSet, tmp_path: Path
):
    folder = copy_people(faces, tmp_path / "album", {"deepface_jennifer": 3, "deepface_mark": 3})
    assert cli("index", str(folder)).returncode == 0
    r = cli("--json", "people", "--export", str(tmp_path / "sheets"))
    assert r.returncode == 0, r.stderr
    groups = [json.loads(line) for line in r.stdout.splitlines()]
    assert [len(g["faces"]) for g in groups] == [3, 3]
    (sheet_path,) = (tmp_path / "sheets").iterdir()
    sheet = cv2.imread(str(sheet_path))
    assert sheet.shape == (2 * HEADING + 2 * (TILE + CAPTION), 3 * TILE, 3)  # 2 sections of one row of 3
    grey = cv2.cvtColor(sheet, cv2.COLOR_BGR2GRAY).astype(np.float32)
    telling = 0
    for s, g in enumerate(groups):
        top = s * (HEADING + TILE + CAPTION)
        heading = f"group {g['group']}: 3 faces"
        assert grey[top : top + HEADING].mean() < 110  # a dark heading bar...
        patch = np.full((text.line_height(HEADING_SIZE), text.text_width(heading, HEADING_SIZE) + 2, 3), 60, np.uint8)
        text.draw_text(patch, heading, 0, 0, HEADING_SIZE, (255, 255, 255))
        bar = sheet[top : top + HEADING, : 20 + patch.shape[1]]
        assert float(cv2.matchTemplate(bar, patch, cv2.TM_SQDIFF_NORMED).min()) < 0.02, heading  # ...titled
        for n, f in enumerate(g["faces"]):
            x0, y0 = n * TILE, top + HEADING
            tile = sheet[y0 : y0 + TILE, x0 : x0 + TILE].astype(int)
            red = np.all(np.abs(tile - np.array((40, 40, 230))) <= 45, axis=2)
            ys, xs = np.nonzero(red)
            x, y, w, h = f["box"]
            photo_h, photo_w = cv2.imread(f["picture"]).shape[:2]
            side = int(max(w, h) * (1 + 2 * CROP_MARGIN))  # the face with a margin, not the whole photo
            cx, cy = x + w // 2, y + h // 2
            region_w = min(photo_w, max(0, cx - side // 2) + side) - max(0, cx - side // 2)
            region_h = min(photo_h, max(0, cy - side // 2) + side) - max(0, cy - side // 2)
            cropped = (TILE - 4) * w / max(region_w, region_h)
            whole = (TILE - 4) * w / max(photo_w, photo_h)
            drawn = xs.max() - xs.min()
            assert abs(drawn - cropped) <= 6, (drawn, cropped, whole)
            telling += abs(whole - cropped) > 25  # a photo where the whole one would show the face smaller
            lines = [f"face {f['face']}", Path(f["picture"]).name]
            for i, line in enumerate(lines):
                expected = np.full((CAPTION_LINE, TILE), 255, np.float32)
                canvas = np.full((CAPTION_LINE, TILE, 3), 255, np.uint8)
                text.draw_text(canvas, line, CAPTION_LEFT, 0, CAPTION_SIZE, (0, 0, 0))
                expected = canvas[..., 0].astype(np.float32)
                y = y0 + TILE + CAPTION_TOP + CAPTION_LINE * i
                got = grey[y : y + CAPTION_LINE, x0 : x0 + TILE]
                assert float(np.mean(np.abs(got - expected))) < 4.0, line
    assert telling >= 2
