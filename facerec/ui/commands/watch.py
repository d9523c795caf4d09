"""`facerec watch`: keep the library up to date as files come, change, move and go.

Its parser is built here (`watch_parser`, one line in `facerec.ui.parser`).
Ctrl-C and SIGTERM (`systemctl --user stop facerec-watch`) stop it cleanly:
one line, exit status 0.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

from facerec.ui.args import positive_int
from facerec.ui.console import Console
from facerec.usecases.context import Context
from facerec.usecases.library.watch import WatchEvent, WatchReport, watch_folders

EXAMPLES = (
    "{prog} watch                        # the folders already indexed",
    "{prog} watch ~/Pictures ~/Videos",
    "FACEREC_WATCH_SETTLE_S=10 {prog} watch /mnt/nas/photos   # slow copies over the network",
)


def watch_parser(sub: Any, common: argparse.ArgumentParser, prog: str) -> argparse.ArgumentParser:
    """The `watch` subcommand, added to the subparsers `sub` (with the `common` options)."""
    help_text = (
        "keep the library up to date: index new and changed photos as they arrive, follow moves, prune deletions"
    )
    p: argparse.ArgumentParser = sub.add_parser(
        "watch",
        help=help_text,
        description=help_text
        + ". A file is indexed once it has stopped changing (FACEREC_WATCH_SETTLE_S seconds, default 2); "
        "without file system events (inotify limits) the folders are indexed every FACEREC_WATCH_POLL_S "
        "seconds (default 300). Ctrl-C or SIGTERM stops it.",
        parents=[common],
        epilog="examples:\n" + "\n".join(f"  {e.format(prog=prog)}" for e in EXAMPLES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("folders", nargs="*", metavar="DIR", help="folders to watch (default: the folders already indexed)")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="processes analysing new photos (default 1: the machine stays usable; more index a big copy faster)",
    )
    p.set_defaults(run=lambda c, o, a: watch(c, o, a.folders, a.workers))
    return p


def watch(
    ctx: Context, con: Console, folders: Sequence[str], workers: int | None = 1, stop_on_sigterm: bool = True
) -> int:
    """Watch until Ctrl-C or SIGTERM; one line per change, one line at the end. Exit status 0.

    `stop_on_sigterm=False` (the menu): SIGTERM ends facerec as it does elsewhere, not just the watch."""

    def on_event(event: WatchEvent) -> None:
        record: dict[str, object] = {"event": event.kind, "text": event.text}
        if event.index is not None:
            record |= event.index.as_json()
        if event.kind == "pruned":
            record["pruned"] = event.pruned
        con.emit(record)
        if event.kind == "watching":
            con.info(f"facerec watch: {event.text} (Ctrl-C stops)")
        elif event.kind in ("fallback", "error"):
            con.info(f"facerec watch: {event.text}")
        else:
            con.out(f"{time.strftime('%H:%M:%S')} {event.text}")
            for picture, error in event.index.failed if event.index is not None else []:
                con.out(f"  failed: {picture}: {error}")

    with _sigterm_is_ctrl_c(stop_on_sigterm):
        report = watch_folders(ctx, folders or None, workers, on_event=on_event)
    con.emit({"event": "stopped", **report.as_json()})
    con.info(f"facerec watch: stopped; {_totals(report)}")
    return 0


def _totals(report: WatchReport) -> str:
    return (
        f"indexed {report.indexed}, moved {report.moved}, copies {report.copied}, pruned {report.pruned}, "
        f"{report.faces} faces in {report.seconds:.0f} s"
    )


class _sigterm_is_ctrl_c:
    """While watching, SIGTERM stops the watch as Ctrl-C does (a clean stop, exit 0: how
    systemd stops a service), not as `facerec`'s usual SIGTERM (exit 143). A second
    signal while it stops is ignored, so the clean-up is never cut short."""

    def __init__(self, active: bool = True) -> None:
        self.active = active
        self.previous: Any = None

    def __enter__(self) -> None:
        if self.active and threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._interrupt)

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)

    @staticmethod
    def _interrupt(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt
