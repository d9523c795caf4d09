"""Reading the embedded server's log: why a server process died (one line for the
user, with advice by signal), whether crash recovery began, and the last error.

When a server process dies (a crash, a CPU that lacks an instruction the build
uses, the out-of-memory killer), `EmbeddedServer.crash_since` reads the cause here
for the one line the user sees. Stopping waits for the crash recovery that follows
to end first (PostgreSQL 18 hangs in "shutting down" when a fast shutdown arrives
during recovery), and escalates to an immediate shutdown, then SIGKILL, when a
stop does not finish; a server found stuck that way by the next command is
stopped the same way and started again."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path


def read_from(path: Path, offset: int) -> list[str]:
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


def crash_in(lines: list[str], log_path: Path) -> str | None:
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


def recovery_began(lines: list[str]) -> bool:
    """Whether the server's log says crash recovery started (after a process died)."""
    return any("automatic recovery in progress" in line or "all server processes terminated" in line for line in lines)


def last_error(lines: list[str]) -> str | None:
    """The last PANIC, FATAL or ERROR line of a log, without its time stamp."""
    for line in reversed(lines):
        match = _LEVEL.search(line)
        if match is not None:
            return f"{match.group('level')}: {match.group('text').strip()}"
    return None
