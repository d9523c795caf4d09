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
import dataclasses
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from facerec.config import Settings, load_settings
from facerec.errors import FacerecError, UsageError
from facerec.logs import configure_logging, level_for
from facerec.ui import commands
from facerec.ui.console import Console
from facerec.usecases.context import Context
from facerec.version import __version__
from facerec.vision.detectors import DETECTORS
from facerec.vision.embedders import EMBEDDERS
from facerec.web import DEFAULT_HOST, DEFAULT_PORT

log = logging.getLogger("facerec")

Handler = Callable[[Context, Console, argparse.Namespace], int]
"""What each command's parser names as `run`: (context, console, arguments) -> exit status."""


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors in facerec's shape: one line on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"facerec: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535 (0: any free port), not {value}")
    return value


def _distance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 2.0:
        raise argparse.ArgumentTypeError("a cosine distance between 0 and 2")
    return value


def _common_options() -> argparse.ArgumentParser:
    """Options accepted before or after the command (defaults are filled in later)."""
    p = _Parser(add_help=False)
    s = argparse.SUPPRESS
    p.add_argument("--json", action="store_true", default=s, help="print JSON Lines instead of text")
    p.add_argument("--detector", choices=sorted(DETECTORS), default=s, help="face detector (default: yunet)")
    p.add_argument("--embedder", choices=sorted(EMBEDDERS), default=s, help="face embedder (default: sface)")
    p.add_argument(
        "--threshold",
        type=_distance,
        default=s,
        metavar="D",
        help="cosine distance at or under which a face is a match (default: the embedder's calibrated value)",
    )
    p.add_argument("-v", "--verbose", action="count", default=s, help="more log output (-vv for debug)")
    return p


def _register(ctx: Context, con: Console, a: argparse.Namespace) -> int:
    if a.camera:
        if a.images:
            raise UsageError("give either photos or --camera, not both")
        return commands.register_camera(ctx, con, a.name, a.source, a.samples, not a.no_window)
    if not a.images:
        raise UsageError("give photos of the person, or --camera to capture from the camera")
    return commands.register_images(ctx, con, a.name, a.images, a.largest)


def _evaluate(ctx: Context, con: Console, a: argparse.Namespace) -> int:
    if a.pairs:
        if not a.images:
            raise UsageError("--pairs needs --images DIR (the folder of LFW images)")
        return commands.verify_pairs(ctx, con, a.pairs, a.images)
    if not a.folder:
        raise UsageError("give a folder with people/<name>/<images>, or --pairs and --images")
    return commands.evaluate(ctx, con, a.folder, a.samples, a.plot)


def build_parser(prog: str = "facerec") -> argparse.ArgumentParser:
    common = _common_options()
    parser = _Parser(
        prog=prog,
        description="Local face recognition with PostgreSQL + pgvector. Run without a command for the menu.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"facerec {__version__}")
    parser.set_defaults(run=None)
    sub = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser)

    def add(name: str, help_text: str, run: Handler | None, group: Any = sub) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = group.add_parser(name, help=help_text, description=help_text, parents=[common])
        p.set_defaults(run=run)
        return p

    add("menu", "open the interactive menu (the default)", None)

    p = add("register", "register a person from photos, or from the camera with --camera", _register)
    p.add_argument("name")
    p.add_argument("images", nargs="*", help="photos with the person's face")
    p.add_argument("--largest", action="store_true", help="in a photo with several faces, take the largest")
    p.add_argument("--camera", action="store_true", help="capture samples from the camera instead of photos")
    p.add_argument("--source", help="camera index, video file, image folder or stream URL (with --camera)")
    p.add_argument("--samples", type=_positive_int, default=5, help="samples to capture with --camera (default 5)")
    p.add_argument("--no-window", action="store_true", help="with --camera: no window, progress on stderr")
    p.add_argument("--yes", action="store_true", help="answer yes to questions (add to an existing name, ...)")

    p = add("recognize", "name every face in the given photos", lambda c, o, a: commands.recognize(c, o, a.images))
    p.add_argument("images", nargs="+")

    p = add(
        "embed", "print each face's box and embedding (stores nothing)", lambda c, o, a: commands.embed(c, o, a.images)
    )
    p.add_argument("images", nargs="+")

    p = add("users", "list, show, rename or delete registered people", lambda c, o, a: commands.users_list(c, o))
    users = p.add_subparsers(dest="users_command", metavar="action", parser_class=_Parser)
    add("list", "names and sample counts (the default)", lambda c, o, a: commands.users_list(c, o), users)
    q = add("show", "one person and their samples", lambda c, o, a: commands.users_show(c, o, a.name), users)
    q.add_argument("name")
    q = add("rename", "rename a person", lambda c, o, a: commands.users_rename(c, o, a.old, a.new), users)
    q.add_argument("old")
    q.add_argument("new")
    q = add(
        "delete",
        "delete a person and every sample of them",
        lambda c, o, a: commands.users_delete(c, o, a.name),
        users,
    )
    q.add_argument("name")
    q.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    p = add(
        "live",
        "real-time recognition on a camera, video file, image folder or stream",
        lambda c, o, a: commands.live(c, o, a.source, not a.no_window, a.max_frames),
    )
    p.add_argument("--source", help="camera index (default FACEREC_CAMERA or 0), video file, image folder, URL")
    p.add_argument("--no-window", action="store_true", help="no window: print one line per recognition event")
    p.add_argument("--max-frames", type=_positive_int, help="stop after this many frames")

    p = add(
        "index",
        "index photo folders: every face of every photo (incremental, resumable)",
        lambda c, o, a: commands.index(c, o, a.folders, a.workers, a.prune),
    )
    p.add_argument("folders", nargs="+")
    p.add_argument("--workers", type=_positive_int, help="worker processes (default: number of CPU cores)")
    p.add_argument("--prune", action="store_true", help="forget indexed photos under these folders that are gone")

    p = add(
        "search",
        "find the library photos that contain the person in a query photo",
        lambda c, o, a: commands.search(c, o, a.image, a.limit, a.face, a.export),
    )
    p.add_argument("image")
    p.add_argument("--limit", type=_positive_int, default=20, help="at most this many photos (default 20)")
    p.add_argument("--face", type=_positive_int, help="which face of the query photo (1 = leftmost; default: largest)")
    p.add_argument("--export", metavar="DIR", help="also write a contact sheet (JPEG) into DIR")

    p = add(
        "photos",
        "every library photo that contains a registered person",
        lambda c, o, a: commands.photos(c, o, a.name, a.limit, a.export),
    )
    p.add_argument("name")
    p.add_argument("--limit", type=_positive_int, help="at most this many photos")
    p.add_argument("--export", metavar="DIR", help="also write a contact sheet (JPEG) into DIR")

    p = add(
        "people",
        "group unnamed faces of the library into people; name, merge, split groups",
        lambda c, o, a: commands.people_list(c, o, a.min_faces, a.max_distance, a.export),
    )
    p.add_argument("--min-faces", type=_positive_int, default=2, help="smallest group listed (default 2)")
    p.add_argument("--max-distance", type=_distance, default=0.5, help="link faces closer than this (default 0.5)")
    p.add_argument("--export", metavar="DIR", help="also write a contact sheet (JPEG) into DIR")
    people = p.add_subparsers(dest="people_command", metavar="action", parser_class=_Parser)
    q = add("show", "the faces of one group", lambda c, o, a: commands.people_show(c, o, a.group), people)
    q.add_argument("group", type=int)
    q = add(
        "name", "make a group a registered person", lambda c, o, a: commands.people_name(c, o, a.group, a.name), people
    )
    q.add_argument("group", type=int)
    q.add_argument("name")
    q = add(
        "merge",
        "merge B into A (group numbers or names)",
        lambda c, o, a: commands.people_merge(c, o, a.a, a.b),
        people,
    )
    q.add_argument("a")
    q.add_argument("b")
    q = add(
        "split",
        '"not this person": take a face out of its group or person',
        lambda c, o, a: commands.people_split(c, o, a.face),
        people,
    )
    q.add_argument("face", type=int)

    p = add("evaluate", "measure accuracy on a labelled folder, or run the LFW pairs protocol", _evaluate)
    p.add_argument("folder", nargs="?", help="a folder with people/<name>/<images> and optionally distractors/")
    p.add_argument("--samples", type=_positive_int, default=1, help="photos registered per person (default 1)")
    p.add_argument("--plot", metavar="FILE", help="write the threshold sweep as a PNG chart")
    p.add_argument("--pairs", metavar="PAIRS_TXT", help="LFW pairs.txt: run the 10-fold verification protocol")
    p.add_argument("--images", metavar="DIR", help="with --pairs: the LFW image folder (DIR/name/name_0001.jpg)")
    p = add(
        "web",
        "serve a local web page: people as cards of faces, search by photo, the library",
        lambda c, o, a: commands.web(c, o, a.host, a.port, a.open),
    )
    p.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}; 0: any free)")
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; anything else prints a warning)",
    )
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    add(
        "reembed",
        "give every stored face a vector of the --embedder model, so switching models keeps everyone",
        lambda c, o, a: commands.reembed(c, o),
    )
    return parser


def _settings(args: argparse.Namespace, base: Settings) -> Settings:
    changes: dict[str, Any] = {}
    for key in ("detector", "embedder", "threshold"):
        if getattr(args, key, None) is not None:
            changes[key] = getattr(args, key)
    return dataclasses.replace(base, **changes)


def main(argv: Sequence[str] | None = None, console: Console | None = None, prog: str | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser(prog or _prog_name())
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else 2
    con = console or Console()
    con.json = bool(getattr(args, "json", False))
    con.assume_yes = bool(getattr(args, "yes", False))
    try:
        settings = _settings(args, load_settings())
        configure_logging(level_for(settings.log_level, getattr(args, "verbose", 0)))
        with Context(settings) as ctx:
            if args.run is None:  # no command, or `menu`
                from facerec.ui.menu import Menu

                return Menu(ctx, con).run()
            status: int = args.run(ctx, con, args)
            return status
    except FacerecError as exc:
        con.error(str(exc))
        return exc.exit_code
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
