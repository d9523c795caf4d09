"""Command line: `facerec [options] [command] ...` (or `python face_recognition.py`,
or `python -m facerec`).

No command opens the menu. The CLI only parses arguments, builds the
context, calls the function of `facerec.ui.commands` that the command's
parser names (`set_defaults(run=...)`), and turns errors into one line on
stderr and an exit status (0 ok, 1 user error, 2 usage error, 130
interrupted).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any

from facerec.config import Settings, load_settings
from facerec.errors import FacerecError
from facerec.logs import configure_logging, level_for
from facerec.ui.console import Console, Terminated
from facerec.ui.parser import build_parser
from facerec.usecases.context import Context

log = logging.getLogger("facerec")


def _take_the_rest(parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str]) -> None:
    """Values argparse left over after an option go to the command's list positional."""
    if not extra:
        return
    more = getattr(args, "_more", None)
    options = [e for e in extra if e.startswith("-") and e != "-"]
    if more is None or options:
        parser.error(f"unrecognized arguments: {' '.join(options or extra)}")
    dest, kind = more
    try:
        values = [kind(e) for e in extra]
    except (ValueError, argparse.ArgumentTypeError):
        parser.error(f"argument {dest}: invalid value: {' '.join(extra)}")
    if dest == "images" and getattr(args, "name", "") is None:  # `register --largest NAME PHOTO`
        args.name, values = values[0], values[1:]
    getattr(args, dest).extend(values)


def _settings(args: argparse.Namespace, base: Settings) -> Settings:
    changes: dict[str, Any] = {}
    for key in ("detector", "embedder", "threshold"):
        if getattr(args, key, None) is not None:
            changes[key] = getattr(args, key)
    return dataclasses.replace(base, **changes)


_hung_up: list[int] = []
"""The SIGHUP or SIGTERM received, if one was (its number decides the exit status)."""


@contextlib.contextmanager
def _hangup_is_an_interrupt() -> Iterator[None]:
    """SIGHUP (the terminal closed) and SIGTERM end facerec as Ctrl-C does: the
    `with` blocks unwind, so the embedded server's last user releases it
    instead of leaving it running with no facerec process left.

    Once is enough: a closing terminal sends SIGHUP more than once (to the shell
    and to its jobs), so both are ignored after the first. And a signal that
    arrives while facerec is already unwinding (a closed terminal also fails
    the read the menu was waiting in) is only recorded: raising it there would
    cut the cleanup short."""

    def handler(signum: int, frame: FrameType | None) -> None:
        for again in (signal.SIGHUP, signal.SIGTERM):
            signal.signal(again, signal.SIG_IGN)
        _hung_up.append(signum)
        if sys.exc_info()[1] is None:
            raise Terminated(signum)

    previous = {}
    try:
        for sig in (signal.SIGHUP, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: signals stay as they are
        pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def main(argv: Sequence[str] | None = None, console: Console | None = None, prog: str | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser(prog or _prog_name())
    try:
        args, extra = parser.parse_known_args(argv)
        _take_the_rest(parser, args, extra)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else 2
    con = console or Console()
    con.json = bool(getattr(args, "json", False))
    con.assume_yes = bool(getattr(args, "yes", False))
    _hung_up.clear()
    with _hangup_is_an_interrupt():
        try:
            status = _run(args, con)
        except Terminated:  # after the menu or command has unwound
            pass
        except OSError:  # the terminal is gone (the signal was recorded, see `_hangup_is_an_interrupt`)
            if not _hung_up:
                raise
        if _hung_up:
            with contextlib.suppress(OSError):
                con.error("terminated")
            return 128 + _hung_up[0]
        return status


def _run(args: argparse.Namespace, con: Console) -> int:
    try:
        settings = _settings(args, load_settings())
        configure_logging(level_for(settings.log_level, getattr(args, "verbose", 0)))
        ctx = Context(settings, on_message=con.info)
        try:
            if args.run is None:  # no command, or `menu`
                from facerec.ui.menu import Menu

                return Menu(ctx, con).run()
            status: int = args.run(ctx, con, args)
            return status
        finally:
            ctx.close()  # the embedded server's last user stops it (see `_hangup_is_an_interrupt`)
    except FacerecError as exc:
        con.error(str(exc))
        return exc.exit_code
    except Terminated:
        raise
    except KeyboardInterrupt:
        con.error("interrupted")
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug: one line, details in the debug log
        log.debug("unexpected error", exc_info=True)
        con.error(f"internal error: {type(exc).__name__}: {exc} (set FACEREC_LOG_LEVEL=DEBUG for details)")
        return 1


def _prog_name() -> str:
    """How the user started facerec, for usage lines: `facerec`, or the tutorial's script."""
    argv0 = sys.argv[0] if sys.argv else ""
    return "face_recognition.py" if argv0.endswith("face_recognition.py") else "facerec"
