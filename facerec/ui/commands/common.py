"""What the commands share: the guard's question, one-line messages, number and box formatting, progress bars."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar, cast

from facerec.errors import (
    Cancelled,
    FacerecError,
    LooksLikeSomeoneElseError,
    ModelError,
    SimilarNameError,
)
from facerec.types import Box, Person
from facerec.ui.console import Console
from facerec.ui.progress import ProgressBar
from facerec.ui.sheets import Tile, make_sheet
from facerec.usecases.context import Context
from facerec.usecases.groups.grouping import GroupingProgress, GroupingReport
from facerec.usecases.library.albums import make_album
from facerec.usecases.library.search import PhotoMatch
from facerec.usecases.library.thumbnails import photo_turns
from facerec.usecases.people.register import Registration

T = TypeVar("T")


def guarded(con: Console, run: Callable[[bool], T], force: bool = False) -> T:
    """Run a change the guard may stop (`run(force)`): in a conversation (a terminal,
    the menu) the guard's finding is shown and asked about; otherwise it is one
    line and exit status 1, with the way to store anyway."""
    try:
        return run(force)
    except LooksLikeSomeoneElseError as exc:
        if not con.interactive:
            raise _with_force_hint(exc) from None
        if not _ask_guard(con, exc):
            raise Cancelled("nothing stored") from None
        if exc.go_ahead is not None:  # the change was planned: apply it as it is
            return cast(T, exc.go_ahead())
        return run(True)
    except SimilarNameError as exc:
        raise (_with_force_hint(exc) if not con.interactive else exc) from None


def _ask_guard(con: Console, finding: LooksLikeSomeoneElseError) -> bool:
    """Show what the guard found and ask whether to go ahead (only a person can say yes: not `--yes`)."""
    if not con.interactive:
        return False
    con.info(f"warning: {finding}")
    return con.confirm(finding.question, yes_answers=False)


def _with_force_hint(exc: FacerecError) -> FacerecError:
    """The same error, saying how to go ahead anyway (the command line's `--force`)."""
    if isinstance(exc, SimilarNameError):
        return SimilarNameError(f"{exc} (pass --force to use the new spelling)", exc.existing)
    return LooksLikeSomeoneElseError(f"{exc} (pass --force to store anyway)")


def _box(box: Box) -> str:
    return f"{box.x},{box.y},{box.w},{box.h}"


def _name(name: str | None) -> str:
    return name if name is not None else "Unknown"


def _distance(d: float | None) -> float | None:
    return None if d is None else round(d, 4)


def _failed(con: Console, image: str, exc: FacerecError) -> int:
    """Report one failed image (stderr, and a JSON record); returns exit status 1.
    A model that cannot load stops the whole command instead (one line, not one per image)."""
    if isinstance(exc, ModelError):
        raise exc
    con.emit({"image": image, "error": str(exc)})
    con.error(str(exc))
    return 1


def _window_or_text(ctx: Context, con: Console, window: bool) -> bool:
    """Whether to open a window: asked for, and a display exists (else say so once)."""
    if window and not ctx.settings.display:
        con.info("no display available: running without a window (text output)")
        return False
    return window


def _sheet_path(folder: str, stem: str) -> Path:
    """Where a contact sheet goes (`save_private_image` creates the folder)."""
    return Path(folder) / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}.jpg"


def _size(n: int) -> str:
    """Bytes for people: `9.1 MB`."""
    if n < 1000:
        return f"{n} bytes"
    value = float(n)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            break
    return f"{value:.1f} {unit}"


def _photo_matches(
    ctx: Context,
    con: Console,
    matches: Sequence[PhotoMatch],
    total: int,
    empty: str,
    export: str | None,
    stem: str,
    album: tuple[str, str] | None = None,
) -> int:
    if not matches:
        con.out(empty)
    for n, m in enumerate(matches, 1):
        con.emit(m.as_json())
        who = f"  {m.name}" if m.name else ""
        at = f" @ {m.at}" if m.at else ""  # a clip: when they are on screen
        con.out(f"{n:3d}. {m.picture}{at}  distance {m.distance:.3f}  face at {_box(m.hit.box)}{who}")
    if total > len(matches):
        con.info(f"... and {total - len(matches)} more photos ({total} in all; raise --limit to see them)")
    if export and matches:
        turns = photo_turns(ctx, [m.picture for m in matches])
        tiles = [
            Tile(
                m.picture,
                m.hit.box,
                f"distance {m.distance:.3f}",
                m.name,
                turn=turns[m.picture],
                t_seconds=m.clip.t_seconds if m.clip else None,
            )
            for m in matches
        ]
        sheet = make_sheet(tiles, _sheet_path(export, stem))
        con.info(f"contact sheet: {sheet.path} ({sheet.tiles} photos)")
    if album and matches:
        mode, folder = album
        done = make_album(ctx, [m.picture for m in matches], folder, mode)
        what = "links" if mode == "link" else "copies"
        already = f", {done.present} already there" if done.present else ""
        con.info(f"album: {done.folder} ({done.added} new {what}{already})")
        for gone in done.missing:
            con.error(f"{gone}: no longer there; not added to the album")
    return 0


class _GroupingBar:
    """A progress bar per phase of a grouping run (reading, matching, neighbours, ...), on stderr."""

    def __init__(self, con: Console) -> None:
        self.con = con
        self.phase = ""
        self.bar: ProgressBar | None = None

    def __call__(self, p: GroupingProgress) -> None:
        if p.phase != self.phase:
            self.done()
            self.phase = p.phase
            self.bar = ProgressBar(self.con.stderr, "faces", None, label=p.phase)
        assert self.bar is not None
        self.bar.update(p.done, p.total)

    def done(self) -> None:
        if self.bar is not None:
            self.bar.done()
        self.bar = None


def _grouping_summary(report: GroupingReport) -> str:
    what = "regrouped" if report.full else "placed"
    return (
        f"people: {what} {report.faces} faces in {report.seconds:.1f} s: {report.grouped} grouped, "
        f"{report.matched} shown as registered people, {report.gated} left out by the quality gates"
    )


def _registered(con: Console, result: Registration) -> int:
    for w in result.warnings:
        con.info(f"warning (stored anyway): {w}")
    con.emit(
        {"name": result.name, "added": result.added, "created": result.created, "already_stored": result.already_stored}
    )
    if result.added == 0 and result.already_stored:
        what = "it is" if result.already_stored == 1 else f"all {result.already_stored} are"
        con.out(f"nothing added to {result.name!r}: {what} already stored as samples of {result.name!r}")
        return 0
    verb = "registered" if result.created else "added to"
    also = f" ({result.already_stored} already stored)" if result.already_stored else ""
    con.out(f"{verb} {result.name!r}: {result.added} sample(s){also}")
    return 0


def _person_faces(con: Console, p: Person) -> None:
    con.emit(
        {
            "name": p.name,
            "samples": p.samples,
            "pictures": p.pictures,
            "faces": [
                {
                    "face": f.face_id,
                    "picture": f.picture,
                    "box": f.box.as_list(),
                    "added": f.added.isoformat(),
                    "source": f.source,
                }
                for f in p.faces
            ],
        }
    )
    con.out(f"{p.name}: {p.samples} sample(s), registered {p.created_at:%Y-%m-%d %H:%M}")
    for f in p.faces:
        con.out(f"  face {f.face_id}: {f.picture} at {_box(f.box)}, added {f.added:%Y-%m-%d %H:%M} ({f.source})")
