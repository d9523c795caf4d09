"""Faults (issue 6): a database that cannot be reached, refuses the password or
restarts mid-run; processes killed with SIGKILL; two processes at once; a
model file missing or damaged. Nothing is half-written, nothing leaks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from facerec.config import Settings, load_settings
from facerec.db import Database
from facerec.db.library import IndexedPhoto
from facerec.db.server import EmbeddedServer
from facerec.types import Box, EmbeddedFace, Face
from facerec.usecases.library.index import FoundFile, analyze_file
from facerec.vision.pipeline import Pipeline
from tests.gui import press, wait_for_window
from tests.helpers import CLI, PROJECT, FaceSet, cli_env, count
from tests.media import pan_zoom, write_video
from tests.robust import password_server, wait_for

SECRET = "S3cret-Pa55word"


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def copy_photos(paths: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, src in enumerate(paths):
        shutil.copy(src, folder / f"{i:03d}{src.suffix}")
    return folder


def faces_per_picture(db: Database) -> dict[str, int]:
    with db.transaction() as cur:
        cur.execute(
            "SELECT p.picture, count(f.id) FROM pictures p LEFT JOIN faces f ON f.picture_id = p.id GROUP BY p.picture"
        )
        return {picture: int(n) for picture, n in cur.fetchall()}


def clean_analysis(pipeline: Pipeline, folder: Path) -> dict[str, int]:
    """Faces per photo, as one uninterrupted analysis of each file finds them."""
    out = {}
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        analysis = analyze_file(pipeline, frozenset(), FoundFile(str(f), str(f), 0, 0.0))
        assert analysis.photo is not None, analysis.error
        out[str(f)] = len(analysis.photo.faces)
    return out


def duplicate_faces(db: Database) -> int:
    return count(
        db,
        "SELECT count(*) FROM (SELECT 1 FROM faces GROUP BY picture_id, model, box HAVING count(*) > 1) d",
    )


# -- DATABASE_URL -----------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a hung or firewalled server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s.getsockname()[1]


@pytest.mark.slow
def test_an_unreachable_database_url_is_one_line_within_about_5_s_and_never_shows_the_password(
    cli: CLI, silent_server: int
):
    cases = [
        (f"postgresql://alice:{SECRET}@127.0.0.1:1/facerec", "cannot connect to alice@127.0.0.1:1/facerec"),
        (f"postgresql://alice:{SECRET}@127.0.0.1:{silent_server}/facerec", "timeout expired"),
        (f"postgresql://alice:{SECRET}@no-such-host.invalid/facerec", "could not translate host name"),
        (f"host=127.0.0.1 port=1 user=alice password={SECRET} dbname=facerec", "cannot connect to alice@127.0.0.1:1"),
        (f"postgresql://alice:{SECRET}@[::1/facerec", "DATABASE_URL is not a valid connection string"),
    ]
    for url, fragment in cases:
        started = time.monotonic()
        r = cli("-vv", "users", DATABASE_URL=url, FACEREC_LOG_LEVEL="DEBUG")
        elapsed = time.monotonic() - started
        assert r.returncode == 1
        line = one_error_line(r)
        assert fragment in line, line
        assert SECRET not in r.stdout + r.stderr
        assert elapsed < 9, (url, elapsed)  # the connect timeout is 5 s
        if "timeout" in fragment:
            assert elapsed > 4.5, elapsed  # it was the timeout that ended the wait


@pytest.mark.slow
def test_a_wrong_password_says_authentication_failed_without_echoing_it(cli: CLI, settings: Settings):
    with password_server("facerec_test", SECRET, EmbeddedServer(settings.data_dir).programs()) as server:
        wrong = "Wr0ng-Guess-77"
        r = cli("-vv", "users", DATABASE_URL=server.url(wrong), FACEREC_LOG_LEVEL="DEBUG")
        assert r.returncode == 1
        line = one_error_line(r)
        assert "password authentication failed for user" in line
        assert f"cannot connect to facerec_test@127.0.0.1:{server.port}/postgres" in line
        assert wrong not in r.stdout + r.stderr and SECRET not in r.stdout + r.stderr

        # The right password works (pgvector is there) and is not shown either.
        r = cli("-vv", "users", DATABASE_URL=server.url(), FACEREC_LOG_LEVEL="DEBUG")
        assert r.returncode == 0, r.stderr
        assert "no one is registered yet" in r.stdout
        assert SECRET not in r.stdout + r.stderr


# -- a database of the tests' own, for restarts and for sharing ------------------------------


@pytest.fixture(scope="module")
def own_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A data directory with an embedded server that no other test uses (created, then stopped)."""
    data = tmp_path_factory.mktemp("own-server")
    settings = load_settings({"FACEREC_DATA_DIR": str(data)}, dotenv_path=data / "no.env")
    Database.open(settings).close()
    assert not EmbeddedServer(data).is_running()
    yield settings
    EmbeddedServer(data).stop()


def restart_server(settings: Settings) -> None:
    """`pg_ctl restart -m fast`, as the user who owns the cluster (not root), with the
    programs that user can reach."""
    owner = settings.pgdata.stat()
    subprocess.run(
        [
            str(EmbeddedServer(settings.data_dir).programs() / "pg_ctl"), "restart", "-m", "fast", "-w", "-t", "60",
            "-D", str(settings.pgdata), "-l", str(settings.pgdata / "server.log"),
        ],
        check=True, capture_output=True, stdin=subprocess.DEVNULL, cwd=settings.data_dir,
        user=owner.st_uid, group=owner.st_gid, extra_groups=[] if os.geteuid() == 0 else None,
    )  # fmt: skip


@pytest.mark.slow
def test_a_database_restart_during_index_reconnects_and_no_photo_is_left_with_some_of_its_faces(
    own_settings: Settings, faces: FaceSet, pipeline: Pipeline, tmp_path: Path
):
    folder = copy_photos([p.path for p in faces.of_kind("face")][:40], tmp_path / "photos")
    watcher = Database.open(own_settings)
    with watcher.transaction() as cur:
        cur.execute("TRUNCATE people, pictures, faces RESTART IDENTITY CASCADE")
    proc = subprocess.Popen(
        [sys.executable, str(PROJECT / "face_recognition.py"), "--json", "index", str(folder), "--workers", "1"],
        env=cli_env(own_settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: count(watcher, "SELECT count(*) FROM pictures") >= 3, 120, "the first photos")
        assert proc.poll() is None, "the run should still be going"
        restart_server(own_settings)
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.close()
    assert proc.returncode == 0, err
    assert "database connection lost; reconnecting" in err
    summary = json.loads(out)
    assert (summary["indexed"], summary["failed"]) == (40, [])
    with Database.open(own_settings) as db:
        assert faces_per_picture(db) == clean_analysis(pipeline, folder)
        assert duplicate_faces(db) == 0
    assert not EmbeddedServer(own_settings.data_dir).is_running()  # the last user left: stopped


def test_the_embedded_server_is_shared_by_processes_and_stops_when_the_last_one_leaves(own_settings: Settings):
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from facerec.config import load_settings\n"
        "from facerec.db import Database\n"
        f"settings = load_settings({{'FACEREC_DATA_DIR': {str(own_settings.data_dir)!r}}}, Path('/nonexistent/.env'))\n"
        "db = Database.open(settings)\n"
        "for line in sys.stdin:\n"
        "    if line.strip() == 'query':\n"
        "        with db.transaction() as cur:\n"
        "            cur.execute('SELECT count(*) FROM schema_migrations')\n"
        "            print('rows', cur.fetchone()[0], flush=True)\n"
        "    else:\n"
        "        break\n"
        "db.close()\n"
    )
    server = EmbeddedServer(own_settings.data_dir)

    def start() -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=PROJECT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert ask(proc, "query").startswith("rows ")
        return proc

    def ask(proc: subprocess.Popen[str], line: str) -> str:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        return proc.stdout.readline()

    first, second = start(), start()
    assert server.is_running()
    first.communicate("bye\n", timeout=30)
    assert first.returncode == 0 and server.is_running()
    assert ask(second, "query").startswith("rows ")  # still served
    second.communicate("bye\n", timeout=30)
    assert second.returncode == 0
    assert not server.is_running()

    # A user killed with SIGKILL never says goodbye: the next one to leave prunes it.
    crashed = start()
    crashed.kill()
    crashed.wait()
    last = start()
    last.communicate("bye\n", timeout=30)
    assert not server.is_running()

    # Two stores in one process: closing one leaves the other connected.
    a, b = Database.open(own_settings), Database.open(own_settings)
    b.close()
    assert a.applied_migrations() and server.is_running()
    a.close()
    assert not server.is_running()

    # `stop` (test teardown) stops it whoever uses it, also from a fresh object as root.
    user = start()
    EmbeddedServer(own_settings.data_dir).stop()
    assert not server.is_running()
    user.communicate("bye\n", timeout=30)


# -- SIGKILL ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_registration_killed_midway_then_rerun_ends_with_exactly_its_rows_and_no_orphan_crops(
    cli: CLI, db: Database, settings: Settings, faces: FaceSet, tmp_path: Path
):
    folder = copy_photos(faces.people()["deepface_angelina"][:4] * 6, tmp_path / "angelina")
    photos = [str(p) for p in sorted(folder.iterdir())]
    proc = subprocess.Popen(
        [sys.executable, str(PROJECT / "face_recognition.py"), "register", "Angelina", *photos],
        env=cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    captures = settings.captures_dir
    # Crops are written just before the transaction: kill while they are being written.
    wait_for(lambda: captures.exists() and any(captures.iterdir()), 120, "the first crop", poll=0.002)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    samples = count(db, "SELECT count(*) FROM faces")
    assert samples in (0, len(photos)), "all or nothing: never half a person"
    assert count(db, "SELECT count(*) FROM people") == (1 if samples else 0)
    left = sorted(captures.iterdir())
    assert left, "the kill left crop files behind"

    # Ten minutes later (crops younger than that may belong to a registration in progress)...
    old = time.time() - 3600
    for f in left:
        os.utime(f, (old, old))
    r = cli("register", "Angelina", *photos)
    assert r.returncode == 0, r.stderr
    assert count(db, "SELECT count(*) FROM people") == 1
    assert count(db, "SELECT count(*) FROM pictures") == len(photos)
    assert count(db, "SELECT count(*) FROM faces") == len(photos)
    assert duplicate_faces(db) == 0
    with db.transaction() as cur:
        cur.execute("SELECT crop FROM faces")
        referenced = {settings.data_dir / r[0] for r in cur.fetchall()}
    assert set(captures.iterdir()) == referenced  # no orphan crop is left

    again = cli("register", "Angelina", *photos[:3])  # registering the same photos again adds nothing
    assert again.returncode == 0 and "nothing added to 'Angelina': all 3 are already stored" in again.stdout
    assert count(db, "SELECT count(*) FROM faces") == len(photos)
    assert len(list(captures.iterdir())) == len(photos)


# -- two processes at once -----------------------------------------------------------------


def _photo(i: int, rng: np.random.Generator) -> IndexedPhoto:
    vector = rng.standard_normal(128).astype(np.float32)
    face = EmbeddedFace(Face(Box(10, 10, 40, 40), 0.9), vector / np.linalg.norm(vector), "sface")
    return IndexedPhoto(f"/photos/{i:03d}.jpg", f"{i:064x}", 1000, 1.0, 100, 100, [face])


def test_two_indexers_saving_the_same_photos_in_opposite_orders_never_deadlock(db: Database, settings: Settings):
    rng = np.random.default_rng(6)
    photos = [_photo(i, rng) for i in range(30)]
    errors: list[str] = []

    def save(order: list[IndexedPhoto]) -> None:
        with Database.open(settings) as own:
            for _ in range(5):
                try:
                    own.stores("sface", 128).library.save_photos(order)
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=save, args=(order,)) for order in (photos, photos[::-1])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert count(db, "SELECT count(*) FROM pictures") == 30
    assert count(db, "SELECT count(*) FROM faces") == 30


@pytest.mark.slow
def test_two_index_runs_over_overlapping_folders_both_finish_with_no_duplicates(
    cli: CLI, db: Database, faces: FaceSet, pipeline: Pipeline, tmp_path: Path
):
    root = tmp_path / "library"
    people = [p.path for p in faces.of_kind("face")]
    copy_photos(people[:12], root)
    copy_photos(people[12:24], root / "2024")
    runs = [
        [str(root)],
        [str(root / "2024"), str(root)],  # overlapping folders within one run too
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, str(PROJECT / "face_recognition.py"), "--json", "index", *folders, "--workers", "1"],
            env=cli.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folders in runs
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0, err
        summary = json.loads(out)
        assert summary["seen"] == 24 and summary["failed"] == []
    assert faces_per_picture(db) == clean_analysis(pipeline, root)
    assert duplicate_faces(db) == 0


@pytest.mark.slow
def test_registering_from_the_command_line_while_live_registers_from_its_window(
    cli: CLI, db: Database, settings: Settings, faces: FaceSet, xvfb: str, tmp_path: Path
):
    photos = faces.people()["barack_obama"]
    video = write_video(tmp_path / "obama.avi", pan_zoom(photos[1], 150))  # 10 s
    live = subprocess.Popen(
        [sys.executable, str(PROJECT / "face_recognition.py"), "live", "--source", str(video)],
        env={**cli.env, "DISPLAY": xvfb},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert live.stdin is not None
    live.stdin.write("obama\n")  # the answer to "name for the face in view", read when `r` is pressed
    live.stdin.flush()
    try:
        window = wait_for_window(xvfb, "facerec - live", live)
        time.sleep(0.5)
        register = subprocess.Popen(
            [sys.executable, str(PROJECT / "face_recognition.py"), "register", "obama", str(photos[0]), str(photos[2])],
            env=cli.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        press(xvfb, window, "r")  # the live window asks for the name on its terminal
        out, err = register.communicate(timeout=120)
        assert register.returncode == 0, err
        wait_for(lambda: count(db, "SELECT count(*) FROM faces") == 3, 60, "the live registration")
        press(xvfb, window, "q")
        live_out, live_err = live.communicate(timeout=60)
    finally:
        if live.poll() is None:
            live.kill()
    assert live.returncode == 0, live_err
    assert "registered a sample of obama" in live_err
    assert count(db, "SELECT count(*) FROM people") == 1
    assert count(db, "SELECT count(*) FROM pictures") == 3
    assert duplicate_faces(db) == 0


# -- model files -------------------------------------------------------------------------


@pytest.fixture
def damaged_project(tmp_path: Path) -> Path:
    """A copy of the project (code, schema, cascade) whose model files can be broken."""
    copy = tmp_path / "project"
    shutil.copytree(PROJECT / "facerec", copy / "facerec", ignore=shutil.ignore_patterns("models", "__pycache__"))
    (copy / "facerec" / "vision" / "models").mkdir()
    for model in (PROJECT / "facerec" / "vision" / "models").iterdir():
        (copy / "facerec" / "vision" / "models" / model.name).symlink_to(model)
    shutil.copy(PROJECT / "face_recognition.py", copy)  # a copy: Python would follow a link back here
    for name in ("sql", "haarcascade_frontalface_default.xml"):
        (copy / name).symlink_to(PROJECT / name)
    return copy


@pytest.mark.slow
def test_a_missing_or_corrupted_model_file_is_one_line_naming_it(
    cli: CLI, db: Database, damaged_project: Path, faces: FaceSet, tmp_path: Path
):
    photo = str(faces.people()["barack_obama"][0])
    models = damaged_project / "facerec" / "vision" / "models"
    sface, yunet = models / "face_recognition_sface_2021dec.onnx", models / "face_detection_yunet_2023mar.onnx"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(damaged_project / "face_recognition.py"), *args],
            capture_output=True, text=True, env=cli.env, cwd=cli.cwd, timeout=120,
        )  # fmt: skip

    data = sface.read_bytes()
    sface.unlink()
    sface.write_bytes(data[: len(data) // 2])  # a truncated download
    for args in (["recognize", photo], ["index", str(Path(photo).parent)]):
        r = run(*args)
        assert r.returncode == 1
        assert one_error_line(r).startswith(f"facerec: model file corrupted: {sface} (SHA-256 ")

    yunet.unlink()
    r = run("register", "obama", photo)
    assert r.returncode == 1
    assert one_error_line(r) == f"facerec: model file missing: {yunet}"
    assert count(db, "SELECT count(*) FROM pictures") + count(db, "SELECT count(*) FROM people") == 0
