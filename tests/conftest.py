"""Shared fixtures: one real embedded PostgreSQL + pgvector for the session,
an empty database per test, the real models, and the dev face photos.

The photos are third-party test data outside the project: set
FACEREC_TEST_FACES (default ../shared/faces/dev). Without them, photo tests
skip; under CI (CI=true) they fail instead.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from facerec.config import Settings, load_settings
from facerec.db import Database
from facerec.db.server import EmbeddedServer
from facerec.usecases.context import Context
from facerec.vision.pipeline import Pipeline
from tests.helpers import CLI, FACES_DIR, FaceSet, cli_env, load_faces, skip_or_fail, wipe

# The helpers are in tests/helpers.py; import them from there.


@pytest.fixture(scope="session")
def faces() -> FaceSet:
    found = load_faces()
    if found is None:
        skip_or_fail(f"dev face photos not found at {FACES_DIR} (set FACEREC_TEST_FACES)")
    assert found is not None
    return found


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("facerec-data")


@pytest.fixture(scope="session")
def settings(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    no_dotenv = tmp_path_factory.mktemp("no-dotenv") / ".env"
    return load_settings({"FACEREC_DATA_DIR": str(data_dir)}, dotenv_path=no_dotenv)


@pytest.fixture(scope="session")
def session_db(settings: Settings) -> Iterator[Database]:
    db = Database.open(settings)
    yield db
    db.close()
    EmbeddedServer(settings.data_dir).stop()


@pytest.fixture(scope="session")
def pipeline() -> Pipeline:
    return Pipeline.load("yunet", "sface")


@pytest.fixture
def db(session_db: Database, settings: Settings) -> Database:
    wipe(session_db, settings)
    return session_db


@pytest.fixture
def ctx(db: Database, settings: Settings, pipeline: Pipeline) -> Iterator[Context]:
    with Context(settings, db=db, pipeline=pipeline) as a:
        yield a


@pytest.fixture
def cli(db: Database, settings: Settings, tmp_path: Path) -> CLI:
    """The CLI, run from an empty directory (no .env), with no display."""
    return CLI(cli_env(settings), tmp_path)


@pytest.fixture
def xvfb() -> Iterator[str]:
    """A virtual X display (Xvfb) for one test; yields its DISPLAY value."""
    from tests.gui import start_xvfb

    yield from start_xvfb()


def pytest_configure(config: pytest.Config) -> None:
    """Give every run its own temporary folder (unless `--basetemp` says where).

    pytest's default, `/tmp/pytest-of-USER/pytest-N`, is shared by every run on
    the machine and only the three newest are kept: two runs at once would
    delete each other's running database."""
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = tempfile.mkdtemp(prefix="facerec-tests-")
        config._facerec_basetemp = config.option.basetemp  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the run's own folder when every test passed (kept for a look otherwise)."""
    made = getattr(config, "_facerec_basetemp", None)
    session_failed = getattr(config, "_facerec_failed", False)
    if made and not session_failed:
        shutil.rmtree(made, ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config._facerec_failed = exitstatus != 0  # type: ignore[attr-defined]
    made = getattr(session.config, "_facerec_basetemp", None)
    if made and exitstatus != 0:
        print(f"\nfacerec: this run's temporary files are kept in {made}")
