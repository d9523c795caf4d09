"""The command line's building blocks: a parser whose usage errors are one line and
exit status 2, argument types with clear messages, the options every command takes,
each command's examples, and `Adder`, which adds a command with all of these."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from facerec.ui.console import Console
from facerec.usecases.context import Context
from facerec.vision.detectors import DETECTORS
from facerec.vision.embedders import EMBEDDERS

FORCE_HELP = "store even when the faces look like someone else, or unlike this person"

Handler = Callable[[Context, Console, argparse.Namespace], int]
"""What each command's parser names as `run`: (context, console, arguments) -> exit status."""


class Parser(argparse.ArgumentParser):
    """argparse with usage errors in facerec's shape: one line on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"facerec: {message} (see {self.prog} --help)\n")


def whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}: {text!r}")
    return value


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535 (0: any free port), not {value}")
    return value


def positive_int(text: str) -> int:
    return whole_number(text, 1)


def count(text: str) -> int:
    return whole_number(text, 0)


def distance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 2.0:
        raise argparse.ArgumentTypeError("a cosine distance between 0 and 2")
    return value


def many(p: argparse.ArgumentParser, dest: str, kind: Callable[[str], Any] = str, **options: Any) -> None:
    """A positional that takes a list (photos, face ids), also when options come between
    its values (`register NAME --largest PHOTO`: argparse alone stops at the option)."""
    p.add_argument(dest, type=kind, **options)
    p.set_defaults(_more=(dest, kind))


def common_options() -> argparse.ArgumentParser:
    """Options accepted before or after the command (defaults are filled in later)."""
    p = Parser(add_help=False)
    s = argparse.SUPPRESS
    p.add_argument("--json", action="store_true", default=s, help="print JSON Lines instead of text")
    p.add_argument("--detector", choices=sorted(DETECTORS), default=s, help="face detector (default: yunet)")
    p.add_argument("--embedder", choices=sorted(EMBEDDERS), default=s, help="face embedder (default: sface)")
    p.add_argument(
        "--threshold",
        type=distance,
        default=s,
        metavar="D",
        help="cosine distance at or under which a face is a match (default: the embedder's calibrated value)",
    )
    p.add_argument("-v", "--verbose", action="count", default=s, help="more log output (-vv for debug)")
    return p


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


class Adder:
    """Adds a command (`add("index", help, run)`) or an action under one
    (`add("show", help, run, group, "users")`): the options every command takes,
    its help and its examples (`EXAMPLES`), and its handler as `run`."""

    def __init__(self, prog: str, common: argparse.ArgumentParser, sub: Any) -> None:
        self.prog = prog
        self.common = common
        self.sub = sub

    def __call__(
        self, name: str, help_text: str, run: Handler | None, group: Any = None, parent: str = ""
    ) -> argparse.ArgumentParser:
        full = f"{parent} {name}".strip()
        examples = "\n".join(f"  {e.format(prog=self.prog)}" for e in EXAMPLES[full])
        p: argparse.ArgumentParser = (group or self.sub).add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[self.common],
            epilog=f"example{'s' if len(EXAMPLES[full]) > 1 else ''}:\n{examples}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(run=run)
        return p
