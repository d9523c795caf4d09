"""Bad input (issue 6): broken, hostile and unusual image files, awkward paths
and names. Each bad file gets one clear line and writes nothing; `index` goes
on and lists it; unusual but valid images are read right side up."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from facerec.config import Settings
from facerec.db import Database
from facerec.errors import ImageError, InvalidNameError
from facerec.types import Box
from facerec.ui.sheets import CAPTION, TILE
from facerec.usecases.context import Context
from facerec.usecases.library.index import FoundFile, analyze_file
from facerec.usecases.library.recognize import analyze_photo, recognize_photo
from facerec.usecases.people.names import MAX_NAME_LENGTH, validate_name
from facerec.usecases.people.register import register_photos
from facerec.usecases.people.users import list_people, show_person
from facerec.vision.images import image_from_bytes, load_image, read_bytes
from tests.helpers import CLI, PROJECT, FaceSet, count
from tests.robust import (
    Result,
    in_process,  # noqa: F401 - a fixture
    run_main,
    shared_tmp_dir,
    unprivileged,
    write_huge_png,
)

# -- files that are not (usable) images -----------------------------------------------

BAD_KINDS = {
    "zero-byte file": "empty file",
    "truncated JPEG": "corrupt or truncated",
    "text file named .jpg": "not an image",
    "executable named .png": "not an image",
    "directory named .jpg": "is a directory",
    "30000x30000 PNG": "image too large",
    "missing file": "no such file",
}


def make_bad_file(kind: str, folder: Path, portrait: Path) -> Path:
    """One file of each kind in `BAD_KINDS`, inside `folder`."""
    if kind == "zero-byte file":
        path = folder / "empty.jpg"
        path.write_bytes(b"")
    elif kind == "truncated JPEG":
        path = folder / "truncated.jpg"
        path.write_bytes(portrait.read_bytes()[:4000])
    elif kind == "text file named .jpg":
        path = folder / "notes.jpg"
        path.write_text("shopping list: eggs, milk\n")
    elif kind == "executable named .png":
        path = folder / "program.png"
        shutil.copy("/bin/true", path)
    elif kind == "directory named .jpg":
        path = folder / "album.jpg"
        path.mkdir()
    elif kind == "30000x30000 PNG":
        path = write_huge_png(folder / "huge.png")
    else:
        path = folder / "never-existed.jpg"
    return path


@pytest.fixture
def portrait(faces: FaceSet) -> Path:
    return faces.people()["barack_obama"][0]


def assert_one_line(result: Result, *fragments: str) -> None:
    lines = result.error_lines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def nothing_stored(db: Database, settings: Settings) -> bool:
    rows = sum(count(db, f"SELECT count(*) FROM {table}") for table in ("people", "pictures", "faces"))
    captures = settings.captures_dir
    return rows == 0 and (not captures.exists() or not any(captures.iterdir()))


@pytest.mark.usefixtures("in_process")
@pytest.mark.parametrize("kind", BAD_KINDS)
def test_recognizing_a_bad_file_is_one_clear_line_and_exit_1(kind, portrait, tmp_path):
    path = make_bad_file(kind, tmp_path, portrait)
    result = run_main("recognize", str(path))
    assert result.returncode == 1
    assert_one_line(result, str(path), BAD_KINDS[kind])
    assert result.stdout == ""


@pytest.mark.usefixtures("in_process")
@pytest.mark.parametrize("kind", BAD_KINDS)
def test_registering_a_bad_file_with_a_good_one_stores_nothing(kind, portrait, db, settings, tmp_path):
    path = make_bad_file(kind, tmp_path, portrait)
    result = run_main("register", "obama", str(portrait), str(path))
    assert result.returncode == 1
    assert_one_line(result, str(path), BAD_KINDS[kind], "nothing registered")
    assert nothing_stored(db, settings)


def test_a_user_sees_one_line_per_bad_file_and_the_good_one_recognized(cli: CLI, portrait, tmp_path):
    bad = [make_bad_file(kind, tmp_path, portrait) for kind in BAD_KINDS]
    r = cli("--json", "recognize", *map(str, bad), str(portrait))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(errors) == len(bad)
    for path, line, fragment in zip(bad, errors, BAD_KINDS.values()):
        assert line.startswith(f"facerec: {path}: ") and fragment in line
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [rec["image"] for rec in records] == [*map(str, bad), str(portrait)]
    assert all("error" in rec for rec in records[:-1]) and records[-1]["name"] is None


def test_index_lists_every_bad_file_and_indexes_the_good_ones(cli: CLI, portrait, db, tmp_path):
    folder = tmp_path / "my photos"
    folder.mkdir()
    bad = {kind: make_bad_file(kind, folder, portrait) for kind in BAD_KINDS if kind != "missing file"}
    (folder / "album.jpg" / "inside.jpg").write_bytes(portrait.read_bytes())  # a folder named .jpg is a folder
    shutil.copy(portrait, folder / "Zoë at the café.jpg")
    os.symlink(folder / "gone.jpg", folder / "broken link.jpg")
    os.symlink("loop.jpg", folder / "loop.jpg")
    os.symlink(folder / "Zoë at the café.jpg", folder / "link to a photo.jpg")
    os.symlink(folder, folder / "album.jpg" / "back up")  # a folder link back up: not followed

    r = cli("--json", "index", str(folder), "--workers", "1")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    failed = {Path(f["picture"]).name: f["error"] for f in summary["failed"]}
    assert failed.pop("truncated.jpg").startswith("corrupt or truncated image")
    assert failed == {
        "empty.jpg": "empty file",
        "notes.jpg": "not an image, or a format that cannot be read",
        "program.png": "not an image, or a format that cannot be read",
        "huge.png": "image too large (30000x30000 pixels; the limit is 100,000,000)",
        "broken link.jpg": "broken symbolic link",
        "loop.jpg": "symbolic link loop",
    }
    assert (summary["seen"], summary["indexed"], summary["faces"]) == (10, 3, 3)
    indexed = count(db, "SELECT count(*) FROM pictures WHERE indexed_at IS NOT NULL")
    assert indexed == 3 and count(db, "SELECT count(*) FROM faces") == 3
    assert not set(bad.values()) & {Path(p) for p in _pictures(db)}

    text = cli("index", str(folder))
    assert text.returncode == 0 and "seen 10, indexed 0, skipped 3" in text.stdout
    assert text.stdout.count("  failed: ") == 7


def _pictures(db: Database) -> list[str]:
    with db.transaction() as cur:
        cur.execute("SELECT picture FROM pictures")
        return [r[0] for r in cur.fetchall()]


@pytest.mark.slow
def test_a_30000x30000_png_is_refused_before_it_is_decoded(cli: CLI, tmp_path):
    huge = write_huge_png(tmp_path / "huge.png")
    assert huge.stat().st_size < 1_000_000
    # The child's own peak (VmHWM, which starts afresh at exec; ru_maxrss would carry
    # this test process's peak over the fork), written to a file as it exits.
    status_file = tmp_path / "status.txt"
    keep_status = (
        "import atexit, runpy, sys; out = sys.argv[1]; "
        "atexit.register(lambda: open(out, 'w').write(open('/proc/self/status').read())); "
        "sys.argv = sys.argv[2:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            keep_status,
            str(status_file),
            str(PROJECT / "face_recognition.py"),
            "recognize",
            str(huge),
        ],
        env=cli.env,
        cwd=cli.cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"facerec: {huge}: image too large (30000x30000 pixels; the limit is 100,000,000)"
    # Decoded, it would take 900 MB as bytes and 2.7 GB as BGR; the process
    # (Python, OpenCV, numpy) peaks far below that.
    peak_mb = int(re.search(r"^VmHWM:\s+(\d+) kB", status_file.read_text(), re.M).group(1)) / 1024  # type: ignore[union-attr]
    assert peak_mb < 400, peak_mb


@pytest.mark.usefixtures("in_process")
def test_an_unreadable_file_is_permission_denied_for_recognize_and_index(portrait):
    with shared_tmp_dir() as folder:
        locked, readable = folder / "locked.jpg", folder / "readable.jpg"
        shutil.copy(portrait, locked)
        shutil.copy(portrait, readable)
        locked.chmod(0)
        readable.chmod(0o644)

        def attempt() -> tuple[Result, str | None, bytes]:
            # What `recognize` and an `index` worker do with the file, as an ordinary user.
            os.chdir(folder)
            result = run_main("recognize", str(locked))
            analysis = analyze_file(None, frozenset(), FoundFile(str(locked), str(locked), 0, 0.0))  # type: ignore[arg-type]
            return result, analysis.error, read_bytes(readable)[:2]

        result, index_error, control = unprivileged(attempt)
    assert result.returncode == 1
    assert_one_line(result, f"{locked}: permission denied")
    assert index_error == "permission denied"
    assert control == b"\xff\xd8"  # the same user reads a readable file: the mode is what refused


# -- unusual images that are fine -------------------------------------------------------


def _variants(portrait: Path, folder: Path) -> Iterator[tuple[str, Path]]:
    upright = Image.open(portrait)
    gray = upright.convert("L")
    path = folder / "16-bit.png"
    Image.fromarray(np.asarray(gray).astype(np.uint16) * 257).save(path)
    assert Image.open(path).mode == "I;16"
    yield "16-bit grayscale PNG", path
    path = folder / "16-bit-rgb.png"
    cv2.imwrite(str(path), cv2.imread(str(portrait)).astype(np.uint16) * 257)
    yield "16-bit RGB PNG", path
    rgba = upright.convert("RGBA")
    alpha = Image.new("L", upright.size, 0)  # a transparent frame (drawn white) around an opaque middle
    alpha.paste(255, (40, 40, upright.width - 40, upright.height - 40))
    rgba.putalpha(alpha)
    rgba.save(path := folder / "rgba.png")
    yield "RGBA PNG", path
    upright.convert("P", palette=Image.Palette.ADAPTIVE).save(path := folder / "palette.png")
    yield "palette PNG", path
    gray.save(path := folder / "gray.jpg")
    yield "grayscale JPEG", path
    upright.convert("CMYK").save(path := folder / "cmyk.jpg")
    assert Image.open(path).mode == "CMYK"
    yield "CMYK JPEG", path
    blank = Image.new("RGB", upright.size, (90, 90, 90))
    upright.save(path := folder / "animated.gif", save_all=True, append_images=[blank], duration=100, loop=0)
    yield "animated GIF", path
    upright.save(path := folder / "animated.webp", save_all=True, append_images=[blank], duration=100, loop=0)
    assert getattr(Image.open(path), "n_frames", 1) == 2
    yield "animated WebP", path
    yield "EXIF-rotated JPEG", exif_rotated(portrait, folder / "rotated.jpg")
    yield "path with spaces and unicode", Path(shutil.copy(portrait, folder / "Zoë O'Brien — café 写真.jpg"))


def exif_rotated(portrait: Path, path: Path, scale: float = 1.0) -> Path:
    """The portrait stored lying on its side, with EXIF Orientation 6 ("rotate 90
    degrees clockwise to view"): upright, it is the original again."""
    upright = Image.open(portrait).convert("RGB")
    if scale != 1.0:
        upright = upright.resize((round(upright.width * scale), round(upright.height * scale)))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # counter-clockwise: lying on its side
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(path, exif=exif, quality=95)
    return path


def test_unusual_but_valid_images_are_read_upright_and_recognized(ctx: Context, portrait: Path, tmp_path: Path):
    register_photos(ctx, "obama", [portrait])
    (reference,) = recognize_photo(ctx, portrait).faces
    for what, path in _variants(portrait, tmp_path):
        image = load_image(path)
        assert image.pixels.shape == (1137, 910, 3) and image.pixels.dtype == np.uint8, what
        assert (image.width, image.height) == (910, 1137), what
        (face,) = recognize_photo(ctx, path).faces
        assert face.name == "obama", (what, face.distance)
        assert face.face.box.iou(reference.face.box) > 0.85, (what, face.face.box, reference.face.box)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpegs_decoded_by_opencv_match_pillow_pixel_for_pixel_in_every_exif_orientation(
    orientation: int, portrait: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from facerec.vision import images

    big = Image.open(portrait).convert("RGB").resize((1820, 2274))  # large enough to decode at 1/2
    exif = Image.Exif()
    exif[0x0112] = orientation
    big.save(path := tmp_path / f"o{orientation}.jpg", exif=exif, quality=90)
    data = path.read_bytes()
    fast = [images.decode(data, str(path), reduce_to) for reduce_to in (None, 640)]
    used = []
    monkeypatch.setattr(images, "_decode_jpeg", lambda *args: used.append(args) and None)
    slow = [images.decode(data, str(path), reduce_to) for reduce_to in (None, 640)]
    assert len(used) == 2  # the OpenCV path was taken above, Pillow's here
    for (a, *a_dims), (b, *b_dims) in zip(fast, slow):
        assert a_dims == b_dims and a.shape == b.shape
        assert np.array_equal(a, b)
    upright = (2274, 1820) if orientation < 5 else (1820, 2274)
    assert fast[0][0].shape[:2] == upright and fast[1][0].shape[:2] == (upright[0] // 2, upright[1] // 2)


def test_only_jpegs_take_the_opencv_path(portrait: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from facerec.vision import images

    used: list[tuple] = []
    opencv = images._decode_jpeg
    monkeypatch.setattr(images, "_decode_jpeg", lambda *args: used.append(args) or opencv(*args))
    upright = Image.open(portrait).convert("RGB")
    for suffix in ("png", "webp", "tiff", "bmp", "jpg"):
        upright.save(path := tmp_path / f"rgb.{suffix}")
        assert load_image(path).pixels.shape == (1137, 910, 3)
        assert len(used) == (1 if suffix == "jpg" else 0), suffix


def test_an_animated_image_is_read_from_its_first_frame(ctx: Context, portrait: Path, tmp_path: Path):
    upright = Image.open(portrait)
    blank = Image.new("RGB", upright.size, (90, 90, 90))
    for suffix in ("gif", "webp"):
        blank.save(tmp_path / f"blank-first.{suffix}", save_all=True, append_images=[upright], duration=100)
        assert recognize_photo(ctx, tmp_path / f"blank-first.{suffix}").faces == []


def test_a_large_exif_rotated_photo_indexed_at_reduced_size_gets_upright_full_size_boxes(
    ctx: Context, portrait: Path, tmp_path: Path
):
    (reference,) = analyze_photo(ctx, portrait).faces
    big = exif_rotated(portrait, tmp_path / "big.jpg", scale=4.0)  # 3640 x 4548 upright: decoded at 1/2
    analysis = analyze_file(ctx.pipeline, frozenset(), FoundFile(str(big), str(big), 0, 0.0))
    assert analysis.error is None and analysis.photo is not None
    assert (analysis.photo.width, analysis.photo.height) == (3640, 4548)
    (face,) = analysis.photo.faces
    b = reference.face.box
    expected = Box(b.x * 4, b.y * 4, b.w * 4, b.h * 4)
    assert face.face.box.iou(expected) > 0.85, (face.face.box, expected)


# -- file names that are not UTF-8, spaces and unicode ------------------------------------


def test_a_file_name_that_is_not_utf8_is_indexed_searched_and_drawn(cli: CLI, faces: FaceSet, tmp_path: Path):
    photos = faces.people()["deepface_angelina"]
    folder = os.fsencode(tmp_path / "album ü")
    os.mkdir(folder)
    raw_name = folder + b"/caf\xe9 \xff.jpg"  # Latin-1 bytes: not UTF-8
    fd = os.open(raw_name, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, photos[1].read_bytes())
    os.close(fd)
    shutil.copy(photos[2], os.fsdecode(folder) + "/second photo.jpg")
    key = os.fsdecode(folder) + "/caf\\xe9 \\xff.jpg"  # how the database and the output spell it
    utf8_terminal = {"PYTHONIOENCODING": "utf-8"}  # as on a desktop with a UTF-8 locale

    r = cli("--json", "index", os.fsdecode(folder), **utf8_terminal)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["indexed"] == 2

    sheets = tmp_path / "sheets"
    r = cli("--json", "search", str(photos[0]), "--export", str(sheets), **utf8_terminal)
    assert r.returncode == 0, r.stderr
    found = [json.loads(line)["picture"] for line in r.stdout.splitlines()]
    assert sorted(found) == sorted([key, os.fsdecode(folder) + "/second photo.jpg"])
    text = cli("search", str(photos[0]), **utf8_terminal)
    assert text.returncode == 0 and key in text.stdout

    (sheet_path,) = sheets.iterdir()
    sheet = cv2.imread(str(sheet_path))
    for n in range(2):  # both tiles show the photo, not the grey "unreadable" tile
        tile = sheet[0:TILE, n * TILE : (n + 1) * TILE]
        assert float(np.mean(tile == 200)) < 0.9, n
    assert sheet.shape[0] == TILE + CAPTION

    # The file given on the command line by its bytes.
    r = subprocess.run(
        [sys.executable, str(PROJECT / "face_recognition.py"), "recognize", raw_name],
        capture_output=True,
        env={**cli.env, **utf8_terminal},
        cwd=cli.cwd,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode("utf-8").startswith(f"{key}: Unknown at ")


# -- names -------------------------------------------------------------------------


INJECTIONS = [
    "Robert'); DROP TABLE people;--",
    "x' OR '1'='1",
    '"; DELETE FROM faces; --',
    "$$; TRUNCATE pictures; $$",
    "\\'; DROP TABLE faces; --",
]


def test_sql_in_a_name_is_stored_verbatim_and_never_executed(cli: CLI, faces: FaceSet, db: Database):
    photos = faces.people()["barack_obama"]
    for i, name in enumerate(INJECTIONS):
        r = cli("register", name, str(photos[i % len(photos)]), "--force")  # one face, many names
        assert r.returncode == 0, r.stderr
    listed = [json.loads(line)["name"] for line in cli("--json", "users").stdout.splitlines()]
    assert sorted(listed) == sorted(INJECTIONS)
    for table in ("people", "pictures", "faces", "schema_migrations"):
        assert count(db, "SELECT count(*) FROM pg_tables WHERE tablename = %s", table) == 1, table
    assert count(db, "SELECT count(*) FROM people") == len(INJECTIONS)
    assert count(db, "SELECT count(*) FROM faces") == len(INJECTIONS)

    assert cli("users", "show", INJECTIONS[0]).returncode == 0
    assert cli("users", "rename", INJECTIONS[0], "Bobby Tables").returncode == 0
    assert cli("users", "delete", INJECTIONS[1], "--yes").returncode == 0
    remaining = {json.loads(line)["name"] for line in cli("--json", "users").stdout.splitlines()}
    assert remaining == {"Bobby Tables", *INJECTIONS[2:]}
    assert count(db, "SELECT count(*) FROM faces") == len(INJECTIONS) - 1


def test_unicode_names_are_kept_exactly(ctx: Context, portrait: Path, faces: FaceSet):
    names = ["Zoë O'Brien", "山田 太郎", "Zoe\u0301 (decomposed)", "👩🏽‍🔬 Ada", "x" * MAX_NAME_LENGTH]
    photos = faces.people()["barack_obama"]
    for i, name in enumerate(names):
        register_photos(ctx, name, [photos[i % len(photos)]], force=True)  # one face, many names
    assert sorted(p.name for p in list_people(ctx).people) == sorted(names)
    assert show_person(ctx, "Zoe\u0301 (decomposed)").samples == 1  # not normalised into "Zoë"


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "cannot be empty"),
        (" \t ", "cannot be empty"),
        ("\u3000", "cannot be empty"),  # ideographic space
        ("x" * (MAX_NAME_LENGTH + 1), "at most 100 characters"),
        ("Ann\nBob", "control characters"),
        ("Ann\x00", "control characters"),
        ("Ann\u2028Bob", "control characters"),  # a line separator
        ("caf\udce9", "valid UTF-8"),  # an argument in Latin-1 on a UTF-8 system
    ],
)
@pytest.mark.usefixtures("in_process")
def test_bad_names_are_refused_before_anything_is_stored(name, fragment, portrait, db, settings):
    with pytest.raises(InvalidNameError, match=fragment):
        validate_name(name)
    result = run_main("register", name, str(portrait))
    assert result.returncode == 1
    assert_one_line(result, fragment)
    assert nothing_stored(db, settings)


def test_a_name_given_as_bytes_that_are_not_utf8_is_one_line(cli: CLI, portrait):
    for args in ([b"register", b"caf\xe9", os.fsencode(portrait)], [b"users", b"show", b"caf\xe9"]):
        r = subprocess.run(
            [sys.executable, str(PROJECT / "face_recognition.py"), *args],
            capture_output=True,
            env={**cli.env, "PYTHONIOENCODING": "utf-8"},
            cwd=cli.cwd,
        )
        assert r.returncode == 1
        assert r.stderr.decode() == "facerec: a name must be valid UTF-8 text\n"


# -- fuzzing (hypothesis, bounded) --------------------------------------------------


def _seed_images() -> list[bytes]:
    """Small valid images in the formats facerec reads, to mutate."""
    rng = np.random.default_rng(6)
    base = Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8))
    seeds = []
    for fmt, mode in [
        ("PNG", "RGB"), ("PNG", "P"), ("PNG", "I;16"), ("JPEG", "RGB"), ("JPEG", "CMYK"), ("GIF", "P"),
        ("WEBP", "RGBA"), ("BMP", "RGB"), ("TIFF", "F"), ("TIFF", "LAB"),
    ]:  # fmt: skip
        out = io.BytesIO()
        image = base.convert("I").convert(mode) if mode == "I;16" else base.convert(mode)
        image.save(out, fmt)
        seeds.append(out.getvalue())
    return seeds


SEEDS = _seed_images()


@st.composite
def mutated_images(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[max(1, at) :]
        if not data:
            break
    return bytes(data)


@settings(max_examples=400, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated_images(), st.binary(max_size=2048)))
def test_the_image_loader_turns_any_bytes_into_an_image_or_an_image_error(data: bytes):
    try:
        image = image_from_bytes(Path("fuzz.img"), data)
    except ImageError as exc:
        assert str(exc).startswith("fuzz.img: ") and "\n" not in str(exc)
        return
    assert image.pixels.ndim == 3 and image.pixels.shape[2] == 3 and image.pixels.dtype == np.uint8


@settings(
    max_examples=150,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.one_of(st.text(st.characters(exclude_categories=()), max_size=120), st.sampled_from(INJECTIONS)))
def test_any_name_is_refused_or_stored_and_read_back_exactly(db: Database, name: str):
    try:
        cleaned = validate_name(name)
    except InvalidNameError:
        return
    assert cleaned == name.strip() and 0 < len(cleaned) <= MAX_NAME_LENGTH
    people = db.stores("sface", 128).people
    person_id = people.add_samples(cleaned, []).person_id
    try:
        assert people.find_person(cleaned) == person_id
        assert [p.name for p in people.people() if p.id == person_id] == [cleaned]
    finally:
        with db.transaction() as cur:
            cur.execute("DELETE FROM people WHERE id = %s", (person_id,))
