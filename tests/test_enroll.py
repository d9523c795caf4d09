"""Guided registration from a video standing in for the camera."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import pytest

from facerec.usecases.context import Context
from facerec.usecases.live.enroll import MIN_SHARPNESS, Enrollment
from facerec.vision.quality import sharpness
from tests.gui import press, spawn, wait_for_window
from tests.helpers import CLI, FaceSet, count
from tests.media import blank, pan_zoom, write_video


def angelina_frames(faces: FaceSet, per_photo: int = 4) -> list:
    frames = []
    for photo in faces.people()["deepface_angelina"]:
        frames += pan_zoom(photo, per_photo)
    return frames


def app_samples(db, name: str) -> int:
    return count(db, "SELECT count(*) FROM faces f JOIN people p ON p.id = f.person_id WHERE p.name = %s", name)


def blur(frames: list) -> list:
    return [cv2.GaussianBlur(f, (0, 0), 4) for f in frames]


@pytest.fixture
def angelina_video(faces: FaceSet, tmp_path: Path) -> Path:
    """6 s of Angelina (1 s per photo): samples are 1.5 s apart, so up to 4 of them."""
    return write_video(tmp_path / "angelina.avi", angelina_frames(faces, per_photo=15))


def test_registration_from_a_video_stores_the_requested_number_of_samples(cli: CLI, db, settings, angelina_video: Path):
    r = cli("register", "Angelina", "--camera", "--source", str(angelina_video), "--samples", "4", "--no-window")
    assert r.returncode == 0, r.stderr
    assert "registered 'Angelina': 4 sample(s)" in r.stdout
    assert "sample 4/4 kept" in r.stderr
    assert app_samples(db, "Angelina") == 4
    crops = list(settings.captures_dir.iterdir())
    assert len(crops) == 4 and all(oct(c.stat().st_mode & 0o777) == "0o600" for c in crops)


def test_blurred_frames_are_rejected_and_sharp_ones_kept(ctx: Context, faces: FaceSet):
    sharp = angelina_frames(faces, per_photo=1)
    blurred = blur(sharp)
    enrollment = Enrollment(ctx, samples=len(sharp))
    verdicts = [enrollment.consider(f) for pair in zip(blurred, sharp) for f in pair]
    assert [v.reason for v in verdicts[0::2]] == ["blurred"] * len(sharp)
    assert sum(v.ok for v in verdicts[1::2]) >= len(sharp) - 1
    aligned = ctx.pipeline.embedder.align  # type: ignore[attr-defined]
    for image, face in enrollment.kept:
        assert sharpness(aligned(image, face.face)) >= MIN_SHARPNESS


def test_a_blurred_video_stores_nothing_and_says_why(cli: CLI, faces: FaceSet, db, tmp_path: Path):
    video = write_video(tmp_path / "blurred.avi", blur(angelina_frames(faces)))
    r = cli("register", "Angelina", "--camera", "--source", str(video), "--no-window")
    assert r.returncode == 1
    assert "ended with 0 of 5 good samples (frames rejected - blurred: 24); nothing stored" in r.stderr
    assert count(db, "SELECT count(*) FROM people") == 0


def test_a_video_too_short_for_the_samples_says_so_in_words(cli: CLI, faces: FaceSet, db, tmp_path: Path):
    """Issue 20: it said `frames rejected - no frames` when no frame was rejected."""
    video = write_video(tmp_path / "short.avi", pan_zoom(faces.people()["deepface_angelina"][0], 15))  # 1 s
    r = cli("register", "Angelina", "--camera", "--source", str(video), "--samples", "3", "--no-window")
    assert r.returncode == 1
    assert "no frames" not in r.stderr
    assert (
        "the source ended with 1 of 3 good samples (no frame was rejected, it ended too soon: "
        "a sample is taken every 1.5 s); nothing stored (answer yes to keep them, or ask for --samples 1)"
    ) in r.stderr
    assert count(db, "SELECT count(*) FROM people") == 0


def test_near_duplicate_frames_are_not_kept_twice(ctx: Context, faces: FaceSet):
    still = pan_zoom(faces.people()["deepface_angelina"][0], 1) * 5
    enrollment = Enrollment(ctx, samples=5)
    reasons = [enrollment.consider(f).reason for f in still]
    assert reasons == [None] + ["too similar to a kept sample"] * 4


def test_an_existing_name_needs_a_yes_to_add_samples(cli: CLI, faces: FaceSet, db, angelina_video: Path):
    cli("register", "Angelina", str(faces.people()["deepface_angelina"][0]))
    args = ["register", "Angelina", "--camera", "--source", str(angelina_video), "--samples", "2", "--no-window"]
    r = cli(*args)
    assert r.returncode == 1 and "already registered; nothing stored" in r.stderr
    assert count(db, "SELECT count(*) FROM faces") == 1
    assert cli(*args, "--yes").returncode == 0
    assert count(db, "SELECT count(*) FROM faces") == 3


def test_a_face_that_matches_someone_else_is_warned_about_before_storing(
    cli: CLI, faces: FaceSet, db, angelina_video: Path
):
    cli("register", "Angie", str(faces.people()["deepface_angelina"][0]))
    args = ["register", "Someone", "--camera", "--source", str(angelina_video), "--samples", "2", "--no-window"]
    r = cli(*args)
    assert r.returncode == 1
    assert "sample 1 looks like registered person 'Angie'" in r.stderr
    assert "nothing stored (pass --force to store anyway)" in r.stderr
    assert count(db, "SELECT count(*) FROM people") == 1
    assert cli(*args, "--yes").returncode == 1  # --yes answers "add to an existing name", not the guard
    assert cli(*args, "--force").returncode == 0
    assert count(db, "SELECT count(*) FROM people") == 2


def test_escape_in_the_registration_window_stores_nothing(faces: FaceSet, db, settings, xvfb: str, tmp_path: Path):
    # 30 s of an empty scene, then the person: Esc comes before any sample.
    video = write_video(tmp_path / "late.avi", blank(450) + angelina_frames(faces))
    proc = spawn(settings, xvfb, "register", "Angelina", "--camera", "--source", str(video))
    try:
        window = wait_for_window(xvfb, "facerec - register Angelina", proc)
        time.sleep(0.5)
        press(xvfb, window, "Escape")
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 1
    assert err.strip().splitlines()[-1] == "facerec: registration cancelled; nothing stored"
    assert count(db, "SELECT count(*) FROM people") == 0
    assert not settings.captures_dir.exists() or not any(settings.captures_dir.iterdir())


def test_camera_registration_looks_up_lookalikes_once(ctx: Context, angelina_video: Path, monkeypatch):
    from facerec.db.people import PeopleStore
    from facerec.usecases.live import enroll as enroll_module
    from facerec.usecases.live.enroll import EnrollOptions

    calls: list[int] = []
    real = PeopleStore.nearest

    def counting(self, vectors, k=20):  # type: ignore[no-untyped-def]
        calls.append(len(vectors))
        return real(self, vectors, k)

    monkeypatch.setattr(PeopleStore, "nearest", counting)
    result = enroll_module.enroll(ctx, "Angelina", EnrollOptions(str(angelina_video), samples=3))
    assert result.added == 3
    assert calls == [3]  # one query for all samples, not one to warn and one more to store


def stamped(frames: list) -> list:
    """Each frame with its index written into a 24x24 grey block at the top left (level = 4 x index)."""
    out = []
    for i, f in enumerate(frames):
        g = f.copy()
        g[0:24, 0:24] = min(255, 4 * i)
        out.append(g)
    return out


def frame_index(image) -> int:
    return int(round(float(image[4:20, 4:20].mean()) / 4))


def test_samples_are_spread_in_time_so_each_pose_prompt_can_be_followed(
    ctx: Context, faces: FaceSet, tmp_path: Path, monkeypatch
):
    from facerec.usecases.live import enroll as enroll_module

    fps = 15
    video = write_video(tmp_path / "stamped.avi", stamped(angelina_frames(faces, per_photo=10)), fps=fps)  # 4 s
    kept_at: list[int] = []
    real = enroll_module.Enrollment.consider

    def recording(self, image):  # type: ignore[no-untyped-def]
        verdict = real(self, image)
        if verdict.ok:
            kept_at.append(frame_index(image))
        return verdict

    monkeypatch.setattr(enroll_module.Enrollment, "consider", recording)
    messages: list[str] = []
    options = enroll_module.EnrollOptions(str(video), samples=3, on_message=messages.append)
    assert enroll_module.enroll(ctx, "Angelina", options).added == 3
    gaps = [b - a for a, b in zip(kept_at, kept_at[1:])]
    assert len(kept_at) == 3 and all(g >= enroll_module.SAMPLE_INTERVAL_S * fps - 1 for g in gaps), kept_at
    # The next pose is announced as each sample is kept.
    assert messages[0] == "1/3 - look straight at the camera"
    assert messages[1] == "sample 1/3 kept; next: turn slightly left"


def test_when_the_source_ends_early_the_samples_taken_are_kept_only_with_a_yes(cli: CLI, faces: FaceSet, db, tmp_path):
    short = write_video(tmp_path / "short.avi", angelina_frames(faces, per_photo=4))  # 1.6 s: 2 samples
    args = ["register", "Angelina", "--camera", "--source", str(short), "--samples", "5", "--no-window"]
    r = cli(*args)
    assert r.returncode == 1
    assert "the source ended with 2 of 5 good samples" in r.stderr
    assert "nothing stored (answer yes to keep them, or ask for --samples 2)" in r.stderr
    assert count(db, "SELECT count(*) FROM faces") == 0
    r = cli(*args, "--yes")
    assert r.returncode == 0, r.stderr
    assert "registered 'Angelina': 2 sample(s)" in r.stdout
    assert app_samples(db, "Angelina") == 2
