"""Commands that move names in and out of photo metadata: `xmp export` (face regions
into sidecars or the photo's XMP) and `import` (Google Takeout, Picasa); and the
index summary's lines about names read from face regions."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from facerec.errors import UsageError
from facerec.ui.console import Console
from facerec.usecases.context import Context
from facerec.usecases.metadata.export import export_regions
from facerec.usecases.metadata.importing import import_names
from facerec.usecases.metadata.names_in import NamesFromFiles, Tally, pending_names

EXPORT_EXAMPLES = [
    "{prog} xmp export                      # every photo with named faces: a sidecar beside each",
    "{prog} xmp export ~/Photos/2024 --person 'Ada Lovelace'",
    "{prog} xmp export party.jpg --in-place # into the photo's own XMP (only its XMP changes)",
]
PENDING = ["{prog} xmp pending"]
IMPORT_EXAMPLES = [
    "{prog} import ~/Takeout/Google\\ Photos   # names from a Google Takeout export",
    "{prog} import ~/Pictures/2009 --contacts ~/picasa/contacts.xml",
]


def xmp_export(ctx: Context, con: Console, paths: Sequence[str], person: str | None, in_place: bool) -> int:
    """Write the named faces as XMP face regions; one line per file, then a summary."""
    done = export_regions(ctx, paths, person, in_place)
    for path in done.written:
        con.out(f"  wrote {path}")
    for picture, error in done.failed:
        con.out(f"  failed: {picture}: {error}")
    con.emit({"written": done.written, "unchanged": done.unchanged, "faces": done.faces, "kept": done.kept,
              "failed": [{"picture": p, "error": e} for p, e in done.failed], "entry": done.entry})  # fmt: skip
    n = len(done.written)
    where = ("photo's own XMP" if n == 1 else "photos' own XMP") if in_place else ("sidecar" if n == 1 else "sidecars")
    con.out(
        f"{n} {where} written ({done.faces} face regions, {done.kept} of other tools kept), "
        f"{done.unchanged} already up to date"
        + (f"; 'undo' puts the old files back (#{done.entry})" if done.entry else "")
    )
    return 1 if done.failed and not done.written and not done.unchanged else 0


STATES = {"ask": "left to confirm", "refused": "refused by the guard", "hint": "kept as a hint (no face found)"}


def xmp_pending(ctx: Context, con: Console) -> int:
    """The names from photo metadata, Takeout or Picasa that are not on a face yet, and why."""
    items = pending_names(ctx).items
    for picture, name, state, why in items:
        con.emit({"picture": picture, "name": name, "state": state, "problem": why})
        con.out(f"{picture}: {name!r} {STATES.get(state, state)}" + (f": {why}" if why else ""))
    con.out(f"{len(items)} name{'s' if len(items) != 1 else ''} from files not on a face")
    return 0


def import_folder(ctx: Context, con: Console, path: str, contacts: str | None) -> int:
    """Bring in names from a Takeout or Picasa folder: one summary line per source."""
    done = import_names(ctx, path, contacts)
    for tally in done.sources:
        _tally_lines(con, tally)
        con.emit({"source": tally.source, "named": tally.named, "confirmed": tally.confirmed,
                  "asked": tally.asked, "refused": tally.refused, "hints": tally.hints})  # fmt: skip
    for photo in done.not_indexed:
        con.out(f"  not indexed (see 'index'): {photo}")
    for tally in done.sources:
        con.out(tally.summary())
    return 0


def _tally_lines(con: Console, tally: Tally) -> None:
    for line in tally.lines:
        con.out(f"  {line}")


def show_names(con: Console, names: NamesFromFiles | None) -> None:
    """The index summary's part about names read from face regions (nothing when none)."""
    if names is None:
        return
    for picture, error in names.failed:
        con.out(f"  metadata not read: {picture}: {error}")
    t = names.tally
    if t.total or t.unnamed:
        _tally_lines(con, t)
        con.out(t.summary())


def _xmp_alone(ctx: Context, con: Console, args: argparse.Namespace) -> int:
    raise UsageError("xmp: which action? 'xmp export' writes the named faces as face regions")


def add_parsers(sub: Any, common: argparse.ArgumentParser, prog: str, parser_class: type) -> None:
    """`xmp export` and `import`, added to the CLI's subcommands `sub`."""

    def add(group: Any, name: str, help_text: str, examples: list[str]) -> argparse.ArgumentParser:
        text = "\n".join(f"  {e.format(prog=prog)}" for e in examples)
        p: argparse.ArgumentParser = group.add_parser(
            name, help=help_text, description=help_text, parents=[common], epilog=f"examples:\n{text}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
        return p

    p = add(sub, "xmp", "face regions in XMP: names other photo programs read", EXPORT_EXAMPLES)
    p.set_defaults(run=_xmp_alone)
    xmp: Any = p.add_subparsers(dest="xmp_command", metavar="action", parser_class=parser_class)
    q = add(xmp, "export", "write the named faces as XMP face regions (sidecars by default)", EXPORT_EXAMPLES)
    q.add_argument("paths", nargs="*", metavar="PATH", help="photos or folders (default: every photo with a name)")
    q.add_argument("--person", metavar="NAME", help="only the photos where this registered person is")
    q.add_argument("--in-place", action="store_true", help="write into the photo's own XMP instead of a sidecar")
    q.set_defaults(run=lambda c, o, a: xmp_export(c, o, a.paths, a.person, a.in_place))

    q = add(xmp, "pending", "names from files left to confirm, refused by the guard, or kept as hints", PENDING)
    q.set_defaults(run=lambda c, o, a: xmp_pending(c, o))

    p = add(sub, "import", "bring in names from a Google Takeout or Picasa folder", IMPORT_EXAMPLES)
    p.add_argument("path", metavar="PATH", help="a Google Takeout folder (unpacked) or a folder with .picasa.ini")
    p.add_argument("--contacts", metavar="XML", help="Picasa's contacts.xml, when it is not inside PATH")
    p.set_defaults(run=lambda c, o, a: import_folder(c, o, a.path, a.contacts))
