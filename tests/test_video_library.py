"""Video clips in the library (issue 24): `index` takes clips, a person registered
from one photo is found in a clip with the time, by `photos`, `search`, the web
page (which plays the clip from there, served with range requests) and contact
sheets show the frame.

Clips are built in the test from the dev photos (H.264 in MP4 with the encoder
in PyAV's wheel, as tests/test_clips.py does); real models, real database, real
Chromium. No timing assertions: waits poll for a condition within a bound.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy as np
import pytest

from facerec.ui.sheets import Tile, _thumbnail, _unreadable
from facerec.usecases.context import Context
from facerec.usecases.library.clips import clip_of_face, format_time
from facerec.usecases.library.index import index_folders
from facerec.usecases.library.search import photos_of
from facerec.usecases.people.register import register_photos
from facerec.video.clips import analyze_clip
from facerec.video.decode import frame_at
from facerec.vision.images import load_image
from facerec.web.security import new_secrets
from tests.helpers import CLI, FaceSet, count, skip_or_fail
from tests.media import blank, pan_zoom, place
from tests.test_clips import FPS, encode
from tests.webkit import Library, client, csrf, indexed_library, reset, serving, state

LEAD_S = 5.0
"""Seconds of empty picture before Obama comes on screen in the clip."""
OBAMA, BIDEN = "barack_obama", "joe_biden"


def family_clip(path: Path, people: dict[str, list[Path]]) -> Path:
    """5 s of nobody, Obama 3 s, nobody 1 s, Biden 3 s (12 s, 640x480, 15 fps)."""
    frames = blank(int(LEAD_S * FPS)) + pan_zoom(people[OBAMA][0], 3 * FPS)
    frames += blank(FPS) + pan_zoom(people[BIDEN][0], 3 * FPS)
    return encode(path, frames)


def family_folder(root: Path, faces: FaceSet) -> Path:
    """Photos of two other people and the family clip."""
    people = faces.people()
    folder = root / "family"
    folder.mkdir()
    for name in ("kit_harington", "rose_leslie"):
        shutil.copy(people[name][0], folder / f"{name}.jpg")
    family_clip(folder / "party.mp4", people)
    return folder


# -- the command line ---------------------------------------------------------------------------


def test_photos_and_clips_index_and_a_person_is_found_in_the_clip_with_the_time(
    cli: CLI, db, faces: FaceSet, tmp_path: Path
):
    people = faces.people()
    folder = family_folder(tmp_path, faces)
    (folder / "broken.mov").write_bytes(b"\x00\x00\x00\x18ftypqt  " + bytes(range(256)) * 40)  # not a real clip

    first = cli("index", str(folder))

    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    failed = [line for line in first.stdout.splitlines() if "failed:" in line]
    assert len(failed) == 1 and "broken.mov" in failed[0], first.stdout  # one line, never a stop
    assert "indexed 3," in first.stdout, first.stdout  # two photos and the clip
    clip = str(folder / "party.mp4")
    assert count(db, "SELECT count(*) FROM pictures WHERE picture = %s AND kind = 'video'", clip) == 1
    assert count(db, "SELECT round(duration) FROM pictures WHERE picture = %s", clip) == 12
    # One face per person on screen, not one per frame, each with its time.
    assert (
        count(db, "SELECT count(*) FROM faces f JOIN pictures p ON p.id = f.picture_id WHERE p.picture = %s", clip) == 2
    )
    assert count(db, "SELECT count(*) FROM faces WHERE t_seconds IS NOT NULL AND cardinality(spans) >= 2") == 2
    assert count(db, "SELECT count(*) FROM faces WHERE t_seconds IS NULL") == 2  # the photos' faces

    listed = cli("people", "--min-faces", "1")  # the People view: the clip's faces with their times
    assert f"party.mp4 @ {format_time(LEAD_S + 4)}" in listed.stdout, listed.stdout  # Biden, unnamed yet
    assert f"party.mp4 @ {format_time(LEAD_S)}" in listed.stdout, listed.stdout  # Obama
    lines = listed.stdout.splitlines()
    group = next(lines[i - 1].split()[1].rstrip(":") for i, line in enumerate(lines) if "party.mp4" in line)
    shown = cli("people", "show", group).stdout
    assert "party.mp4 @ " in shown and " at " in shown, shown
    sheet = cli("people", "--min-faces", "1", "--export", str(tmp_path / "people-sheets"))
    assert sheet.returncode == 0 and "unreadable" not in sheet.stdout + sheet.stderr, sheet.stderr

    again = cli("--json", "index", str(folder))  # incremental: the unchanged clip is skipped like a photo
    summary = json.loads(again.stdout)
    assert summary["indexed"] == 0 and summary["skipped"] == 3 and len(summary["failed"]) == 1, summary

    assert cli("register", "Barack", str(people[OBAMA][1])).returncode == 0  # another photo than the clip's
    found = cli("photos", "Barack")
    assert found.returncode == 0, found.stderr
    lines = [line for line in found.stdout.splitlines() if "party.mp4" in line]
    assert len(lines) == 1 and f"party.mp4 @ {format_time(LEAD_S)} " in lines[0], found.stdout
    assert "joe_biden" not in found.stdout and "kit_harington" not in found.stdout

    as_json = [json.loads(line) for line in cli("--json", "photos", "Barack").stdout.splitlines()]
    (hit,) = [m for m in as_json if m.get("picture") == clip]
    assert hit["kind"] == "video" and hit["times"][0] == pytest.approx(LEAD_S, abs=0.3), hit

    searched = cli("search", str(people[OBAMA][2]))
    assert searched.returncode == 0, searched.stderr
    assert f"party.mp4 @ {format_time(LEAD_S)} " in searched.stdout, searched.stdout
    biden = cli("search", str(people[BIDEN][1]))
    assert f"party.mp4 @ {format_time(LEAD_S + 4)} " in biden.stdout, biden.stdout  # Biden comes on at 9 s

    sheets = tmp_path / "sheets"
    assert cli("photos", "Barack", "--export", str(sheets)).returncode == 0
    assert list(sheets.glob("*.jpg")), "no contact sheet written"


def test_a_contact_sheet_tile_of_a_clip_shows_the_frame(tmp_path: Path, faces: FaceSet, pipeline):
    people = faces.people()
    clip = encode(tmp_path / "c.mp4", blank(2 * FPS) + pan_zoom(people[OBAMA][0], 2 * FPS))
    (track,) = analyze_clip(clip, pipeline).tracks
    still = tmp_path / "frame.png"  # the frame at the face's time, as a photo (lossless)
    cv2.imwrite(str(still), frame_at(clip, track.best_s))

    shown = _thumbnail(Tile(str(clip), track.box, "x", t_seconds=track.best_s))

    assert np.array_equal(shown, _thumbnail(Tile(str(still), track.box, "x")))
    assert not np.array_equal(shown, _unreadable())
    assert not np.array_equal(shown, _thumbnail(Tile(str(clip), track.box, "x", t_seconds=0.5)))  # nobody yet


def test_two_tracks_of_one_clip_on_screen_together_are_two_people(ctx: Context, faces: FaceSet, tmp_path: Path):
    """The same-clip rule: one photo of Obama twice side by side (twins, a mirror) is two
    faces at the same time, never one group, although their vectors are the same."""
    photo = faces.people()[OBAMA][0]
    pixels = load_image(photo).pixels
    frames = [place(pixels, 220, 480, 240, place(pixels, 220 - i % 3, 160, 240)) for i in range(3 * FPS)]
    folder = tmp_path / "twins"
    folder.mkdir()
    encode(folder / "twins.mp4", frames)
    report = index_folders(ctx, [folder], workers=1)
    assert report.indexed == 1 and not report.failed and report.faces == 2, report
    with ctx.db.library.conn.transaction() as cur:
        cur.execute("SELECT f.id, g.state, g.group_id FROM faces f JOIN face_groups g ON g.face_id = f.id")
        rows = cur.fetchall()
    assert [state for _, state, _ in rows] == ["grouped", "grouped"], rows  # both placed in People
    assert rows[0][2] != rows[1][2], rows  # never one group

    (folder / "twins.mp4").rename(folder / "renamed.mp4")  # a moved clip keeps its faces (its hash is known)
    again = index_folders(ctx, [folder], workers=1, prune=True)
    assert again.moved == 1 and again.indexed == 0, again
    with ctx.db.library.conn.transaction() as cur:
        cur.execute(
            "SELECT f.id FROM faces f JOIN pictures p ON p.id = f.picture_id WHERE p.picture = %s",
            (str(folder / "renamed.mp4"),),
        )
        assert sorted(r[0] for r in cur.fetchall()) == sorted(r[0] for r in rows)


def test_reembed_gives_the_faces_of_a_clip_the_other_model_from_their_frames(
    ctx: Context, faces: FaceSet, tmp_path: Path, settings, pipeline
):
    """Switching models keeps the people of a clip: `reembed` embeds each clip face again
    from the frame it was found in (not from the clip file as if it were a photo)."""
    from dataclasses import replace

    from facerec.usecases.library.reembed import reembed
    from facerec.vision.pipeline import Pipeline

    folder = family_folder(tmp_path, faces)
    index_folders(ctx, [folder], workers=1)
    flip = replace(settings, embedder="sface-flip")
    with Context(flip, db=ctx.database, pipeline=Pipeline.load("yunet", "sface-flip")) as other:
        done = reembed(other)
        assert [s for s in done.skipped if "party.mp4" in s] == []
        register_photos(other, "Barack", [faces.people()[OBAMA][1]])
        (match,) = [m for m in photos_of(other, "Barack").matches if m.clip is not None]
    assert Path(match.picture).name == "party.mp4" and match.clip is not None
    assert LEAD_S <= match.clip.t_seconds <= LEAD_S + 3


# -- the web page: range requests, thumbnails, the person page ----------------------------------------


@pytest.fixture(scope="module")
def library(faces: FaceSet, pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    folder = family_folder(tmp_path_factory.mktemp("video-library"), faces)
    with indexed_library(tmp_path_factory.mktemp("video-data"), [folder], pipeline) as lib:
        yield lib


@pytest.fixture
def lib(library: Library, faces: FaceSet) -> Library:
    reset(library)
    register_photos(library.ctx, "Barack", [faces.people()[OBAMA][1]])
    return library


def clip_face(lib: Library) -> tuple[int, Path]:
    """Obama's face in the clip, and the clip."""
    (match,) = [m for m in photos_of(lib.ctx, "Barack").matches if m.clip is not None]
    return match.hit.face_id, Path(match.picture)


def test_the_clip_is_served_with_range_requests_and_only_with_the_token(lib: Library):
    face_id, clip = clip_face(lib)
    data = clip.read_bytes()
    before = state(lib)
    with client(lib) as c:
        whole = c.get(f"/video/{face_id}")
        assert whole.status_code == 200 and whole.content == data
        assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"

        part = c.get(f"/video/{face_id}", headers={"Range": "bytes=100-1099"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
        assert part.content == data[100:1100]
        tail = c.get(f"/video/{face_id}", headers={"Range": "bytes=-500"})
        assert tail.status_code == 206 and tail.content == data[-500:]
        beyond = c.get(f"/video/{face_id}", headers={"Range": f"bytes={len(data) + 10}-"})
        assert beyond.status_code == 416

        photo_face = count(lib.db, "SELECT min(id) FROM faces WHERE t_seconds IS NULL AND person_id IS NULL")
        assert c.get(f"/video/{photo_face}").status_code == 404  # a photo's face has no clip
        assert c.get("/video/999999999").status_code == 404

        thumb = c.get(f"/thumb/photo/{face_id}.jpg")  # the frame the face was found in
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert c.get(f"/thumb/face/{face_id}.jpg").status_code == 200

        page = c.get("/person", params={"name": "Barack"})
        assert page.status_code == 200
        assert f'src="/video/{face_id}#t={LEAD_S:.2f}"' in page.text
        assert f"party.mp4 @ {format_time(LEAD_S)}" in page.text
    assert state(lib)[:5] == before[:5]  # serving a clip changes nothing in the database
    with client(lib, logged_in=False) as anonymous:
        refused = anonymous.get(f"/video/{face_id}", headers={"Range": "bytes=0-99"})
        assert refused.status_code in (401, 403) and data[:100] not in refused.content


def test_the_clip_of_a_moved_file_is_not_served(lib: Library, tmp_path: Path):
    face_id, clip = clip_face(lib)
    assert clip_of_face(lib.ctx, face_id).start_s == pytest.approx(LEAD_S, abs=0.3)
    moved = clip.with_name("gone.mp4")
    clip.rename(moved)
    try:
        with client(lib) as c:
            assert c.get(f"/video/{face_id}").status_code == 404
    finally:
        moved.rename(clip)


# -- the page in a real browser ---------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def server(lib: Library) -> Iterator[str]:
    """The app on a free port of 127.0.0.1 (uvicorn), logged in through the returned address."""
    keys = new_secrets()
    with Context(lib.ctx.settings, pipeline=lib.ctx.pipeline) as ctx, serving(ctx, keys) as base:
        yield f"{base}/?token={keys.token}"


@pytest.mark.slow
def test_the_person_page_plays_the_clip_from_the_time_the_person_appears(lib: Library, server: str, tmp_path: Path):
    if not CHROMIUM.exists():
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright package is not installed (pip install -r requirements-dev.txt)")
    from tests.test_web_browser import FLAGS

    face_id, _ = clip_face(lib)
    base = server.split("/?")[0]
    answers: list[tuple[str, int, str | None, str | None]] = []
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(60_000)
            page.on(
                "response",
                lambda r: answers.append(
                    (r.url, r.status, r.request.headers.get("range"), r.headers.get("content-range"))
                ),
            )
            page.goto(server)
            page.goto(f"{base}/person?name=Barack")
            video = page.locator(f'video[data-clip="{face_id}"]')
            assert video.count() == 1
            # Bounded wait for the player to have read the clip's header and gone to the time.
            page.wait_for_function(
                "v => v.readyState >= 1 && v.currentTime > 0", arg=video.element_handle(), timeout=60_000
            )
            assert video.evaluate("v => v.error") is None
            assert video.evaluate("v => v.duration") == pytest.approx(12.0, abs=0.5)
            assert video.evaluate("v => v.currentTime") == pytest.approx(LEAD_S, abs=0.3)
            video.evaluate("v => { v.muted = true; return v.play(); }")
            page.wait_for_function("v => v.currentTime > %f" % (LEAD_S + 0.5), arg=video.element_handle())
            page.screenshot(path=str(tmp_path / "person-clip.png"))
        finally:
            context.close()
    clip_answers = [a for a in answers if urlsplit(a[0]).path == f"/video/{face_id}"]
    assert clip_answers, answers
    assert any(
        status == 206 and rng and re.match(r"bytes \d+-\d+/\d+", cr or "") for _, status, rng, cr in clip_answers
    ), clip_answers
    hosts = {urlsplit(u).netloc for u, *_ in answers if not u.startswith(("data:", "about:"))}
    assert hosts == {urlsplit(base).netloc}


def test_searching_by_an_uploaded_photo_lists_the_clip_with_the_time(lib: Library, faces: FaceSet):
    face_id, _ = clip_face(lib)
    query = faces.people()[OBAMA][2]
    with client(lib) as c:
        r = c.post("/search", data={"csrf": csrf(c)}, files={"photo": ("q.jpg", query.read_bytes(), "image/jpeg")})
        assert r.status_code == 303, r.text
        result = c.get(r.headers["location"])
    assert result.status_code == 200
    assert f'href="/video/{face_id}#t={LEAD_S:.2f}"' in result.text
    assert f"party.mp4 @ {format_time(LEAD_S)}" in result.text


def test_the_group_page_lists_a_clip_face_with_its_time_and_links_to_the_clip(lib: Library):
    biden = count(
        lib.db,
        "SELECT g.group_id FROM face_groups g JOIN faces f ON f.id = g.face_id"
        " WHERE f.t_seconds > %s AND g.state = 'grouped'",
        LEAD_S + 3,
    )  # Biden comes on screen at 9 s: unnamed, his clip face is in a group of its own
    face = count(lib.db, "SELECT f.id FROM faces f WHERE f.t_seconds > %s", LEAD_S + 3)
    with client(lib) as c:
        page = c.get(f"/people/group/{biden}")
    assert page.status_code == 200
    assert f"party.mp4 @ {format_time(LEAD_S + 4)}" in page.text
    assert f'href="/video/{face}#t={LEAD_S + 4:.2f}"' in page.text
