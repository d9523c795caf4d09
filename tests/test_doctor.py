"""`facerec doctor`: one line per check, a fix where one fails, exit status 1 then."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from facerec.config import Settings, load_settings
from facerec.db import Database
from facerec.db.server import EmbeddedServer
from facerec.usecases.context import Context
from facerec.usecases.doctor import FAIL, OK, WARN, doctor
from facerec.vision import modelfiles
from facerec.vision.pipeline import Pipeline
from tests.helpers import CLI, cli_env
from tests.robust import NOBODY

NAMES = ["python", "cpu", "versions", "database", "data folder", "models", "runtime", "display", "camera", "network"]


@pytest.fixture
def own(tmp_path: Path):
    """A data directory of this test's own, and the CLI on it."""
    data = tmp_path / "data"
    settings = load_settings({"FACEREC_DATA_DIR": str(data)}, dotenv_path=tmp_path / "no.env")
    yield settings, CLI(cli_env(settings), tmp_path)
    EmbeddedServer(data).stop()


def test_doctor_passes_on_a_healthy_install_with_one_line_per_check(cli: CLI):
    r = cli("doctor")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == [
        "ok",
        "ok",
        "ok",
        "ok",
        "ok",
        "ok",
        "ok",
        "warn",  # no DISPLAY for the CLI in tests
        lines[8].split()[0],  # a camera may or may not be plugged in
        "ok",
    ]
    assert lines[-1] == "all good"
    database = next(line for line in lines if line.split()[1] == "database")
    assert "PostgreSQL 18" in database and "pgvector 0.8" in database and "round trip is right" in database
    as_json = [json.loads(line) for line in cli("doctor", "--json").stdout.splitlines()]
    assert [c["name"] for c in as_json] == NAMES
    assert all(c["status"] in (OK, WARN) for c in as_json)
    assert all(c["fix"] for c in as_json if c["status"] != OK)  # every warning says what to do


def by_name(report) -> dict:
    return {c.name: c for c in report.checks}


def test_doctor_names_a_missing_or_an_altered_model_file(ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    models = tmp_path / "models"
    shutil.copytree(modelfiles.model_file(modelfiles.SFACE).parent, models)
    altered = bytearray((models / modelfiles.SFACE).read_bytes())
    altered[1000] ^= 0xFF
    (models / modelfiles.SFACE).write_bytes(bytes(altered))
    (models / modelfiles.YUNET).unlink()
    monkeypatch.setattr("facerec.vision.modelfiles.models_dir", lambda: models)
    report = doctor(ctx)
    check = by_name(report)["models"]
    assert not report.ok and check.status == FAIL
    assert f"model file corrupted: {models / modelfiles.SFACE}" in check.detail
    assert f"model file missing: {models / modelfiles.YUNET}" in check.detail
    assert "reinstall" in check.fix
    assert all(c.status != FAIL for c in report.checks if c.name != "models")


def test_doctor_names_a_server_that_will_not_start_and_quotes_its_log(own):
    settings, cli = own
    Database.open(settings).close()  # made, then stopped
    with (settings.pgdata / "postgresql.conf").open("a") as fh:
        fh.write("shared_buffers = 'plenty'\n")
    r = cli("doctor")
    assert r.returncode == 1
    (line,) = [line for line in r.stdout.splitlines() if line.startswith("FAIL")]
    assert line.split()[1] == "database"
    assert str(settings.pgdata / "server.log") in line  # the log is named...
    assert "FATAL: configuration file" in line and "contains errors" in line  # ...and quoted
    assert r.stdout.splitlines()[-1] == "1 check failed: database"


def test_doctor_names_an_unreachable_database_url_without_its_password(own):
    _, cli = own
    r = cli("doctor", DATABASE_URL="postgresql://someone:s3cret-pw@127.0.0.1:1/faces")
    assert r.returncode == 1
    (line,) = [line for line in r.stdout.splitlines() if line.startswith("FAIL")]
    assert "database" in line and "cannot connect to someone@127.0.0.1:1/faces" in line
    assert "s3cret-pw" not in r.stdout + r.stderr


def test_doctor_names_a_data_folder_it_cannot_write(tmp_path: Path, pipeline: Pipeline):
    """Someone else's folder (root's, 0700) as the data folder of a user (nobody)."""
    data = tmp_path / "theirs" / "facerec"
    data.mkdir(parents=True, mode=0o700)
    settings: Settings = load_settings({"FACEREC_DATA_DIR": str(data)}, dotenv_path=tmp_path / "no.env")
    if os.geteuid() != 0:
        os.chmod(data, 0o500)  # not writable for ourselves either
    else:
        os.seteuid(NOBODY)
    try:
        with Context(settings, pipeline=pipeline) as ctx:
            report = doctor(ctx)
    finally:
        if os.geteuid() != 0 and os.getuid() == 0:
            os.seteuid(0)
        os.chmod(data, 0o700)
    folder = by_name(report)["data folder"]
    assert folder.status == FAIL and "cannot write there" in folder.detail and str(data) in folder.detail
    assert "FACEREC_DATA_DIR" in folder.fix
    assert by_name(report)["database"].status == FAIL  # the embedded database lives there too
    assert [c.name for c in report.checks] == NAMES


def test_the_menus_manage_screen_runs_the_doctor(db, settings, tmp_path: Path):
    from tests.test_menu import choose, spawn_menu

    child = spawn_menu({**cli_env(settings), "HOME": str(tmp_path)}, tmp_path)
    try:
        choose(child, "3")
        child.expect_exact("8. Check the installation (doctor)")
        choose(child, "8")
        child.expect_exact("ok    database")
        child.expect_exact("all good")
        choose(child, "0")
        choose(child, "0")
        child.expect_exact("bye")
    finally:
        child.close(force=True)
