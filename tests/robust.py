"""Helpers for the robustness tests (issue 6): the CLI run in-process, a child
process without root's privileges, hostile image files, a private PostgreSQL."""

from __future__ import annotations

import gc
import io
import os
import pickle
import shutil
import socket
import struct
import subprocess
import time
import traceback
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from facerec.ui import cli
from facerec.ui.console import Console

NOBODY = 65534


@dataclass(frozen=True)
class Result:
    """What a CLI run printed and returned."""

    returncode: int
    stdout: str
    stderr: str

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


@pytest.fixture
def in_process(db: Any, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`run_main` uses the test database (the `db` fixture's, emptied), from a
    folder without a `.env`. Import it into a test module to use it."""
    for key in list(os.environ):
        if key.startswith("FACEREC_") or key in ("DATABASE_URL", "DISPLAY"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("FACEREC_DATA_DIR", str(settings.data_dir))
    monkeypatch.chdir(tmp_path)


def run_main(*args: str) -> Result:
    """`face_recognition.py ARGS` in this process (same code path as the script,
    without the interpreter start-up): settings come from the environment."""
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(args), console=Console(stdin=io.StringIO(""), stdout=out, stderr=err))
    return Result(code, out.getvalue(), err.getvalue())


def unprivileged(work: Callable[[], Any]) -> Any:
    """Run `work()` in a forked child that is not root (as `nobody` when we are
    root, since root ignores file permissions), and return its result."""
    read_fd, write_fd = os.pipe()
    gc.collect()
    gc.freeze()  # the child never finalises what exists now (see tests.helpers.safe_fork)
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            payload = pickle.dumps(("ok", work()))
        except BaseException:
            payload = pickle.dumps(("error", traceback.format_exc()))
        with os.fdopen(write_fd, "wb") as fh:
            fh.write(payload)
        os._exit(0)
    gc.unfreeze()
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        kind, value = pickle.loads(fh.read())
    os.waitpid(pid, 0)
    if kind == "error":
        raise AssertionError(f"the unprivileged child failed:\n{value}")
    return value


@contextmanager
def shared_tmp_dir() -> Iterator[Path]:
    """A temporary folder every user can enter (pytest's own are 0700, which
    would deny `nobody` for the wrong reason)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="facerec-shared-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_huge_png(path: Path, side: int = 30_000) -> Path:
    """A valid 1-bit `side` x `side` PNG of zeros: ~100 KB on disk, ~900 MB to
    2.7 GB once decoded by a careless reader. Built without allocating it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\0" * (1 + (side + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    body = bytearray()
    for _ in range(0, side, 1000):
        body += packer.compress(row * 1000)
    body += packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", bytes(body)) + chunk(b"IEND", b""))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PasswordServer:
    """A PostgreSQL with pgvector on 127.0.0.1 that wants a password (SCRAM)."""

    port: int
    user: str
    password: str
    pgdata: Path
    run_as: dict[str, int]

    def url(self, password: str | None = None) -> str:
        return f"postgresql://{self.user}:{password or self.password}@127.0.0.1:{self.port}/postgres"


@contextmanager
def password_server(user: str, password: str, programs: Path | None = None) -> Iterator[PasswordServer]:
    """initdb + start a private cluster from the bundled PostgreSQL's programs (or `programs`:
    `EmbeddedServer.programs()`, which as root the service user can reach), then stop it.
    As root, it runs as facerec's service user, as the embedded server does."""
    from facerec.db.server import _bin_dir
    from facerec.db.server_root import service_user as _service_user

    bin_dir = programs or _bin_dir()
    run_as: dict[str, Any] = {}
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="facerec-pw-"))
    if os.geteuid() == 0:
        account = _service_user()
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        os.chown(root, account.pw_uid, account.pw_gid)
    pgdata, pwfile = root / "pgdata", root / "pw"
    pwfile.write_text(password + "\n")
    if run_as:
        os.chown(pwfile, run_as["user"], run_as["group"])

    def run(*args: str | Path) -> None:
        subprocess.run(
            [str(a) for a in args], check=True, capture_output=True, cwd=root, stdin=subprocess.DEVNULL, **run_as
        )

    port = free_port()
    run(
        bin_dir / "initdb", "-D", pgdata, "-U", user, f"--pwfile={pwfile}", "--auth=scram-sha-256",
        "--encoding=UTF8", "--locale=C", "--no-instructions",
    )  # fmt: skip
    opts = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
    run(bin_dir / "pg_ctl", "-D", pgdata, "-o", opts, "-l", root / "server.log", "-w", "-t", "60", "start")
    try:
        yield PasswordServer(port, user, password, pgdata, run_as)
    finally:
        run(bin_dir / "pg_ctl", "-D", pgdata, "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def wait_for(condition: Callable[[], bool], timeout: float, what: str, poll: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(poll)
