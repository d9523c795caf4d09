"""The embedded server's processes as Linux shows them in /proc: whether a PID is
still the process it was (its start time), a zombie, a postmaster working in a given
data directory, its children; waiting for processes to go. And the facerec processes
sharing one server: `<data dir>/pgserver.pids` (pid -> start time), changed under the
file lock `<data dir>/pgserver.lock`. Used by `facerec.db.server`."""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def process_start(pid: int) -> str | None:
    """A token that changes if `pid` is reused by another process (Linux start time)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
            return "?"
        except ProcessLookupError:
            return None
        except PermissionError:
            return "?"


def is_zombie(pid: int) -> bool:
    """A process that has exited and waits for its parent to collect it (it still holds its PID)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def is_postmaster_of(pid: int, pgdata: Path) -> bool | None:
    """Whether process `pid` is a PostgreSQL server working in `pgdata` (a
    postmaster's working directory is its data directory); None where /proc
    cannot tell."""
    proc = Path("/proc") / str(pid)
    if not Path("/proc/self/cwd").exists():
        return None
    try:
        cwd = os.stat(proc / "cwd")
        exe = os.readlink(proc / "exe")
        here = os.stat(pgdata)
    except (FileNotFoundError, PermissionError):
        return False  # gone, or another user's process (ours runs as us, or root can read it)
    except OSError:
        return None
    return Path(exe).name.startswith("postgres") and (cwd.st_dev, cwd.st_ino) == (here.st_dev, here.st_ino)


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is `pid` (a postmaster's server processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and is_postmaster_child(int(entry.name), pid):
            found.append(int(entry.name))
    return found


def is_postmaster_child(child: int, pid: int) -> bool:
    try:
        status = Path(f"/proc/{child}/status").read_text()
    except OSError:
        return False
    match = re.search(r"^PPid:\s+(\d+)", status, re.M)
    return match is not None and int(match.group(1)) == pid


@contextmanager
def suppress_gone() -> Iterator[None]:
    """Signalling a process that has just exited is not an error."""
    try:
        yield
    except ProcessLookupError:
        pass


def wait_gone(pids: list[int], timeout: float) -> bool:
    """Wait until none of `pids` runs (a zombie counts as gone); whether they all went."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in pids if process_start(p) is not None and not is_zombie(p)]
        if not alive:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


@contextmanager
def users_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's server lock (starting, stopping, the users' list)."""
    fd = os.open(data_dir / "pgserver.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def live_users(data_dir: Path) -> dict[str, str]:
    """The facerec processes registered as using the server that still run (pid -> start time)."""
    try:
        pids = json.loads((data_dir / "pgserver.pids").read_text())
    except (OSError, ValueError):
        return {}
    live = {}
    for pid, token in pids.items():
        now = process_start(int(pid))
        if now is not None and (token == "?" or now == "?" or now == token):
            live[pid] = token
    return live


def save_users(data_dir: Path, pids: dict[str, str]) -> None:
    """Replace the users' list (atomically; private to the user)."""
    path = data_dir / "pgserver.pids"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(pids, fh)
    os.replace(tmp, path)
