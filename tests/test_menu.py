"""The numbered menu, driven end to end through a pseudo-terminal (pexpect)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

import pexpect
import pytest

from facerec.db.connection import IDLE_CHECK_S
from facerec.db.server import EmbeddedServer
from facerec.ui.menu import clean_path, menu_advice
from facerec.usecases.context import Context
from facerec.usecases.groups.grouping import people_view
from tests.helpers import PROJECT, FaceSet, cli_env, count, spawn_terminal
from tests.media import pan_zoom, write_video

PROMPT = "Choose an option: "


def angelina_video(faces: FaceSet, path: Path, per_photo: int = 20) -> Path:
    """Angelina's photos, `per_photo` frames each at 15 FPS (20: 8 s, enough for 5 samples 1.5 s apart)."""
    frames = []
    for photo in faces.people()["deepface_angelina"]:
        frames += pan_zoom(photo, per_photo)
    return write_video(path, frames)


def spawn_menu(env: dict[str, str], cwd: Path) -> pexpect.spawn:
    return spawn_terminal(
        [sys.executable, str(PROJECT / "face_recognition.py")],
        env={**env, "TERM": "dumb"},
        cwd=str(cwd),
        encoding="utf-8",
        timeout=60,
    )


@pytest.fixture
def menu(db, settings, faces: FaceSet, tmp_path: Path):
    """The menu with the 'camera' played from a video of Angelina (no display: text mode)."""
    video = angelina_video(faces, tmp_path / "camera.avi")
    child = spawn_menu({**cli_env(settings), "FACEREC_CAMERA": str(video), "HOME": str(tmp_path)}, tmp_path)
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

    choose(menu, "99")
    menu.expect_exact("'99' is not an option")

    choose(menu, "2")
    menu.expect_exact("no one is registered yet")
    menu.expect_exact("Name of the new user")
    menu.sendline("Angelina Jolie")
    choose(menu, "2")  # from the camera
    menu.expect_exact("Number of samples (Enter for 5): ")
    menu.sendline("")
    menu.expect_exact("Ctrl-C cancels")  # text mode: Esc could not cancel here
    menu.expect_exact("registered 'Angelina Jolie': 5 sample(s)")
    menu.expect_exact("facerec - face recognition (0 photos, 0 faces, 1 registered, 0 groups)")
    assert count(db, "SELECT count(*) FROM faces") == 5

    choose(menu, "1")
    menu.expect_exact("frame 0 track 1: Angelina Jolie")
    menu.expect(r"\d+ frames in [\d.]+ s")

    choose(menu, "3")
    choose(menu, "1")
    menu.expect(r"Angelina Jolie\s+5")

    choose(menu, "3")
    menu.expect_exact("registered: Angelina Jolie")
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
    menu.expect_exact("deleted 'Angie'; removed 5 stored face crops; your photos were not touched")
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
    menu.sendline("'~/album' ")  # dragged from a file manager: quoted, a space after it; ~ is the home folder
    menu.expect(r"seen 6, indexed 6, skipped 0 \(unchanged\)")

    query = tmp_path / "a query photo.jpg"
    query.write_bytes(faces.people()["deepface_mark"][3].read_bytes())
    choose(menu, "5")
    menu.expect_exact("Photo of the person")
    menu.sendline(f'"{query}"  ')
    for _ in range(3):
        menu.expect(r"\d\. \S+deepface_mark_\d\.jpg  distance 0\.\d+")

    choose(menu, "7")
    menu.expect(r"group (\d+): 3 faces in 3 photos")
    group = menu.match.group(1)
    menu.expect_exact("A group's number to name, merge, split or hide it")
    menu.sendline("999")  # no such group: refused before asking anything
    menu.expect_exact("no group 999; see the list above")
    menu.expect_exact("A group's number")
    menu.sendline(group)
    choose(menu, "1")  # name it
    menu.expect_exact("no one is registered yet")
    menu.expect_exact(f"Name for group {group}: ")
    menu.sendline("First Person")
    menu.expect_exact(f"group {group}: 3 faces are now 'First Person'")
    menu.expect_exact("A group's number")
    menu.sendline("")

    choose(menu, "6")
    menu.expect_exact("registered: First Person")
    menu.expect_exact("Registered person's name")
    menu.sendline("First Person")
    menu.expect(r"3\. \S+\.jpg  distance 0\.\d+  face at [\d,]+  First Person")

    choose(menu, "0")
    menu.expect_exact("bye")


# -- paths, advice, names ------------------------------------------------------------


def test_paths_typed_or_dropped_into_the_terminal_are_understood(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    spaced = tmp_path / "my photos"
    spaced.mkdir()
    for typed in (
        f"{spaced}",
        f"{spaced} ",
        f"'{spaced}' ",
        f'"{spaced}"',
        str(spaced).replace(" ", "\\ "),
        "~/my photos",
        "'~/my photos'",
        f"file://{str(spaced).replace(' ', '%20')}",
    ):
        assert clean_path(typed) == str(spaced), typed
    assert clean_path("  ~/nowhere ") == str(tmp_path / "nowhere")


def test_command_line_advice_is_reworded_for_the_menu():
    assert "FACEREC_CAMERA" in menu_advice(
        "camera 7 could not be opened; pass --source with another camera index, a video file or an image folder"
    )
    said = menu_advice("'Ada' is already registered; nothing stored (answer yes, or pass --yes, to add samples)")
    assert said == "'Ada' is already registered; nothing stored"
    assert "--" not in menu_advice("no groups of unnamed faces (index some photos, or lower --min-faces)")


def test_the_menu_gives_advice_that_fits_the_menu(db, settings, faces: FaceSet, tmp_path: Path):
    env = {**cli_env(settings), "FACEREC_CAMERA": "7"}
    child = spawn_menu(env, tmp_path)
    try:
        choose(child, "1")
        child.expect_exact("Ctrl-C stops")  # text mode: no window to press q in
        child.expect_exact("camera 7 could not be opened; set FACEREC_CAMERA (in .env) to another camera index")
        choose(child, "7")
        child.expect_exact("no groups of unnamed faces (index some photos first: option 4)")
        child.expect_exact("A group's number")
        child.sendline("")
        choose(child, "0")
        child.expect(pexpect.EOF)
        assert "--source" not in child.before and "--min-faces" not in child.before
    finally:
        child.close(force=True)


def test_registering_an_existing_name_from_the_menu_asks_and_no_stores_nothing(db, cli, faces: FaceSet, tmp_path):
    assert cli("register", "Ada", str(faces.people()["deepface_angelina"][0])).returncode == 0
    video = angelina_video(faces, tmp_path / "camera.avi", per_photo=4)
    child = spawn_menu({**cli.env, "FACEREC_CAMERA": str(video)}, tmp_path)
    try:
        choose(child, "2")
        child.expect_exact("registered: Ada")
        child.sendline("Ada")
        choose(child, "2")  # from the camera
        child.expect_exact("Number of samples")
        child.sendline("2")
        child.expect_exact("'Ada' is already registered; add samples to them? [y/N] ")
        child.sendline("n")
        child.expect_exact("'Ada' is already registered; nothing stored")
        child.expect_exact(PROMPT)
        assert "--yes" not in child.before
        assert count(db, "SELECT count(*) FROM faces") == 1
    finally:
        child.close(force=True)


def test_a_camera_registration_that_ends_early_offers_to_keep_the_samples_taken(db, settings, faces: FaceSet, tmp_path):
    video = angelina_video(faces, tmp_path / "camera.avi", per_photo=4)  # 1.6 s: 2 samples, 1.5 s apart
    child = spawn_menu({**cli_env(settings), "FACEREC_CAMERA": str(video)}, tmp_path)
    try:
        choose(child, "2")
        child.expect_exact("Name of the new user")
        child.sendline("Angelina")
        choose(child, "2")  # from the camera
        child.expect_exact("Number of samples (Enter for 5): ")
        child.sendline("many")
        child.expect_exact("enter a whole number of at least 1")
        child.sendline("3")
        child.expect_exact("the source ended with 2 of 3 good samples")
        child.expect_exact("keep the 2 taken? [y/N] ")
        child.sendline("y")
        child.expect_exact("registered 'Angelina': 2 sample(s)")
        choose(child, "0")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert count(db, "SELECT count(*) FROM faces") == 2


# -- the embedded server's life under the menu ----------------------------------------


@pytest.fixture
def own_env(settings, tmp_path: Path) -> dict[str, str]:
    """A data directory no other test uses (its server is started by the menu itself)."""
    return {**cli_env(settings), "FACEREC_DATA_DIR": str(tmp_path / "data")}


def server_pid(data: Path) -> int:
    return int((data / "pgdata" / "postmaster.pid").read_text().split()[0])


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie waiting for its parent to reap it does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_closing_the_terminal_or_a_kill_stops_the_embedded_server_with_the_menu(own_env, tmp_path: Path, sig):
    data = Path(own_env["FACEREC_DATA_DIR"])
    child = spawn_menu(own_env, tmp_path)
    try:
        child.expect_exact("setting up the database (first run)...")  # a new data directory says what it waits for
        child.expect_exact(PROMPT)
        assert EmbeddedServer(data).is_running()
        postmaster = server_pid(data)
        child.kill(sig)
        child.expect(pexpect.EOF, timeout=90)
        child.close()
    finally:
        child.close(force=True)
    assert child.exitstatus == 128 + sig
    assert not (data / "pgdata" / "postmaster.pid").exists()
    assert not alive(postmaster)
    assert not EmbeddedServer(data).is_running()


def test_closing_the_terminal_window_stops_the_embedded_server_with_the_menu(own_env, tmp_path: Path):
    """What tmux's kill-window or closing a terminal emulator does: the terminal goes
    away (its master side closed) and the shell and the menu each get SIGHUP, one
    right after the other; the second must not cut the first one's cleanup short."""
    data = Path(own_env["FACEREC_DATA_DIR"])
    child = spawn_menu(own_env, tmp_path)
    try:
        child.expect_exact(PROMPT)
        postmaster = server_pid(data)
        pid = child.pid
        os.close(child.child_fd)  # the terminal is gone: the kernel hangs up its processes
        for _ in range(3):  # and the closing terminal, or its shell, says so again
            time.sleep(0.05)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGHUP)
        deadline = time.monotonic() + 90
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(pid), "the menu did not leave"
    finally:
        with contextlib.suppress(Exception):
            child.close(force=True)
    users = json.loads((data / "pgserver.pids").read_text()) if (data / "pgserver.pids").exists() else {}
    assert str(pid) not in users
    assert not alive(postmaster) and not EmbeddedServer(data).is_running()


def test_the_menu_reconnects_and_restarts_a_server_that_was_killed(own_env, tmp_path: Path, faces: FaceSet):
    data = Path(own_env["FACEREC_DATA_DIR"])
    child = spawn_menu(own_env, tmp_path)
    try:
        child.expect_exact(PROMPT)
        killed = server_pid(data)
        os.kill(killed, signal.SIGKILL)
        while alive(killed):
            time.sleep(0.1)
        time.sleep(IDLE_CHECK_S + 0.5)  # the menu's connection is idle: it is checked before the next action
        child.sendline("3")
        choose(child, "1")
        child.expect_exact("no one is registered yet")
        choose(child, "0")
        choose(child, "2")
        child.expect_exact("Name of the new user")
        child.sendline("")
        choose(child, "0")
        child.expect_exact("bye")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        assert "not back in" not in child.before and "connection already closed" not in child.before
    finally:
        child.close(force=True)
    assert not EmbeddedServer(data).is_running()


def test_the_menu_asks_about_each_suggestion_and_remembers_the_answers(
    menu: pexpect.spawn, db, faces: FaceSet, tmp_path: Path
):
    folder = tmp_path / "album"
    folder.mkdir()
    for photo in faces.people()["deepface_jennifer"] + faces.people()["deepface_mark"]:
        (folder / f"{photo.parent.name}_{photo.name}").write_bytes(photo.read_bytes())
    choose(menu, "4")
    menu.expect_exact("Folder of photos")
    menu.sendline(str(folder))
    menu.expect(r"seen 11, indexed 11")
    # Split Jennifer's group in two so that the menu has something to ask.
    with db.transaction() as cur:
        cur.execute("SELECT group_id, array_agg(face_id ORDER BY face_id) FROM face_groups GROUP BY group_id")
        groups = sorted(cur.fetchall(), key=lambda r: -len(r[1]))
    jennifer = [g for g in groups if len(g[1]) == 6]
    assert jennifer, groups
    half = jennifer[0][1][3:]
    with db.transaction() as cur:
        cur.execute("UPDATE face_groups SET group_id = %s WHERE face_id = ANY(%s)", (half[0], half))
    choose(menu, "8")
    menu.expect(r"Are group (\d+) \(3 faces\) and group (\d+) \(3 faces\) the same person\? \[y/n/skip")
    menu.sendline("n")
    menu.expect_exact("are different people: remembered")
    choose(menu, "8")
    menu.expect_exact("no suggestions")
    assert count(db, "SELECT count(*) FROM face_links WHERE kind = 'different'") == 1
    choose(menu, "0")
    menu.expect_exact("bye")


def test_the_menu_registers_a_person_from_photos_and_everyone_of_a_folder(db, settings, faces: FaceSet, tmp_path: Path):
    """Item 2 without a camera: photos dragged into the terminal, or a folder of people."""
    obama = faces.people()["barack_obama"][:2]
    folder = tmp_path / "my people"
    for person in ("kit_harington", "rose_leslie"):
        (folder / person).mkdir(parents=True)
        for photo in faces.people()[person][:2]:
            (folder / person / photo.name).write_bytes(photo.read_bytes())
    child = spawn_menu({**cli_env(settings), "HOME": str(tmp_path)}, tmp_path)
    try:
        choose(child, "2")
        child.expect_exact("Name of the new user, or a folder of people")
        child.sendline("Barack Obama")
        child.expect_exact("1. Photos of them")
        choose(child, "1")
        child.expect_exact("Photos of Barack Obama")
        child.sendline(" ".join(f"'{p}'" for p in obama) + " ")
        child.expect_exact("registered 'Barack Obama': 2 sample")
        choose(child, "2")
        child.expect_exact("Name of the new user")
        child.sendline(f"'{folder}' ")
        child.expect_exact(f"Registering everyone of {folder}")
        child.expect_exact("kit_harington")
        child.expect_exact("rose_leslie")
        choose(child, "0")
        child.expect_exact("bye")
    finally:
        child.close(force=True)
    assert count(db, "SELECT count(*) FROM people") == 3


def test_the_menus_people_view_hides_merges_splits_and_pages(db, settings, cli, faces: FaceSet, tmp_path: Path):
    assert cli("index", str(faces.root / "people")).returncode == 0
    groups = sorted(people_view(Context(settings, db=db)).groups, key=lambda g: -g.size)
    first, second = groups[0], groups[1]
    child = spawn_menu({**cli_env(settings), "HOME": str(tmp_path)}, tmp_path)
    try:
        choose(child, "7")
        child.expect_exact(f"group {first.id}: {first.size} faces")
        child.expect_exact("A group's number")
        child.sendline(str(first.id))
        choose(child, "4")  # hide it
        child.expect_exact(f"group {first.id} hidden from People")
        child.expect_exact("(u: list them to show one again)")
        child.expect_exact("A group's number")
        child.sendline("u")
        child.expect_exact(f"group {first.id}: {first.size} faces")
        child.expect_exact("u: back to People")
        child.sendline(str(first.id))
        child.expect_exact("4. Show it in People again")
        choose(child, "4")
        child.expect_exact(f"group {first.id} shown in People again")
        child.expect_exact("A group's number")
        child.sendline("")  # out of the hidden list
        child.expect_exact("A group's number")
        child.sendline(str(second.id))
        choose(child, "3")  # take a face out
        child.expect_exact("Face ids that are not this person")
        out = second.faces[-1].face_id
        child.sendline(str(out))
        child.expect_exact(f"face {out} taken out of group {second.id}")
        child.expect_exact("A group's number")
        child.sendline(str(second.id))
        choose(child, "2")  # merge it into the first group: two people, so the guard asks
        child.expect_exact(f"Merge group {second.id} into")
        child.sendline(str(first.id))
        child.expect_exact("do not look like one person")
        child.expect_exact("anyway? [y/N]")
        child.sendline("n")
        child.expect_exact("nothing stored")
        child.expect_exact("A group's number")
        child.sendline("n")  # the next page: there is none
        child.expect_exact("no groups from 51")
        child.expect_exact("A group's number")
        child.sendline("p")
        child.expect_exact(f"group {first.id}: {first.size} faces")
        child.expect_exact("A group's number")
        child.sendline("")
        choose(child, "0")
        child.expect_exact("bye")
    finally:
        child.close(force=True)


def test_the_menu_with_an_unreachable_database_url_says_so_and_ends(settings, tmp_path: Path):
    env = {**cli_env(settings), "DATABASE_URL": "postgresql://someone:pw@127.0.0.1:1/faces"}
    child = spawn_menu(env, tmp_path)
    try:
        child.expect_exact("facerec: cannot connect to someone@127.0.0.1:1/faces")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 1
        assert "Choose an option" not in child.before and "pw" not in child.before.replace("people", "")
    finally:
        child.close(force=True)
