"""The numbered menu, driven end to end through a pseudo-terminal (pexpect)."""

from __future__ import annotations

import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import PROJECT, FaceSet, cli_env, count
from tests.media import pan_zoom, write_video

PROMPT = "Choose an option: "


@pytest.fixture
def menu(db, settings, faces: FaceSet, tmp_path: Path):
    """The menu with the 'camera' played from a video of Angelina (no display: text mode)."""
    frames = []
    for photo in faces.people()["deepface_angelina"]:
        frames += pan_zoom(photo, 3)
    video = write_video(tmp_path / "camera.avi", frames)
    env = {**cli_env(settings), "FACEREC_CAMERA": str(video), "TERM": "dumb"}
    child = pexpect.spawn(
        sys.executable, [str(PROJECT / "face_recognition.py")], env=env, cwd=str(tmp_path), encoding="utf-8", timeout=60
    )
    yield child
    child.close(force=True)


def choose(child: pexpect.spawn, option: str) -> None:
    child.expect_exact(PROMPT)
    child.sendline(option)


def test_register_recognize_list_rename_and_delete_from_the_menu(menu: pexpect.spawn, db):
    menu.expect_exact("1. Start Face Recognition")
    menu.expect_exact("2. Register a New User")
    menu.expect_exact("3. Manage User Database")
    menu.expect_exact("0. Exit")

    choose(menu, "9")
    menu.expect_exact("'9' is not an option")

    choose(menu, "2")
    menu.expect_exact("Name of the new user")
    menu.sendline("Angelina Jolie")
    menu.expect_exact("registered 'Angelina Jolie': 5 sample(s)")
    assert count(db, "SELECT count(*) FROM faces") == 5

    choose(menu, "1")
    menu.expect_exact("frame 0 track 1: Angelina Jolie")
    menu.expect(r"\d+ frames in [\d.]+ s")

    choose(menu, "3")
    choose(menu, "1")
    menu.expect(r"Angelina Jolie\s+5")

    choose(menu, "3")
    menu.expect_exact("Current name: ")
    menu.sendline("Angelina Jolie")
    menu.expect_exact("New name: ")
    menu.sendline("Angie")
    menu.expect_exact("renamed 'Angelina Jolie' to 'Angie'")

    choose(menu, "4")
    menu.expect_exact("Name to delete: ")
    menu.sendline("nobody")
    menu.expect_exact("no registered person named 'nobody'")

    choose(menu, "4")
    menu.expect_exact("Name to delete: ")
    menu.sendline("Angie")
    menu.expect_exact("delete 'Angie' and every sample of them? [y/N] ")
    menu.sendline("y")
    menu.expect_exact("deleted 'Angie'")
    assert count(db, "SELECT count(*) FROM people") + count(db, "SELECT count(*) FROM faces") == 0

    choose(menu, "0")  # back
    choose(menu, "0")  # exit
    menu.expect_exact("bye")
    menu.expect(pexpect.EOF)
    menu.close()
    assert menu.exitstatus == 0


def test_ctrl_c_at_the_menu_leaves_cleanly(menu: pexpect.spawn):
    menu.expect_exact(PROMPT)
    menu.sendintr()
    menu.expect_exact("bye")
    menu.expect(pexpect.EOF)
    menu.close()
    assert menu.exitstatus == 0
    assert "Traceback" not in (menu.before or "")


def test_end_of_input_leaves_cleanly(menu: pexpect.spawn):
    menu.expect_exact(PROMPT)
    menu.sendeof()
    menu.expect_exact("bye")
    menu.expect(pexpect.EOF)
    menu.close()
    assert menu.exitstatus == 0


def test_index_search_and_people_from_the_menu(menu: pexpect.spawn, faces: FaceSet, tmp_path: Path):
    folder = tmp_path / "album"
    folder.mkdir()
    for person in ("deepface_jennifer", "deepface_mark"):
        for photo in faces.people()[person][:3]:
            (folder / f"{person}_{photo.name}").write_bytes(photo.read_bytes())

    choose(menu, "4")
    menu.expect_exact("Folder of photos")
    menu.sendline(str(folder))
    menu.expect(r"seen 6, indexed 6, skipped 0 \(unchanged\)")

    choose(menu, "5")
    menu.expect_exact("Photo of the person")
    menu.sendline(str(faces.people()["deepface_mark"][3]))
    for _ in range(3):
        menu.expect(r"\d\. \S+deepface_mark_\d\.jpg  distance 0\.\d+")

    choose(menu, "7")
    menu.expect(r"group (\d+): 3 faces in 3 photos")
    group = menu.match.group(1)
    menu.expect_exact("Name a group?")
    menu.sendline(group)
    menu.expect_exact(f"Name for group {group}: ")
    menu.sendline("First Person")
    menu.expect_exact(f"group {group}: 3 faces are now 'First Person'")
    menu.expect_exact("Name a group?")
    menu.sendline("")

    choose(menu, "6")
    menu.expect_exact("Registered person's name")
    menu.sendline("First Person")
    menu.expect(r"3\. \S+\.jpg  distance 0\.\d+  face at [\d,]+  First Person")

    choose(menu, "0")
    menu.expect_exact("bye")
