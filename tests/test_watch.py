"""`facerec watch` (issue 24, items 3-4): a library that keeps itself up to date, with a
real watcher (inotify through watchdog), bounded in time: every wait polls for its
condition with a generous timeout. Moved and renamed files keep their faces and names,
through `index` and through `watch`."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pexpect
import pytest

from facerec.config import Settings
from facerec.db import Database
from facerec.usecases.context import Context
from facerec.usecases.library.index import index_folders
from facerec.usecases.library.watch import WatchEvent, WatchReport, watch_folders
from facerec.usecases.people.register import register_photos
from tests.helpers import CLI, PROJECT, FaceSet, count, spawn_terminal

TIMEOUT_S = 120.0
"""Every wait's bound: a pass starts a worker process that loads the models (seconds on a busy machine)."""
SETTLE_S = 1.5


def wait_for(condition: Callable[[], object], what: str, timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def names(db: Database, root: Path) -> dict[str, list[str | None]]:
    """Each picture under `root` (relative path) -> the names on its faces (None: unnamed)."""
    with db.transaction() as cur:
        cur.execute(
            "SELECT p.picture, pe.name FROM faces f JOIN pictures p ON p.id = f.picture_id"
            " LEFT JOIN people pe ON pe.id = f.person_id"
            " WHERE p.indexed_at IS NOT NULL AND starts_with(p.picture, %s) ORDER BY p.picture, f.id",
            (str(root) + "/",),
        )
        out: dict[str, list[str | None]] = {}
        for picture, name in cur.fetchall():
            out.setdefault(os.path.relpath(picture, root), []).append(name)
        return out


def face_ids(db: Database, root: Path) -> dict[str, list[int]]:
    with db.transaction() as cur:
        cur.execute(
            "SELECT p.picture, f.id FROM faces f JOIN pictures p ON p.id = f.picture_id"
            " WHERE starts_with(p.picture, %s) ORDER BY p.picture, f.id",
            (str(root) + "/",),
        )
        out: dict[str, list[int]] = {}
        for picture, face in cur.fetchall():
            out.setdefault(os.path.relpath(picture, root), []).append(face)
        return out


def indexed(db: Database, path: Path) -> bool:
    return count(db, "SELECT count(*) FROM pictures WHERE picture = %s AND indexed_at IS NOT NULL", str(path)) == 1


@dataclasses.dataclass
class Watching:
    """A watcher running on a thread of its own (its own database connection), as the web page runs it."""

    events: list[WatchEvent]
    stop: threading.Event
    report: list[WatchReport]

    def of_kind(self, kind: str) -> list[WatchEvent]:
        return [e for e in list(self.events) if e.kind == kind]


@contextmanager
def watching(
    settings: Settings, folders: list[Path], settle: float = SETTLE_S, **options: object
) -> Iterator[Watching]:
    """Start `watch_folders`, wait until it watches (or fell back), stop it at the end."""
    settings = dataclasses.replace(settings, watch_settle_s=settle, watch_poll_s=1.0)
    w = Watching([], threading.Event(), [])
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with Context(settings) as ctx:
                w.report.append(watch_folders(ctx, folders, 1, w.events.append, w.stop, **options))  # type: ignore[arg-type]
        except BaseException as exc:  # shown by the test, not lost on the thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="test-watch", daemon=True)
    thread.start()
    try:
        wait_for(lambda: errors or w.of_kind("watching") or w.of_kind("fallback"), "the watcher to start")
        assert not errors, errors
        yield w
    finally:
        w.stop.set()
        thread.join(TIMEOUT_S)
        assert not thread.is_alive(), "the watcher did not stop"
    assert not errors, errors
    assert [e for e in w.events if e.kind == "error"] == []
    assert [e.index.failed for e in w.events if e.index is not None and e.index.failed] == []


def person_photos(faces: FaceSet, count_: int) -> list[tuple[str, Path]]:
    """One JPEG each of `count_` people: (name, photo)."""
    people = sorted(faces.people().items())[:count_]
    return [(name, next(p for p in photos if p.suffix == ".jpg")) for name, photos in people]


def named_folder(ctx: Context, faces: FaceSet, folder: Path) -> dict[str, list[str | None]]:
    """A folder of photos of three people, indexed, each face named; returns the expected names by file."""
    folder.mkdir(parents=True)
    expected = {}
    for i, (name, photo) in enumerate(person_photos(faces, 3)):
        target = folder / f"photo_{i}.jpg"
        shutil.copy(photo, target)
        expected[target.name] = [name]
    index_folders(ctx, [folder.parent], workers=1)
    for file, (name,) in expected.items():
        register_photos(ctx, name, [folder / file], force=True)  # names the face of the library photo
    return expected


def under(expected: dict[str, list[str | None]], folder: str) -> dict[str, list[str | None]]:
    return {os.path.join(folder, k): v for k, v in expected.items()}


# -- index ------------------------------------------------------------------------------------------


def test_a_renamed_folder_of_named_photos_keeps_every_name_through_index(
    ctx: Context, db: Database, faces: FaceSet, tmp_path: Path
):
    lib = tmp_path / "lib"
    expected = named_folder(ctx, faces, lib / "Trip")
    assert names(db, lib) == under(expected, "Trip")
    ids = sorted(i for v in face_ids(db, lib).values() for i in v)

    os.rename(lib / "Trip", lib / "Holiday 2024")
    report = index_folders(ctx, [lib], workers=1, prune=True)
    assert (report.moved, report.indexed, report.pruned) == (3, 0, 0)
    assert names(db, lib) == under(expected, "Holiday 2024")

    os.rename(lib / "Holiday 2024", lib / "HOLIDAY 2024")  # a case-only rename, folder and file
    os.rename(lib / "HOLIDAY 2024" / "photo_0.jpg", lib / "HOLIDAY 2024" / "PHOTO_0.JPG")
    report = index_folders(ctx, [lib], workers=1, prune=True)
    assert (report.moved, report.indexed, report.pruned) == (3, 0, 0)
    renamed = under(expected, "HOLIDAY 2024")
    renamed["HOLIDAY 2024/PHOTO_0.JPG"] = renamed.pop("HOLIDAY 2024/photo_0.jpg")
    assert names(db, lib) == renamed
    assert sorted(i for v in face_ids(db, lib).values() for i in v) == ids  # the same faces, not new ones


# -- watch --------------------------------------------------------------------------------------------


def test_a_file_copied_in_slowly_is_indexed_once_and_only_after_it_settles(
    db: Database, settings: Settings, faces: FaceSet, tmp_path: Path
):
    lib = tmp_path / "lib"
    lib.mkdir()
    (_, photo), (_, other) = person_photos(faces, 2)
    data = photo.read_bytes()
    with watching(settings, [lib]) as w:
        slow = lib / "slow.jpg"
        chunks = 16  # written over ~3 s, a chunk every 0.2 s: never still for the settle time (1.5 s)
        step = len(data) // chunks + 1
        with slow.open("wb") as out:
            for i in range(chunks):
                out.write(data[i * step : (i + 1) * step])
                out.flush()
                time.sleep(0.2)
                assert not indexed(db, slow), f"indexed while being written (chunk {i + 1} of {chunks})"
        wait_for(lambda: indexed(db, slow), "the settled file to be indexed")
        with db.transaction() as cur:
            cur.execute("SELECT size, sha256 FROM pictures WHERE picture = %s", (str(slow),))
            assert cur.fetchone() == (len(data), hashlib.sha256(data).hexdigest())  # the whole file
        first = face_ids(db, lib)
        assert first["slow.jpg"]

        album = tmp_path / "album"  # a folder copied in: each of its photos indexed
        album.mkdir()
        shutil.copy(other, album / "a.jpg")
        shutil.copy(photo, album / "b.jpg")
        shutil.copytree(album, lib / "album")
        wait_for(lambda: indexed(db, lib / "album" / "a.jpg") and indexed(db, lib / "album" / "b.jpg"), "the album")
        assert face_ids(db, lib)["slow.jpg"] == first["slow.jpg"]  # not analysed again
        passes = [e for e in w.of_kind("indexed") if str(slow) in e.paths]
        assert len(passes) == 1, passes


def test_a_file_written_just_before_the_watch_starts_is_indexed_once_it_settles(
    db: Database, settings: Settings, faces: FaceSet, tmp_path: Path
):
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(person_photos(faces, 1)[0][1], lib / "fresh.jpg")  # maybe still being written, for all it knows
    with watching(settings, [lib], settle=5.0) as w:  # the start's pass leaves it (changed < 5 s ago)
        wait_for(lambda: indexed(db, lib / "fresh.jpg"), "the fresh file to be indexed once settled")
    assert [e.paths for e in w.of_kind("indexed")] == [(str(lib / "fresh.jpg"),)]  # by a pass of its own


def test_a_deletion_prunes_and_a_renamed_folder_keeps_every_name_while_watching(
    ctx: Context, db: Database, settings: Settings, faces: FaceSet, tmp_path: Path
):
    lib = tmp_path / "lib"
    expected = named_folder(ctx, faces, lib / "Trip")
    ids = face_ids(db, lib)
    with watching(settings, [lib]) as w:
        os.rename(lib / "Trip", lib / "Holiday 2024")
        moved = under(expected, "Holiday 2024")
        wait_for(lambda: names(db, lib) == moved, "the names to follow the renamed folder")
        assert sorted(face_ids(db, lib).values()) == sorted(ids.values())  # the same faces, moved
        moves = lambda: any(e.index is not None and e.index.moved == 3 for e in w.of_kind("indexed"))  # noqa: E731
        wait_for(moves, "the pass that moved them to be reported")  # (said after the database changed)

        os.rename(lib / "Holiday 2024", lib / "holiday 2024")  # case only
        os.rename(lib / "holiday 2024" / "photo_1.jpg", lib / "holiday 2024" / "Photo_1.jpg")
        renamed = under(expected, "holiday 2024")
        renamed["holiday 2024/Photo_1.jpg"] = renamed.pop("holiday 2024/photo_1.jpg")
        wait_for(lambda: names(db, lib) == renamed, "the names to follow a case-only rename")

        (lib / "holiday 2024" / "photo_2.jpg").unlink()
        del renamed["holiday 2024/photo_2.jpg"]
        wait_for(lambda: names(db, lib) == renamed, "the deleted photo to be pruned")
        gone = "SELECT count(*) FROM pictures WHERE picture LIKE %s AND indexed_at IS NOT NULL"
        assert count(db, gone, "%photo_2.jpg") == 0  # out of the library (its registration sample stays)
        assert sum(e.pruned for e in w.of_kind("pruned")) == 1
    assert w.report[0].mode == "events" and w.report[0].pruned == 1


class _Refused:
    """An observer the system refuses, as inotify does past `fs.inotify.max_user_watches`."""

    def schedule(self, event_handler: object, path: str, *, recursive: bool = False) -> None:
        pass

    def start(self) -> None:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    def stop(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        pass

    def is_alive(self) -> bool:
        return False


def test_when_the_system_refuses_watches_it_says_so_once_and_indexes_periodically(
    db: Database, settings: Settings, faces: FaceSet, tmp_path: Path
):
    lib = tmp_path / "lib"
    lib.mkdir()
    (_, photo), (_, other) = person_photos(faces, 2)
    data = photo.read_bytes()
    with watching(settings, [lib], observer_factory=_Refused) as w:
        with (lib / "new.jpg").open("wb") as out:  # a copy in progress over ~3 s: passes wait for it (1 s apart)
            for i in range(16):
                out.write(data[i * (len(data) // 16 + 1) : (i + 1) * (len(data) // 16 + 1)])
                out.flush()
                time.sleep(0.2)
                assert not indexed(db, lib / "new.jpg"), f"indexed while being written (chunk {i + 1})"
        wait_for(lambda: indexed(db, lib / "new.jpg"), "the periodic index to pick up a new file")
        assert count(db, "SELECT size FROM pictures WHERE picture = %s", str(lib / "new.jpg")) == len(data)
        shutil.copy(other, lib / "later.jpg")
        wait_for(lambda: indexed(db, lib / "later.jpg"), "a second periodic pass")
        (lib / "new.jpg").unlink()
        wait_for(lambda: not indexed(db, lib / "new.jpg"), "the periodic index to prune")
    fallbacks = w.of_kind("fallback")
    assert len(fallbacks) == 1, fallbacks
    assert "refuses more file watches" in fallbacks[0].text and "every 1 s" in fallbacks[0].text
    assert w.of_kind("watching") == []
    assert w.report[0].mode == "polling"


def test_sigterm_stops_facerec_watch_cleanly_and_it_watches_the_indexed_folders_by_default(
    cli: CLI, ctx: Context, faces: FaceSet, tmp_path: Path
):
    lib = tmp_path / "lib"
    (lib / "a" / "b").mkdir(parents=True)
    (_, photo), (_, other) = person_photos(faces, 2)
    shutil.copy(photo, lib / "a" / "1.jpg")
    shutil.copy(other, lib / "a" / "b" / "2.jpg")
    index_folders(ctx, [lib], workers=1)
    child = spawn_terminal(
        [sys.executable, str(PROJECT / "face_recognition.py"), "watch"],
        env=cli.env | {"FACEREC_WATCH_SETTLE_S": "0.5"},
        cwd=str(cli.cwd),
        encoding="utf-8",
        timeout=TIMEOUT_S,
    )
    try:
        child.expect(r"facerec watch: watching (.*) for changes \(Ctrl-C stops\)\r\n")
        assert child.match.group(1) == str(lib / "a")  # the folders already indexed, as few as cover them
        child.kill(signal.SIGTERM)
        child.expect(pexpect.EOF)
        rest = [line for line in (child.before or "").splitlines() if line.strip()]
        assert len(rest) == 1 and rest[0].startswith("facerec watch: stopped; "), rest
    finally:
        child.close(force=True)
    assert (child.exitstatus, child.signalstatus) == (0, None)


def test_watch_without_folders_and_nothing_indexed_says_what_to_do(cli: CLI, tmp_path: Path):
    r = cli("watch")
    assert r.returncode == 2 and "give the folders to watch" in r.stderr and "Traceback" not in r.stderr
    r = cli("watch", str(tmp_path / "nope"))
    assert r.returncode == 1 and "no such folder" in r.stderr and "Traceback" not in r.stderr


def test_watch_opens_no_network_connection_and_writes_nothing_in_home(cli: CLI, faces: FaceSet, tmp_path: Path):
    """watchdog as facerec uses it: inotify only, no AF_INET socket, nothing left in HOME (as tests/test_privacy.py)."""
    strace = shutil.which("strace")
    if strace is None:
        raise AssertionError("strace is not installed (apt-get install strace)")
    lib = tmp_path / "lib"
    lib.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "watch.strace"
    env = {k: v for k, v in cli.env.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")}
    env |= {"HOME": str(home), "FACEREC_WATCH_SETTLE_S": "0.5"}
    traced = "trace=connect,bind,sendto,sendmsg,inotify_init1,inotify_init"
    argv = [strace, "-f", "-qq", "-e", traced, "-e", "signal=none", "-o", str(log)]
    argv += [sys.executable, str(PROJECT / "face_recognition.py"), "watch", str(lib)]
    child = spawn_terminal(argv, env=env, cwd=str(cli.cwd), encoding="utf-8", timeout=TIMEOUT_S)
    try:
        child.expect("for changes")
        shutil.copy(person_photos(faces, 1)[0][1], lib / "new.jpg")
        child.expect(r"indexed 1, moved 0")
        facerec = int(Path(f"/proc/{child.pid}/task/{child.pid}/children").read_text().split()[0])
        os.kill(facerec, signal.SIGTERM)  # facerec itself, not strace
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    calls = log.read_text().splitlines()
    assert [c for c in calls if "AF_INET" in c] == []
    assert any("inotify_init" in c for c in calls), "the watcher should use inotify"
    assert list(home.rglob("*")) == []


def test_the_menu_watches_a_folder_until_ctrl_c_and_comes_back(cli: CLI, faces: FaceSet, tmp_path: Path):
    from tests.test_menu import choose, spawn_menu

    lib = tmp_path / "lib"
    lib.mkdir()
    child = spawn_menu(cli.env | {"FACEREC_WATCH_SETTLE_S": "0.5", "HOME": str(tmp_path)}, tmp_path)
    try:
        child.expect_exact("w. Watch the library folders")
        choose(child, "w")
        child.expect_exact("Folder to watch")
        child.sendline(str(lib))
        child.expect_exact(f"watching {lib} for changes", timeout=TIMEOUT_S)
        shutil.copy(person_photos(faces, 1)[0][1], lib / "new.jpg")
        child.expect(r"indexed 1, moved 0", timeout=TIMEOUT_S)
        child.sendintr()
        child.expect_exact("facerec watch: stopped; indexed 1")
        choose(child, "0")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_the_library_screen_switches_a_background_watcher_on_and_off(
    db: Database, settings: Settings, pipeline, faces: FaceSet, tmp_path: Path
):
    from starlette.testclient import TestClient

    from facerec.web.app import create_app
    from facerec.web.security import cookie_name, new_secrets

    lib = tmp_path / "lib"
    lib.mkdir()
    quick = dataclasses.replace(settings, watch_settle_s=0.5)
    keys = new_secrets()
    with Context(quick, db=db, pipeline=pipeline) as ctx:
        app = create_app(ctx, keys, index_workers=1)
        with TestClient(app, base_url="http://127.0.0.1:8765", follow_redirects=False) as web:
            web.cookies.set(cookie_name(8765), keys.token)
            assert 'aria-checked="false"' in web.get("/library").text
            form = {"csrf": keys.csrf, "next": "/library", "folder": str(lib)}
            assert web.post("/library/watch", data={**form, "csrf": "0" * 64}).status_code == 403
            assert web.app.state.watch.status().state == "off"  # type: ignore[attr-defined]

            r = web.post("/library/watch", data=form)
            assert r.status_code == 303
            job = web.app.state.watch  # type: ignore[attr-defined]
            wait_for(lambda: job.status().state == "watching", "the page's watcher to start")
            page = web.get("/library").text
            assert 'aria-checked="true"' in page and f"watching {lib} for changes" in page
            assert "already watching" in web.get(web.post("/library/watch", data=form).headers["location"]).text

            shutil.copy(person_photos(faces, 1)[0][1], lib / "new.jpg")
            wait_for(lambda: indexed(db, lib / "new.jpg"), "the page's watcher to index a new photo")
            wait_for(lambda: "indexed 1" in job.status().message, "the page to say so")

            assert web.post("/library/watch/stop", data=form).status_code == 303
            wait_for(lambda: job.status().state == "off", "the watcher to stop")
            assert 'aria-checked="false"' in web.get("/library").text

            assert web.post("/library/watch", data=form).status_code == 303  # on again, then the server stops
            wait_for(lambda: job.status().state == "watching", "the watcher to start again")
        assert job.status().state == "off" and not job._thread.is_alive()  # stopped with the server


LIMITED = '''
"""`facerec watch DIR` under a real inotify limit of LIMIT watches: the database connection is
opened first (its socket folder is not reachable from a user namespace), then this process,
still single-threaded, moves into a user namespace of its own and lowers that namespace's limit."""
import ctypes, os, sys

def main() -> int:
    from facerec.config import load_settings
    from facerec.db import Database

    settings = load_settings()
    db = Database.open(settings)
    uid, gid = os.getuid(), os.getgid()
    if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0:  # CLONE_NEWUSER
        print("cannot make a user namespace:", os.strerror(ctypes.get_errno()))
        return 77
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1"),
                       ("../sys/user/max_inotify_watches", sys.argv[2])):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    from facerec.ui.commands.watch import watch
    from facerec.ui.console import Console
    from facerec.usecases.context import Context

    with Context(settings, db=db) as ctx:
        return watch(ctx, Console(), [sys.argv[1]])

if __name__ == "__main__":
    sys.exit(main())
'''


def test_a_real_inotify_limit_is_said_once_and_the_periodic_index_covers_the_unwatched_folders(
    cli: CLI, faces: FaceSet, tmp_path: Path
):
    """watchdog skips, without a word, a subfolder whose watch the kernel refuses: facerec counts them."""
    lib = tmp_path / "lib"
    deep = lib / "a" / "b" / "c" / "d" / "e" / "f"
    deep.mkdir(parents=True)  # 7 folders, 3 watches allowed
    script = tmp_path / "limited.py"
    script.write_text(LIMITED)
    env = cli.env | {"OPENBLAS_NUM_THREADS": "1", "FACEREC_WATCH_SETTLE_S": "0.5", "FACEREC_WATCH_POLL_S": "1"}
    child = spawn_terminal(
        [sys.executable, str(script), str(lib), "3"], env=env, cwd=str(cli.cwd), encoding="utf-8", timeout=TIMEOUT_S
    )
    try:
        if child.expect(["refuses more file watches", "cannot make a user namespace"]) == 1:
            pytest.skip("user namespaces are not allowed here (the fallback test above covers the refusal)")
        shutil.copy(person_photos(faces, 1)[0][1], deep / "new.jpg")  # in a folder without a watch
        child.expect(r"indexed 1, moved 0")
        said = child.before
        child.kill(signal.SIGTERM)
        child.expect(pexpect.EOF)
        said += child.before
    finally:
        child.close(force=True)
    assert "4 folders could not be watched" in said and "user.max_inotify_watches = 3" in said
    assert "refuses" not in said  # said once (the first one is before `said`)
    assert child.exitstatus == 0
