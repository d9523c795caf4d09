"""Helpers shared by the tests (fixtures are in conftest.py): the dev photo set,
counting rows, running the CLI as a user would, and forking a terminal safely.

Import them from here (`from tests.helpers import CLI, FaceSet, count`), never from
conftest.py, which pytest loads on its own."""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect
import pytest

from facerec.config import Settings
from facerec.db import Database

PROJECT = Path(__file__).resolve().parent.parent
FACES_DIR = Path(os.environ.get("FACEREC_TEST_FACES", PROJECT.parent / "shared" / "faces" / "dev"))


@dataclass(frozen=True)
class Photo:
    path: Path
    person: str
    kind: str
    faces_in_photo: int | None


@dataclass(frozen=True)
class FaceSet:
    """The dev photo set, read from its manifest."""

    root: Path
    photos: list[Photo]

    def of_kind(self, kind: str) -> list[Photo]:
        return [p for p in self.photos if p.kind == kind]

    def people(self) -> dict[str, list[Path]]:
        """person -> their photos in people/, in name order."""
        out: dict[str, list[Path]] = {}
        for p in sorted(self.of_kind("face"), key=lambda p: str(p.path)):
            out.setdefault(p.person, []).append(p.path)
        return out

    def photo(self, relative: str) -> Path:
        return self.root / relative


def load_faces() -> FaceSet | None:
    manifest = FACES_DIR / "manifest.csv"
    if not manifest.is_file():
        return None
    with manifest.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    photos = [
        Photo(FACES_DIR / r["path"], r["person"], r["kind"], int(r["faces_in_photo"]) if r["faces_in_photo"] else None)
        for r in rows
    ]
    return FaceSet(FACES_DIR, photos)


def skip_or_fail(reason: str) -> None:
    """Skip a test whose outside requirement is missing; under CI (CI=true), fail it instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " - required under CI")
    pytest.skip(reason)


def wipe(db: Database, settings: Settings) -> None:
    """Empty every table and the stored images: each test starts from nothing."""
    with db.transaction() as cur:
        cur.execute("TRUNCATE people, pictures, faces, journal, hidden_groups, grouping_state RESTART IDENTITY CASCADE")
    for sub in ("captures", "snapshots", "thumbnails"):
        shutil.rmtree(settings.data_dir / sub, ignore_errors=True)


def count(db: Database, sql: str, *params: object) -> int:
    """A single number from the database (test assertions only)."""
    with db.transaction() as cur:
        cur.execute(sql, params)
        return int(cur.fetchone()[0])


@dataclass
class CLI:
    """Runs `python face_recognition.py ARGS` against the test database, as a user would.

    By default in this process (`facerec.ui.cli.main` with the same environment,
    folder, stdin and prog name, its stdout and stderr captured): the same parser,
    context, commands and exit status, without starting Python and loading the
    models again for every call. `process=True` (or `cli.process(...)`) runs a real
    process: for what only a process shows (signals, the network, HOME, what is
    left behind), and for the tests of each exit status and output shape."""

    env: dict[str, str]
    cwd: Path
    in_process: bool = True

    def __call__(
        self, *args: str, input: str | None = None, timeout: float = 120, process: bool = False, **env: str
    ) -> subprocess.CompletedProcess[str]:
        if process or not self.in_process:
            return self.process(*args, input=input, timeout=timeout, **env)
        return run_in_process(list(args), {**self.env, **env}, self.cwd, input or "")

    def process(
        self, *args: str, input: str | None = None, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(PROJECT / "face_recognition.py"), *args],
            capture_output=True,
            text=True,
            input=input if input is not None else "",
            env={**self.env, **env},
            cwd=self.cwd,
            timeout=timeout,
        )


def run_in_process(argv: list[str], env: dict[str, str], cwd: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    """`face_recognition.py ARGV` in this process: the environment, the working folder,
    stdin and stdout/stderr swapped in for the call and put back after it (with the
    logging configuration and the signal handlers the command may change)."""
    from facerec.ui.cli import main
    from facerec.ui.console import Console

    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    root = logging.getLogger()
    saved_logging = (root.handlers[:], root.level)
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv, Console(stdin=io.StringIO(stdin), stdout=out, stderr=err), prog="face_recognition.py")
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        root.handlers[:] = saved_logging[0]
        root.setLevel(saved_logging[1])
        for sig, handler in saved_signals.items():
            signal.signal(sig, handler)
    return subprocess.CompletedProcess(["face_recognition.py", *argv], status, out.getvalue(), err.getvalue())


@contextmanager
def safe_fork() -> Iterator[None]:
    """Fork this multi-threaded test process without the child hanging.

    The process holds OpenVINO objects whose destructors wait on its worker
    threads. A forked child has one thread, and runs Python before it execs
    (pexpect's child runs filelock's after-fork hook, which allocates): if its
    garbage collector then finalised such an object, it would wait forever
    (seen: a full run stuck in `pexpect.spawn`). Collecting here first, then
    freezing, means the child's collector never looks at what exists now."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def spawn_terminal(argv: list[str], **options: Any) -> pexpect.spawn:
    """`pexpect.spawn` (the program on a terminal of its own), forked safely, with
    Ctrl-C delivered as at an interactive shell (a test run started in the
    background, `pytest &`, has SIGINT ignored, and a child would inherit that)."""
    options.setdefault("preexec_fn", lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    with safe_fork():
        return pexpect.spawn(argv[0], argv[1:], **options)


def cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEREC_") and k not in ("DISPLAY", "DATABASE_URL")}
    env["FACEREC_DATA_DIR"] = str(settings.data_dir)
    return env
