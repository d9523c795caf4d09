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
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Any, NoReturn

from facerec.config import Settings, load_settings
from facerec.errors import FacerecError, UsageError
from facerec.logs import configure_logging, level_for
from facerec.ui import commands
from facerec.ui.console import Console, Terminated
from facerec.usecases.context import Context
from facerec.usecases.groups.suggest import QUESTIONS_SHOWN
from facerec.version import __version__
from facerec.vision.detectors import DETECTORS
from facerec.vision.embedders import EMBEDDERS
from facerec.web import DEFAULT_HOST, DEFAULT_PORT

log = logging.getLogger("facerec")

FORCE_HELP = "store even when the faces look like someone else, or unlike this person"

Handler = Callable[[Context, Console, argparse.Namespace], int]
"""What each command's parser names as `run`: (context, console, arguments) -> exit status."""


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors in facerec's shape: one line on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"facerec: {message} (see {self.prog} --help)\n")


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}: {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535 (0: any free port), not {value}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def _count(text: str) -> int:
    return _whole_number(text, 0)


def _distance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 2.0:
        raise argparse.ArgumentTypeError("a cosine distance between 0 and 2")
    return value


def _many(p: argparse.ArgumentParser, dest: str, kind: Callable[[str], Any] = str, **options: Any) -> None:
    """A positional that takes a list (photos, face ids), also when options come between
    its values (`register NAME --largest PHOTO`: argparse alone stops at the option)."""
    p.add_argument(dest, type=kind, **options)
    p.set_defaults(_more=(dest, kind))


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
    if a.folder:
        if a.name is not None or a.images or a.camera:
            raise UsageError("--folder DIR registers everyone of DIR/<name>/<photos>: give no name, photos or --camera")
        return commands.register_folder_of_people(ctx, con, a.folder, a.largest)
    if a.name is None:
        raise UsageError("give the person's name (or --folder DIR to register everyone of a labelled folder)")
    if a.camera:
        if a.images:
            raise UsageError("give either photos or --camera, not both")
        return commands.register_camera(ctx, con, a.name, a.source, a.samples, not a.no_window, a.force)
    if not a.images:
        raise UsageError("give photos of the person, or --camera to capture from the camera")
    return commands.register_images(ctx, con, a.name, a.images, a.largest, a.force)


def _people(ctx: Context, con: Console, a: argparse.Namespace) -> int:
    if a.max_distance is not None and not a.regroup:
        raise UsageError("--max-distance changes how faces are grouped: give it with --regroup")
    return commands.people_list(ctx, con, a.min_faces, a.export, a.regroup, a.max_distance, a.offset, a.limit, a.hidden)


def _photos(ctx: Context, con: Console, a: argparse.Namespace) -> int:
    if a.maybe:
        if a.export or a.copy_to or a.link_to:
            raise UsageError("--maybe lists face ids to answer; give --export or an album without it")
        return commands.photos_maybe(ctx, con, a.name, a.limit or QUESTIONS_SHOWN)
    return commands.photos(ctx, con, a.name, a.limit, a.export, _album(a))


def _evaluate(ctx: Context, con: Console, a: argparse.Namespace) -> int:
    if a.pairs:
        if not a.images:
            raise UsageError("--pairs needs --images DIR (the folder of LFW images)")
        return commands.verify_pairs(ctx, con, a.pairs, a.images)
    if not a.folder:
        raise UsageError("give a folder with people/<name>/<images>, or --pairs and --images")
    return commands.evaluate(ctx, con, a.folder, a.samples, a.plot)


def _album(a: argparse.Namespace) -> tuple[str, str] | None:
    """(mode, folder) of `--link-to` / `--copy-to`, if given."""
    if a.link_to and a.copy_to:
        raise UsageError("give either --link-to or --copy-to, not both")
    if a.link_to:
        return ("link", a.link_to)
    if a.copy_to:
        return ("copy", a.copy_to)
    return None


def _add_album_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--export", metavar="DIR", help="also write a contact sheet (JPEG) into DIR")
    p.add_argument("--link-to", metavar="DIR", help="also put a symbolic link to each photo found into DIR (an album)")
    p.add_argument("--copy-to", metavar="DIR", help="also put a copy of each photo found into DIR (an album)")


EXAMPLES = {
    "menu": ["{prog}", "{prog} menu"],
    "register": [
        "{prog} register 'Barack Obama' obama1.jpg obama2.jpg",
        "{prog} register 'Ada' --camera --samples 5",
        "{prog} register --folder people/      # people/<name>/<photos>, one person per folder",
    ],
    "recognize": ["{prog} recognize party.jpg", "{prog} --json recognize *.jpg"],
    "verify": ["{prog} verify passport.jpg selfie.jpg"],
    "embed": ["{prog} --json embed face.jpg"],
    "users": ["{prog} users"],
    "users list": ["{prog} users list --json"],
    "users show": ["{prog} users show 'Barack Obama'", "{prog} users show 'Barack Obama' --export sheets/"],
    "users rename": ["{prog} users rename obama 'Barack Obama'"],
    "users delete": ["{prog} users delete 'Barack Obama' --yes"],
    "live": ["{prog} live", "{prog} live --source video.mp4 --no-window"],
    "index": ["{prog} index ~/Pictures", "{prog} index ~/Pictures/party --prune"],
    "search": ["{prog} search profile.jpg --export sheets/", "{prog} search profile.jpg --link-to album/"],
    "photos": ["{prog} photos 'Barack Obama' --copy-to obama-album/"],
    "people": ["{prog} people --export sheets/", "{prog} people --offset 50", "{prog} people --regroup"],
    "people suggest": ["{prog} people suggest --limit 5"],
    "people show": ["{prog} people show 12", "{prog} people show 'Barack Obama'"],
    "people name": ["{prog} people name 12 'Barack Obama'"],
    "people merge": ["{prog} people merge 12 15", "{prog} people merge 'Barack Obama' 15"],
    "people split": ["{prog} people split 4711 4712"],
    "people hide": ["{prog} people hide 12 15", "{prog} people --hidden"],
    "people unhide": ["{prog} people unhide 12"],
    "people is": ["{prog} photos 'Barack Obama' --maybe", "{prog} people is 'Barack Obama' 4711"],
    "people not": ["{prog} people not 'Barack Obama' 4712"],
    "users remove-sample": ["{prog} users remove-sample 4711"],
    "undo": ["{prog} undo", "{prog} undo 19      # a change by its number, from 'history'"],
    "redo": ["{prog} redo"],
    "history": ["{prog} history --limit 5"],
    "evaluate": [
        "{prog} evaluate ../shared/faces/dev --plot sweep.png",
        "{prog} evaluate --pairs pairs.txt --images lfw/",
    ],
    "reembed": ["{prog} --embedder sface-flip reembed"],
    "stats": ["{prog} stats", "{prog} --json stats"],
    "doctor": ["{prog} doctor", "{prog} doctor --json"],
    "web": ["{prog} web", "{prog} web --port 8765 --open"],
}
"""Shown under each command's --help (`{prog}` is how facerec was started)."""


def build_parser(prog: str = "facerec") -> argparse.ArgumentParser:
    common = _common_options()
    parser = _Parser(
        prog=prog,
        description="Local face recognition with PostgreSQL + pgvector. Run without a command for the menu.",
        epilog="examples:\n  "
        + "\n  ".join(e.format(prog=prog) for e in ("{prog}", *EXAMPLES["register"][:1], *EXAMPLES["recognize"][:1]))
        + f"\n\n'{prog} COMMAND --help' shows each command's options and an example.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"facerec {__version__}")
    parser.set_defaults(run=None)
    sub = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser)

    def add(
        name: str, help_text: str, run: Handler | None, group: Any = sub, parent: str = ""
    ) -> argparse.ArgumentParser:
        full = f"{parent} {name}".strip()
        examples = "\n".join(f"  {e.format(prog=prog)}" for e in EXAMPLES[full])
        p: argparse.ArgumentParser = group.add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[common],
            epilog=f"example{'s' if len(EXAMPLES[full]) > 1 else ''}:\n{examples}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(run=run)
        return p

    add("menu", "open the interactive menu (the default)", None)

    p = add(
        "register", "register a person from photos, from the camera with --camera, or a folder of people", _register
    )
    p.add_argument("name", nargs="?", help="the person's name (created if new; with photos, added to if it exists)")
    _many(p, "images", nargs="*", help="photos with the person's face (one face each, unless --largest)")
    p.add_argument("--largest", action="store_true", help="in a photo with several faces, take the largest")
    p.add_argument("--camera", action="store_true", help="capture samples from the camera instead of photos")
    p.add_argument("--source", help="camera index, video file, image folder or stream URL (with --camera)")
    p.add_argument("--samples", type=_positive_int, default=5, help="samples to capture with --camera (default 5)")
    p.add_argument("--no-window", action="store_true", help="with --camera: no window, progress on stderr")
    p.add_argument(
        "--folder",
        metavar="DIR",
        help="register everyone of DIR/<name>/<photos> (or DIR/people/<name>/...), one line per name",
    )
    p.add_argument("--yes", action="store_true", help="answer yes to questions (add to an existing name, ...)")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)

    p = add("recognize", "name every face in the given photos", lambda c, o, a: commands.recognize(c, o, a.images))
    _many(p, "images", nargs="+", help="photos to recognize the faces of")

    p = add(
        "verify",
        "same person or not: compare the largest face of two photos (uses no database)",
        lambda c, o, a: commands.verify(c, o, a.image1, a.image2),
    )
    p.add_argument("image1", help="a photo of someone")
    p.add_argument("image2", help="a photo of the same person, or not")

    p = add(
        "embed", "print each face's box and embedding (stores nothing)", lambda c, o, a: commands.embed(c, o, a.images)
    )
    _many(p, "images", nargs="+", help="photos whose faces to embed")

    p = add("users", "list, show, rename or delete registered people", lambda c, o, a: commands.users_list(c, o))
    users = p.add_subparsers(dest="users_command", metavar="action", parser_class=_Parser)
    add("list", "names and sample counts (the default)", lambda c, o, a: commands.users_list(c, o), users, "users")
    q = add(
        "show",
        "one person and each of their faces (face ids for remove-sample)",
        lambda c, o, a: commands.users_show(c, o, a.name, a.export),
        users,
        "users",
    )
    q.add_argument("name", help="a registered person's name")
    q.add_argument("--export", metavar="DIR", help="also write a contact sheet of their faces (JPEG) into DIR")
    q = add(
        "rename",
        "rename a person",
        lambda c, o, a: commands.users_rename(c, o, a.old, a.new, a.force),
        users,
        "users",
    )
    q.add_argument("old", help="the current name")
    q.add_argument("new", help="the new name")
    q.add_argument(
        "--force", action="store_true", help="allow a name that differs from another only by case or accents"
    )
    q = add(
        "remove-sample",
        "take samples (face ids from 'users show') away from their person, who keeps the others",
        lambda c, o, a: commands.users_remove_samples(c, o, a.faces),
        users,
        "users",
    )
    _many(q, "faces", int, nargs="+", metavar="FACE", help="face ids (from 'users show NAME')")
    q = add(
        "delete",
        "delete a person and every sample of them",
        lambda c, o, a: commands.users_delete(c, o, a.name),
        users,
        "users",
    )
    q.add_argument("name", help="the person to delete (every embedding and stored crop of them)")
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
    _many(p, "folders", nargs="+", help="folders of photos (searched recursively), or single photos")
    p.add_argument("--workers", type=_positive_int, help="worker processes (default: number of CPU cores)")
    p.add_argument("--prune", action="store_true", help="forget indexed photos under these folders that are gone")

    p = add(
        "search",
        "find the library photos that contain the person in a query photo",
        lambda c, o, a: commands.search(c, o, a.image, a.limit, a.face, a.export, _album(a)),
    )
    p.add_argument("image", help="a photo of the person to look for")
    p.add_argument("--limit", type=_positive_int, help="at most this many photos (default: every match)")
    p.add_argument("--face", type=_positive_int, help="which face of the query photo (1 = leftmost; default: largest)")
    _add_album_options(p)

    p = add(
        "photos",
        "every library photo that contains a registered person",
        _photos,
    )
    p.add_argument("name", help="a registered person's name")
    p.add_argument("--limit", type=_positive_int, help="at most this many photos")
    p.add_argument(
        "--maybe",
        action="store_true",
        help="the photos that may show them instead: a face just outside the threshold ('people is/not' answers)",
    )
    _add_album_options(p)

    p = add("people", "the people in the library: registered people, then groups of unnamed faces", _people)
    p.add_argument(
        "--min-faces", type=_positive_int, help="smallest group listed (default 2, or FACEREC_PEOPLE_MIN_FACES)"
    )
    p.add_argument("--limit", type=_positive_int, default=50, help="list at most this many groups (default 50)")
    p.add_argument("--offset", type=_count, default=0, help="skip this many groups first (the next page)")
    p.add_argument("--regroup", action="store_true", help="group every unnamed face again (after changing settings)")
    p.add_argument(
        "--max-distance",
        type=_distance,
        help="with --regroup: link faces closer than this (default 0.5, or FACEREC_PEOPLE_MAX_DISTANCE)",
    )
    p.add_argument("--export", metavar="DIR", help="also write a contact sheet (JPEG) into DIR")
    p.add_argument("--hidden", action="store_true", help="list the groups hidden with 'people hide' instead")
    people = p.add_subparsers(dest="people_command", metavar="action", parser_class=_Parser)
    q = add(
        "suggest",
        "groups that are probably a registered person, or one person with another group",
        lambda c, o, a: commands.people_suggest(c, o, a.limit),
        people,
        "people",
    )
    q.add_argument("--limit", type=_positive_int, default=20, help="at most this many suggestions (default 20)")
    q = add(
        "show",
        "the faces of a group (a number) or of a registered person (a name), with face ids",
        lambda c, o, a: commands.people_show(c, o, a.ref),
        people,
        "people",
    )
    q.add_argument("ref", metavar="GROUP_OR_NAME", help="a group number (from 'people') or a registered name")
    q = add(
        "name",
        "make a group a registered person",
        lambda c, o, a: commands.people_name(c, o, a.group, a.name, a.force),
        people,
        "people",
    )
    q.add_argument("group", type=int, help="a group number (from 'people')")
    q.add_argument("name", help="the person's name (created if new)")
    q.add_argument("--force", action="store_true", help=FORCE_HELP)
    q = add(
        "merge",
        "merge B into A (group numbers or names)",
        lambda c, o, a: commands.people_merge(c, o, a.a, a.b, a.force),
        people,
        "people",
    )
    q.add_argument("a", help="the group number or registered name that stays")
    q.add_argument("b", help="the group number or registered name merged into A")
    q.add_argument("--force", action="store_true", help=FORCE_HELP)
    q = add(
        "split",
        '"not this person": take faces out of their group or person',
        lambda c, o, a: commands.people_split(c, o, a.faces),
        people,
        "people",
    )
    _many(q, "faces", int, nargs="+", metavar="FACE", help="face ids (from 'people show')")
    hide_help = "group numbers (from 'people', or 'people --hidden')"
    q = add(
        "hide",
        "hide groups from the People view (undo shows them again)",
        lambda c, o, a: commands.people_hide(c, o, a.groups, True),
        people,
        "people",
    )
    _many(q, "groups", int, nargs="+", metavar="GROUP", help=hide_help)
    q = add(
        "unhide",
        "show hidden groups in the People view again",
        lambda c, o, a: commands.people_hide(c, o, a.groups, False),
        people,
        "people",
    )
    _many(q, "groups", int, nargs="+", metavar="GROUP", help=hide_help)
    q = add(
        "is",
        '"yes, this is NAME": library faces become their samples',
        lambda c, o, a: commands.people_answer(c, o, a.name, a.faces, True, a.force),
        people,
        "people",
    )
    q.add_argument("name", help="a registered person's name")
    _many(q, "faces", int, nargs="+", metavar="FACE", help="face ids (from 'photos NAME --maybe')")
    q.add_argument("--force", action="store_true", help=FORCE_HELP)
    q = add(
        "not",
        '"no, this is not NAME": never matched to, nor asked about as, NAME again',
        lambda c, o, a: commands.people_answer(c, o, a.name, a.faces, False),
        people,
        "people",
    )
    q.add_argument("name", help="a registered person's name")
    _many(q, "faces", int, nargs="+", metavar="FACE", help="face ids (from 'photos NAME --maybe')")

    p = add(
        "undo",
        "revert the last change to who is who (register, name, merge, split, ...), or change N",
        lambda c, o, a: commands.undo(c, o, a.entry),
    )
    p.add_argument("entry", type=_positive_int, nargs="?", metavar="N", help="a change's number (from 'history')")
    p.add_argument("--yes", action="store_true", help="do not ask which change first (at a terminal)")
    add("redo", "put back what the last undo reverted", lambda c, o, a: commands.redo(c, o))
    p = add(
        "history", "the latest changes to who is who, newest first", lambda c, o, a: commands.history(c, o, a.limit)
    )
    p.add_argument("--limit", type=_positive_int, default=20, help="how many (default 20)")

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
    add(
        "stats",
        "what the database holds (photos, faces, people, groups), its size and where it lives",
        lambda c, o, a: commands.stats(c, o),
    )
    add(
        "doctor",
        "check the installation: Python, CPU, versions, database, models, runtime, display, camera, no network",
        lambda c, o, a: commands.doctor(c, o),
    )
    commands.metadata.add_parsers(sub, common, prog, _Parser)
    return parser


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
