"""The command line's parser: every command and its options, by subject (people,
library, groups, live, checks), each naming the `facerec.ui.commands` function that
runs it. `facerec.ui.cli` parses with it and runs what it names."""

from __future__ import annotations

import argparse
from typing import Any

from facerec.errors import UsageError
from facerec.ui import commands
from facerec.ui.args import (
    EXAMPLES,
    FORCE_HELP,
    Adder,
    Parser,
    common_options,
    count,
    distance,
    many,
    port,
    positive_int,
)
from facerec.ui.console import Console
from facerec.usecases.context import Context
from facerec.usecases.groups.suggest import QUESTIONS_SHOWN
from facerec.version import __version__
from facerec.web import DEFAULT_HOST, DEFAULT_PORT


def build_parser(prog: str = "facerec") -> argparse.ArgumentParser:
    """The whole command line (`prog`: how facerec was started, for the examples)."""
    common = common_options()
    parser = Parser(
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
    add = Adder(prog, common, parser.add_subparsers(dest="command", metavar="command", parser_class=Parser))
    add("menu", "open the interactive menu (the default)", None)
    for subject in (_people_commands, _library_commands, _groups_commands, _live_commands, _checks_commands):
        subject(add)
    commands.metadata.add_parsers(add.sub, common, prog, Parser)
    return parser


def _people_commands(add: Adder) -> None:
    """register, users."""
    p = add(
        "register", "register a person from photos, from the camera with --camera, or a folder of people", _register
    )
    p.add_argument("name", nargs="?", help="the person's name (created if new; with photos, added to if it exists)")
    many(p, "images", nargs="*", help="photos with the person's face (one face each, unless --largest)")
    p.add_argument("--largest", action="store_true", help="in a photo with several faces, take the largest")
    p.add_argument("--camera", action="store_true", help="capture samples from the camera instead of photos")
    p.add_argument("--source", help="camera index, video file, image folder or stream URL (with --camera)")
    p.add_argument("--samples", type=positive_int, default=5, help="samples to capture with --camera (default 5)")
    p.add_argument("--no-window", action="store_true", help="with --camera: no window, progress on stderr")
    p.add_argument(
        "--folder",
        metavar="DIR",
        help="register everyone of DIR/<name>/<photos> (or DIR/people/<name>/...), one line per name",
    )
    p.add_argument("--yes", action="store_true", help="answer yes to questions (add to an existing name, ...)")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p = add("users", "list, show, rename or delete registered people", lambda c, o, a: commands.users_list(c, o))
    users = p.add_subparsers(dest="users_command", metavar="action", parser_class=Parser)
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
    many(q, "faces", int, nargs="+", metavar="FACE", help="face ids (from 'users show NAME')")
    q = add(
        "delete",
        "delete a person and every sample of them",
        lambda c, o, a: commands.users_delete(c, o, a.name),
        users,
        "users",
    )
    q.add_argument("name", help="the person to delete (every embedding and stored crop of them)")
    q.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def _library_commands(add: Adder) -> None:
    """index, recognize, search, photos, reembed, stats."""
    p = add(
        "index",
        "index photo folders: every face of every photo (incremental, resumable)",
        lambda c, o, a: commands.index(c, o, a.folders, a.workers, a.prune),
    )
    many(p, "folders", nargs="+", help="folders of photos (searched recursively), or single photos")
    p.add_argument("--workers", type=positive_int, help="worker processes (default: number of CPU cores)")
    p.add_argument("--prune", action="store_true", help="forget indexed photos under these folders that are gone")
    commands.watch_parser(add.sub, add.common, add.prog)
    p = add("recognize", "name every face in the given photos", lambda c, o, a: commands.recognize(c, o, a.images))
    many(p, "images", nargs="+", help="photos to recognize the faces of")
    p = add(
        "search",
        "find the library photos that contain the person in a query photo",
        lambda c, o, a: commands.search(c, o, a.image, a.limit, a.face, a.export, _album(a)),
    )
    p.add_argument("image", help="a photo of the person to look for")
    p.add_argument("--limit", type=positive_int, help="at most this many photos (default: every match)")
    p.add_argument("--face", type=positive_int, help="which face of the query photo (1 = leftmost; default: largest)")
    _add_album_options(p)
    p = add(
        "photos",
        "every library photo that contains a registered person",
        _photos,
    )
    p.add_argument("name", help="a registered person's name")
    p.add_argument("--limit", type=positive_int, help="at most this many photos")
    p.add_argument(
        "--maybe",
        action="store_true",
        help="the photos that may show them instead: a face just outside the threshold ('people is/not' answers)",
    )
    _add_album_options(p)
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


def _groups_commands(add: Adder) -> None:
    """people (its actions: `_people_actions`), undo, redo, history."""
    p = add("people", "the people in the library: registered people, then groups of unnamed faces", _people)
    p.add_argument(
        "--min-faces", type=positive_int, help="smallest group listed (default 2, or FACEREC_PEOPLE_MIN_FACES)"
    )
    p.add_argument("--limit", type=positive_int, default=50, help="list at most this many groups (default 50)")
    p.add_argument("--offset", type=count, default=0, help="skip this many groups first (the next page)")
    p.add_argument("--regroup", action="store_true", help="group every unnamed face again (after changing settings)")
    p.add_argument(
        "--max-distance",
        type=distance,
        help="with --regroup: link faces closer than this (default 0.5, or FACEREC_PEOPLE_MAX_DISTANCE)",
    )
    p.add_argument("--export", metavar="DIR", help="also write a contact sheet (JPEG) into DIR")
    p.add_argument("--hidden", action="store_true", help="list the groups hidden with 'people hide' instead")
    _people_actions(add, p)
    p = add(
        "undo",
        "revert the last change to who is who (register, name, merge, split, ...), or change N",
        lambda c, o, a: commands.undo(c, o, a.entry),
    )
    p.add_argument("entry", type=positive_int, nargs="?", metavar="N", help="a change's number (from 'history')")
    p.add_argument("--yes", action="store_true", help="do not ask which change first (at a terminal)")
    add("redo", "put back what the last undo reverted", lambda c, o, a: commands.redo(c, o))
    p = add(
        "history", "the latest changes to who is who, newest first", lambda c, o, a: commands.history(c, o, a.limit)
    )
    p.add_argument("--limit", type=positive_int, default=20, help="how many (default 20)")


def _people_actions(add: Adder, p: argparse.ArgumentParser) -> None:
    """people suggest, show, name, merge, split (then `_people_hiding_and_answers`)."""
    people = p.add_subparsers(dest="people_command", metavar="action", parser_class=Parser)
    q = add(
        "suggest",
        "groups that are probably a registered person, or one person with another group",
        lambda c, o, a: commands.people_suggest(c, o, a.limit),
        people,
        "people",
    )
    q.add_argument("--limit", type=positive_int, default=20, help="at most this many suggestions (default 20)")
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
    many(q, "faces", int, nargs="+", metavar="FACE", help="face ids (from 'people show')")
    _people_hiding_and_answers(add, people)


def _people_hiding_and_answers(add: Adder, people: Any) -> None:
    """people hide, unhide, is, not."""
    hide_help = "group numbers (from 'people', or 'people --hidden')"
    q = add(
        "hide",
        "hide groups from the People view (undo shows them again)",
        lambda c, o, a: commands.people_hide(c, o, a.groups, True),
        people,
        "people",
    )
    many(q, "groups", int, nargs="+", metavar="GROUP", help=hide_help)
    q = add(
        "unhide",
        "show hidden groups in the People view again",
        lambda c, o, a: commands.people_hide(c, o, a.groups, False),
        people,
        "people",
    )
    many(q, "groups", int, nargs="+", metavar="GROUP", help=hide_help)
    q = add(
        "is",
        '"yes, this is NAME": library faces become their samples',
        lambda c, o, a: commands.people_answer(c, o, a.name, a.faces, True, a.force),
        people,
        "people",
    )
    q.add_argument("name", help="a registered person's name")
    many(q, "faces", int, nargs="+", metavar="FACE", help="face ids (from 'photos NAME --maybe')")
    q.add_argument("--force", action="store_true", help=FORCE_HELP)
    q = add(
        "not",
        '"no, this is not NAME": never matched to, nor asked about as, NAME again',
        lambda c, o, a: commands.people_answer(c, o, a.name, a.faces, False),
        people,
        "people",
    )
    q.add_argument("name", help="a registered person's name")
    many(q, "faces", int, nargs="+", metavar="FACE", help="face ids (from 'photos NAME --maybe')")


def _live_commands(add: Adder) -> None:
    """live, web."""
    p = add(
        "live",
        "real-time recognition on a camera, video file, image folder or stream",
        lambda c, o, a: commands.live(c, o, a.source, not a.no_window, a.max_frames),
    )
    p.add_argument("--source", help="camera index (default FACEREC_CAMERA or 0), video file, image folder, URL")
    p.add_argument("--no-window", action="store_true", help="no window: print one line per recognition event")
    p.add_argument("--max-frames", type=positive_int, help="stop after this many frames")
    p = add(
        "web",
        "serve a local web page: people as cards of faces, search by photo, the library",
        lambda c, o, a: commands.web(c, o, a.host, a.port, a.open),
    )
    p.add_argument("--port", type=port, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}; 0: any free)")
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; anything else prints a warning)",
    )
    p.add_argument("--open", action="store_true", help="open the page in the default browser")


def _checks_commands(add: Adder) -> None:
    """verify, embed, evaluate, doctor."""
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
    many(p, "images", nargs="+", help="photos whose faces to embed")
    p = add("evaluate", "measure accuracy on a labelled folder, or run the LFW pairs protocol", _evaluate)
    p.add_argument("folder", nargs="?", help="a folder with people/<name>/<images> and optionally distractors/")
    p.add_argument("--samples", type=positive_int, default=1, help="photos registered per person (default 1)")
    p.add_argument("--plot", metavar="FILE", help="write the threshold sweep as a PNG chart")
    p.add_argument("--pairs", metavar="PAIRS_TXT", help="LFW pairs.txt: run the 10-fold verification protocol")
    p.add_argument("--images", metavar="DIR", help="with --pairs: the LFW image folder (DIR/name/name_0001.jpg)")
    add(
        "doctor",
        "check the installation: Python, CPU, versions, database, models, runtime, display, camera, no network",
        lambda c, o, a: commands.doctor(c, o),
    )


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
