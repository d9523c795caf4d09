"""Guided registration from a video standing in for the camera."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import pytest

from facerec.usecases.context import Context
from facerec.usecases.enroll import MIN_SHARPNESS, Enrollment
from facerec.vision.quality import sharpness
from tests.conftest import CLI, FaceSet, count
from tests.gui import press, spawn, wait_for_window
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
    return write_video(tmp_path / "angelina.avi", angelina_frames(faces))


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
    from facerec.usecases import enroll as enroll_module
    from facerec.usecases.enroll import EnrollOptions

    calls: list[int] = []
    real = PeopleStore.nearest_people

    def counting(self, model, dim, vectors, k=20):  # type: ignore[no-untyped-def]
        calls.append(len(vectors))
        return real(self, model, dim, vectors, k)

    monkeypatch.setattr(PeopleStore, "nearest_people", counting)
    result = enroll_module.enroll(ctx, "Angelina", EnrollOptions(str(angelina_video), samples=3, window=False))
    assert result.added == 3
    assert calls == [3]  # one query for all samples, not one to warn and one more to store
