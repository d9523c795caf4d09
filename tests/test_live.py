"""Live recognition on test videos built from the dev photos: headless event
stream, tracking, the real window under Xvfb, and the error paths."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from facerec.usecases.context import Context
from facerec.usecases.live.live import LiveLoop, LiveReport
from facerec.usecases.people.register import register_photos
from facerec.video import overlay, text
from facerec.video.camera import Frame
from facerec.video.overlay import KNOWN_COLOR
from facerec.vision.images import load_image
from tests.gui import label_patch, press, spawn, wait_for_window, wait_until_shown
from tests.helpers import CLI, FaceSet, count
from tests.media import blank, pan_zoom, place, write_video


@pytest.fixture
def person_then_stranger_then_nobody(faces: FaceSet, tmp_path: Path) -> Path:
    """2 s of Obama (not the registration photo), 2 s of a distractor, 1 s of nobody, at 15 FPS."""
    frames = (
        pan_zoom(faces.people()["barack_obama"][1], 30)
        + pan_zoom(faces.photo("distractors/amy_adams.jpg"), 30)
        + blank(15)
    )
    return write_video(tmp_path / "scene.avi", frames)


def test_headless_live_names_the_person_and_calls_the_stranger_unknown(
    cli: CLI, faces: FaceSet, person_then_stranger_then_nobody: Path
):
    assert cli("register", "obama", str(faces.people()["barack_obama"][0])).returncode == 0
    r = cli("live", "--source", str(person_then_stranger_then_nobody), "--json")
    assert r.returncode == 0, r.stderr
    assert "no display available: running without a window" in r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    events, summary = records[:-1], records[-1]
    by_track: dict[int, list] = {}
    for e in events:
        assert set(e) == {"frame", "track", "name", "distance", "box"} and len(e["box"]) == 4
        by_track.setdefault(e["track"], []).append(e)
    assert len(by_track) == 2, events
    first, second = (by_track[t] for t in sorted(by_track))
    assert [e["name"] for e in first] == ["obama"] and first[0]["frame"] < 3
    assert [e["name"] for e in second] == [None] and 30 <= second[0]["frame"] < 33
    assert all(e["frame"] < 60 for e in events)  # nobody in the last second
    assert summary["frames"] == 75 and summary["fps"] > 0

    text = cli("live", "--source", str(person_then_stranger_then_nobody), "--no-window")
    assert text.stdout.splitlines()[0].startswith("frame 0 track 1: obama 0.")
    assert "75 frames in" in text.stdout


def test_a_face_is_embedded_once_then_rarely_not_every_frame(ctx: Context, faces: FaceSet):
    register_photos(ctx, "obama", [faces.people()["barack_obama"][0]])
    frames = pan_zoom(faces.people()["barack_obama"][1], 60)  # 2 s at 30 FPS
    tracked, naive = LiveLoop(ctx), LiveLoop(ctx, naive=True)
    reports = LiveReport(), LiveReport()
    identifications = []
    for loop, report in zip((tracked, naive), reports):
        for i, image in enumerate(frames):
            loop.step(Frame(i, image, i / 30, time.perf_counter()), report)
        identifications.append(len(loop.visible[0].history))
    assert identifications[1] == 60  # naive: every frame
    assert identifications[0] <= 3  # tracked: once, then a refresh per second
    assert [t.name for t in tracked.visible] == ["obama"]


def test_a_camera_that_cannot_be_opened_is_one_line_and_exit_1(cli: CLI):
    r = cli("live", "--source", "7", "--no-window")
    assert r.returncode == 1
    expected = "camera 7 could not be opened; pass --source with another camera index, a video file or an image folder"
    assert r.stderr.strip().splitlines() == [f"facerec: {expected}"]


def test_a_display_that_cannot_be_reached_is_one_line_and_exit_1(cli: CLI, person_then_stranger_then_nobody: Path):
    r = cli("live", "--source", str(person_then_stranger_then_nobody), DISPLAY=":77")
    assert r.returncode == 1
    expected = "cannot connect to display ':77'; use --no-window for text output"
    assert r.stderr.strip().splitlines() == [f"facerec: {expected}"]


def test_an_image_folder_is_a_frame_source(cli: CLI, faces: FaceSet, tmp_path: Path):
    cli("register", "obama", str(faces.people()["barack_obama"][0]))
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(pan_zoom(faces.people()["barack_obama"][2], 5)):
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame)
    r = cli("live", "--source", str(folder), "--json")
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert records[0]["name"] == "obama" and records[-1]["frames"] == 5


# -- the real window, under Xvfb ------------------------------------------------


def test_the_live_window_saves_a_snapshot_with_boxes_and_names_and_quits_on_q(
    cli: CLI, faces: FaceSet, settings, xvfb: str, tmp_path: Path
):
    cli("register", "obama", str(faces.people()["barack_obama"][0]))
    video = write_video(tmp_path / "obama.avi", pan_zoom(faces.people()["barack_obama"][1], 150))  # 10 s
    proc = spawn(settings, xvfb, "live", "--source", str(video))
    try:
        window = wait_for_window(xvfb, "facerec - live", proc)
        time.sleep(1.0)
        press(xvfb, window, "s")
        deadline = time.time() + 10
        while not (settings.snapshots_dir.exists() and any(settings.snapshots_dir.iterdir())):
            assert time.time() < deadline, "no snapshot was written"
            time.sleep(0.1)
        press(xvfb, window, "q")
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err
    assert "frame 0 track 1: obama" in out
    (snapshot,) = settings.snapshots_dir.iterdir()
    assert oct(snapshot.stat().st_mode & 0o777) == "0o600"
    image = cv2.imread(str(snapshot))
    assert image.shape == (480, 640, 3)
    green = np.all(np.abs(image.astype(int) - np.array(KNOWN_COLOR)) <= 8, axis=2)
    ys, xs = np.nonzero(green)
    # A box outline plus a filled name label: hundreds of pixels of the "known" colour...
    assert green.sum() > 800, green.sum()
    # ...framing the face, with white label text drawn on the green label.
    label = image[ys.min() : ys.min() + 18, xs.min() : xs.max()]
    assert (label.min(axis=2) > 200).sum() > 20


def test_r_in_the_live_window_registers_the_face_in_view_under_the_name_typed(
    faces: FaceSet, db, settings, xvfb: str, tmp_path: Path
):
    video = write_video(tmp_path / "jack.avi", pan_zoom(faces.people()["deepface_jack"][0], 150))
    proc = spawn(settings, xvfb, "live", "--source", str(video))
    try:
        window = wait_for_window(xvfb, "facerec - live", proc)
        time.sleep(1.0)
        press(xvfb, window, "r")
        assert proc.stdin is not None
        proc.stdin.write("Jack\n")
        proc.stdin.flush()
        deadline = time.time() + 20
        while count(db, "SELECT count(*) FROM faces f JOIN people p ON p.id = f.person_id WHERE p.name = 'Jack'") == 0:
            assert time.time() < deadline, "nothing was registered"
            time.sleep(0.2)
        press(xvfb, window, "p")  # pause and resume: still answers keys
        press(xvfb, window, "p")
        press(xvfb, window, "q")
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err
    assert "registered a sample of Jack" in err
    # Once registered, the face in view is re-identified as Jack.
    assert "track 1: Unknown" in out and "track 1: Jack" in out


def test_r_in_the_live_window_does_not_give_a_registered_persons_face_another_name(
    cli, faces: FaceSet, db, settings, xvfb: str, tmp_path: Path
):
    jack = faces.people()["deepface_jack"]
    assert cli("register", "Jack", str(jack[1]), "--largest").returncode == 0
    video = write_video(tmp_path / "jack.avi", pan_zoom(jack[0], 150))
    proc = spawn(settings, xvfb, "live", "--source", str(video))
    try:
        window = wait_for_window(xvfb, "facerec - live", proc)
        time.sleep(1.0)
        press(xvfb, window, "r")
        assert proc.stdin is not None
        proc.stdin.write("Mark\n")
        proc.stdin.flush()
        time.sleep(3.0)
        press(xvfb, window, "q")
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err
    assert (
        "not registered: this photo looks like registered person 'Jack'" in err
        or "looks like registered person 'Jack'" in err
    )
    assert count(db, "SELECT count(*) FROM people WHERE name = 'Mark'") == 0


def test_live_mode_loads_each_network_once(db, settings, monkeypatch):
    """The live loop detects on small frames with a detector of its own, but its YuNet
    network is the pipeline's: one load per process, not two."""
    from facerec.vision import pipeline as pipeline_module
    from facerec.vision import runtime

    loads: list[str] = []
    real = runtime.OpenVINONetwork.__init__

    def counting(self, path, shape):  # type: ignore[no-untyped-def]
        loads.append(path.name)
        real(self, path, shape)

    monkeypatch.setattr(runtime, "_loaded", {})
    monkeypatch.setattr(pipeline_module, "_pipelines", {})
    monkeypatch.setattr(runtime.OpenVINONetwork, "__init__", counting)
    loop = LiveLoop(Context(settings, db=db))
    assert loop.detector is not loop.ctx.pipeline.detector
    assert sorted(loads) == ["face_detection_yunet_2023mar.onnx", "face_recognition_sface_2021dec.onnx"]


def test_pause_says_paused_in_the_window_and_a_snapshot_is_confirmed_there(
    cli: CLI, faces: FaceSet, settings, xvfb: str, tmp_path: Path
):
    cli("register", "obama", str(faces.people()["barack_obama"][0]))
    video = write_video(tmp_path / "obama.avi", pan_zoom(faces.people()["barack_obama"][1], 150))
    paused = label_patch(lambda f: overlay.draw_banner(f, "PAUSED"))
    saved = label_patch(
        lambda f: overlay.draw_notice(f, "snapshot saved: x"),
        3 + text.text_width("snapshot saved", overlay.NOTICE_SIZE),
    )
    proc = spawn(settings, xvfb, "live", "--source", str(video))
    try:
        window = wait_for_window(xvfb, "facerec - live", proc)
        time.sleep(1.0)
        press(xvfb, window, "p")
        wait_until_shown(xvfb, paused, proc)
        press(xvfb, window, "s")  # while paused: the still frame is saved, and the window says so
        screen = wait_until_shown(xvfb, saved, proc)
        assert wait_until_shown(xvfb, paused, proc) is not None  # still paused
        press(xvfb, window, "p")
        press(xvfb, window, "q")
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err
    assert "snapshot saved:" in err and screen is not None
    assert len(list(settings.snapshots_dir.iterdir())) == 1


def test_r_with_several_faces_in_view_boxes_the_largest_and_says_in_the_window_to_type_the_name(
    faces: FaceSet, db, settings, xvfb: str, tmp_path: Path
):
    video = write_video(tmp_path / "two.avi", pan_zoom(faces.photo("groups/fr_two_people.jpg"), 150, height=300))
    waiting = label_patch(lambda f: overlay.draw_banner(f, "type the name in the terminal"))
    proc = spawn(settings, xvfb, "live", "--source", str(video))
    try:
        window = wait_for_window(xvfb, "facerec - live", proc)
        time.sleep(1.5)
        press(xvfb, window, "r")
        screen = wait_until_shown(xvfb, waiting, proc)
        amber = np.all(np.abs(screen.astype(int) - np.array(overlay.CHOSEN_COLOR)) <= 2, axis=2)
        green_or_red = [
            np.all(np.abs(screen.astype(int) - np.array(c)) <= 2, axis=2).sum()
            for c in (overlay.KNOWN_COLOR, overlay.UNKNOWN_COLOR)
        ]
        assert proc.stdin is not None
        proc.stdin.write("Ada\n")
        proc.stdin.flush()
        deadline = time.time() + 20
        while count(db, "SELECT count(*) FROM faces f JOIN people p ON p.id = f.person_id WHERE p.name = 'Ada'") == 0:
            assert time.time() < deadline, "nothing was registered"
            time.sleep(0.2)
        press(xvfb, window, "q")
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err
    assert "registering the largest of 2 faces (amber box): type the name in the terminal" in err
    assert "registered a sample of Ada" in err
    # The chosen face has a thick amber box (and label); the other face keeps its usual red box.
    assert amber.sum() > 600, amber.sum()
    assert green_or_red[1] > 200, green_or_red


def screen_rect(mask: np.ndarray) -> tuple[int, int, int, int]:
    """The bounding rectangle (x, y, w, h) of the True pixels of `mask`."""
    ys, xs = np.nonzero(mask)
    assert len(xs) > 0, "nothing of that colour on the screen"
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def located(screen: np.ndarray, patch: np.ndarray) -> tuple[int, int, int, int]:
    """Where on `screen` `patch` is shown (x, y, w, h)."""
    scores = cv2.matchTemplate(screen, patch, cv2.TM_SQDIFF_NORMED)
    _, _, (x, y), _ = cv2.minMaxLoc(scores)
    return x, y, patch.shape[1], patch.shape[0]


def intersect(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_the_paused_and_type_the_name_banners_cover_no_face(faces: FaceSet, db, settings, xvfb: str, tmp_path: Path):
    # A big face from near the top of the frame to below its middle: where the banners used to be
    # (centred) and where a top banner goes; the bottom edge is free.
    still = place(load_image(faces.people()["deepface_jack"][0]).pixels, 450, 320, 190)
    video = write_video(tmp_path / "jack.avi", [still] * 300)  # 20 s
    paused = label_patch(lambda f: overlay.draw_banner(f, "PAUSED"))
    waiting = label_patch(lambda f: overlay.draw_banner(f, "type the name in the terminal"))

    def colour(screen: np.ndarray, bgr: tuple[int, int, int]) -> np.ndarray:
        return np.all(np.abs(screen.astype(int) - np.array(bgr)) <= 2, axis=2)

    proc = spawn(settings, xvfb, "live", "--source", str(video))
    try:
        window = wait_for_window(xvfb, "facerec - live", proc)
        time.sleep(1.5)
        press(xvfb, window, "p")
        screen = wait_until_shown(xvfb, paused, proc)
        face, banner = screen_rect(colour(screen, overlay.UNKNOWN_COLOR)), located(screen, paused)
        assert face[3] > 200, face  # the face's red box and label, as drawn
        assert not intersect(face, banner), (face, banner)
        press(xvfb, window, "p")
        press(xvfb, window, "r")
        screen = wait_until_shown(xvfb, waiting, proc)
        face, banner = screen_rect(colour(screen, overlay.CHOSEN_COLOR)), located(screen, waiting)
        assert face[3] > 200, face  # the amber box of the face `r` registers
        assert not intersect(face, banner), (face, banner)
        assert proc.stdin is not None
        proc.stdin.write("\n")  # no name: cancelled
        proc.stdin.flush()
        press(xvfb, window, "q")
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err
    assert "registration cancelled" in err
