"""Command line: `python face_recognition.py [options] [command] ...`.

No command opens the menu. The CLI only parses arguments, builds the
application, calls one function of `facerec.commands`, and turns errors into
one line on stderr and an exit status (0 ok, 1 user error, 2 usage error,
130 interrupted).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from facerec import commands
from facerec.app import FaceRec
from facerec.config import Settings, load_settings
from facerec.console import Console
from facerec.detectors import DETECTORS
from facerec.embedders import EMBEDDERS
from facerec.errors import FacerecError

log = logging.getLogger("facerec")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
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
    p = argparse.ArgumentParser(add_help=False)
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


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="face_recognition.py",
        description="Local face recognition with PostgreSQL + pgvector. Run without a command for the menu.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="command")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common])

    add("menu", "open the interactive menu (the default)")

    p = add("register", "register a person from photos, or from the camera with --camera")
    p.add_argument("name")
    p.add_argument("images", nargs="*", help="photos with the person's face")
    p.add_argument("--largest", action="store_true", help="in a photo with several faces, take the largest")
    p.add_argument("--camera", action="store_true", help="capture samples from the camera instead of photos")
    p.add_argument("--source", help="camera index, video file, image folder or stream URL (with --camera)")
    p.add_argument("--samples", type=_positive_int, default=5, help="samples to capture with --camera (default 5)")
    p.add_argument("--no-window", action="store_true", help="with --camera: no window, progress on stderr")
    p.add_argument("--yes", action="store_true", help="answer yes to questions (add to an existing name, ...)")

    p = add("recognize", "name every face in the given photos")
    p.add_argument("images", nargs="+")

    p = add("embed", "print each face's box and embedding (stores nothing)")
    p.add_argument("images", nargs="+")

    p = add("users", "list, show, rename or delete registered people")
    users = p.add_subparsers(dest="users_command", metavar="action")
    users.add_parser("list", help="names and sample counts (the default)", parents=[common])
    q = users.add_parser("show", help="one person and their samples", parents=[common])
    q.add_argument("name")
    q = users.add_parser("rename", help="rename a person", parents=[common])
    q.add_argument("old")
    q.add_argument("new")
    q = users.add_parser("delete", help="delete a person and every sample of them", parents=[common])
    q.add_argument("name")
    q.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    p = add("live", "real-time recognition on a camera, video file, image folder or stream")
    p.add_argument("--source", help="camera index (default FACEREC_CAMERA or 0), video file, image folder, URL")
    p.add_argument("--no-window", action="store_true", help="no window: print one line per recognition event")
    p.add_argument("--max-frames", type=_positive_int, help="stop after this many frames")

    p = add("index", "index photo folders: every face of every photo (incremental, resumable)")
    p.add_argument("folders", nargs="+")
    p.add_argument("--workers", type=_positive_int, help="worker processes (default: number of CPU cores)")
    p.add_argument("--prune", action="store_true", help="forget indexed photos under these folders that are gone")

    p = add("search", "find the library photos that contain the person in a query photo")
    p.add_argument("image")
    p.add_argument("--limit", type=_positive_int, default=20, help="at most this many photos (default 20)")
    p.add_argument("--face", type=_positive_int, help="which face of the query photo (1 = leftmost; default: largest)")
    p.add_argument("--export", metavar="DIR", help="also write a contact sheet (JPEG) into DIR")

    p = add("photos", "every library photo that contains a registered person")
    p.add_argument("name")
    p.add_argument("--limit", type=_positive_int, help="at most this many photos")
    p.add_argument("--export", metavar="DIR", help="also write a contact sheet (JPEG) into DIR")

    p = add("people", "group unnamed faces of the library into people; name, merge, split groups")
    p.add_argument("--min-faces", type=_positive_int, default=2, help="smallest group listed (default 2)")
    p.add_argument("--max-distance", type=_distance, default=0.5, help="link faces closer than this (default 0.5)")
    p.add_argument("--export", metavar="DIR", help="also write a contact sheet (JPEG) into DIR")
    people = p.add_subparsers(dest="people_command", metavar="action")
    q = people.add_parser("show", help="the faces of one group", parents=[common])
    q.add_argument("group", type=int)
    q = people.add_parser("name", help="make a group a registered person", parents=[common])
    q.add_argument("group", type=int)
    q.add_argument("name")
    q = people.add_parser("merge", help="merge B into A (group numbers or names)", parents=[common])
    q.add_argument("a")
    q.add_argument("b")
    q = people.add_parser("split", help='"not this person": take a face out of its group or person', parents=[common])
    q.add_argument("face", type=int)

    p = add("evaluate", "measure accuracy on a labelled folder, or run the LFW pairs protocol")
    p.add_argument("folder", nargs="?", help="a folder with people/<name>/<images> and optionally distractors/")
    p.add_argument("--samples", type=_positive_int, default=1, help="photos registered per person (default 1)")
    p.add_argument("--plot", metavar="FILE", help="write the threshold sweep as a PNG chart")
    p.add_argument("--pairs", metavar="PAIRS_TXT", help="LFW pairs.txt: run the 10-fold verification protocol")
    p.add_argument("--images", metavar="DIR", help="with --pairs: the LFW image folder (DIR/name/name_0001.jpg)")
    add("reembed", "give every stored face a vector of the --embedder model, so switching models keeps everyone")

    return parser


def _settings(args: argparse.Namespace, base: Settings) -> Settings:
    changes: dict[str, Any] = {}
    for key in ("detector", "embedder", "threshold"):
        if getattr(args, key, None) is not None:
            changes[key] = getattr(args, key)
    return dataclasses.replace(base, **changes)


def _configure_logging(settings: Settings, verbose: int) -> None:
    level = {0: settings.log_level, 1: "INFO"}.get(verbose, "DEBUG")
    logging.basicConfig(
        level=getattr(logging, level, logging.WARNING), format="facerec: %(message)s", stream=sys.stderr
    )


def _dispatch(args: argparse.Namespace, app: FaceRec, con: Console) -> int:
    cmd = args.command
    if cmd == "register":
        if args.camera:
            if args.images:
                raise FacerecError("give either photos or --camera, not both")
            return commands.register_camera(app, con, args.name, args.source, args.samples, not args.no_window)
        if not args.images:
            raise FacerecError("give photos of the person, or --camera to capture from the camera")
        return commands.register_images(app, con, args.name, args.images, args.largest)
    if cmd == "recognize":
        return commands.recognize(app, con, args.images)
    if cmd == "embed":
        return commands.embed(app, con, args.images)
    if cmd == "users":
        action = args.users_command or "list"
        handlers: dict[str, Callable[[], int]] = {
            "list": lambda: commands.users_list(app, con),
            "show": lambda: commands.users_show(app, con, args.name),
            "rename": lambda: commands.users_rename(app, con, args.old, args.new),
            "delete": lambda: commands.users_delete(app, con, args.name),
        }
        return handlers[action]()
    if cmd == "live":
        return commands.live(app, con, args.source, not args.no_window, args.max_frames)
    if cmd == "index":
        return commands.index(app, con, args.folders, args.workers, args.prune)
    if cmd == "search":
        return commands.search(app, con, args.image, args.limit, args.face, args.export)
    if cmd == "photos":
        return commands.photos(app, con, args.name, args.limit, args.export)
    if cmd == "people":
        action = args.people_command
        if action == "show":
            return commands.people_show(app, con, args.group)
        if action == "name":
            return commands.people_name(app, con, args.group, args.name)
        if action == "merge":
            return commands.people_merge(app, con, args.a, args.b)
        if action == "split":
            return commands.people_split(app, con, args.face)
        return commands.people_list(app, con, args.min_faces, args.max_distance, args.export)
    if cmd == "evaluate":
        if args.pairs:
            if not args.images:
                raise FacerecError("--pairs needs --images DIR (the folder of LFW images)")
            return commands.verify_pairs(app, con, args.pairs, args.images)
        if not args.folder:
            raise FacerecError("give a folder with people/<name>/<images>, or --pairs and --images")
        return commands.evaluate(app, con, args.folder, args.samples, args.plot)
    if cmd == "reembed":
        return commands.reembed(app, con)
    raise AssertionError(cmd)


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    con = console or Console()
    con.json = bool(getattr(args, "json", False))
    con.assume_yes = bool(getattr(args, "yes", False))
    try:
        settings = _settings(args, load_settings())
        _configure_logging(settings, getattr(args, "verbose", 0))
        with FaceRec(settings) as app:
            if args.command in (None, "menu"):
                from facerec.menu import Menu

                return Menu(app, con).run()
            return _dispatch(args, app, con)
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
