"""One function per user action, shared by the CLI and the menu.

Each takes the `Context` and a `Console`, calls one use case (or a few),
prints its results (text or JSON Lines) and returns an exit status: 0
success, 1 when some input failed. Errors that stop the whole command are
raised as `FacerecError` and turned into one line by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from facerec.errors import (
    Cancelled,
    ConfirmationRequired,
    FacerecError,
    LooksLikeSomeoneElseError,
    ModelError,
    NoFaceError,
    ServerError,
    SimilarNameError,
)
from facerec.types import Box, Person
from facerec.ui.console import Console, display_width, ljust, rjust
from facerec.ui.plot import line_chart
from facerec.ui.progress import MIN_RATE_S, ProgressBar
from facerec.ui.sheets import Section, Tile, make_sectioned_sheet, make_sheet
from facerec.ui.windows.enroll import EnrollWindow
from facerec.ui.windows.live import LiveWindow
from facerec.usecases import doctor as doctor_uc
from facerec.usecases import journal
from facerec.usecases.context import Context
from facerec.usecases.evaluate import evaluate as evaluation
from facerec.usecases.evaluate.verify import verify as verify_faces
from facerec.usecases.groups import changes as people_uc
from facerec.usecases.groups import grouping
from facerec.usecases.groups import suggest as suggest_uc
from facerec.usecases.groups.grouping import GroupingProgress, GroupingReport
from facerec.usecases.library.albums import make_album
from facerec.usecases.library.index import index_folders
from facerec.usecases.library.recognize import analyze_photo, recognize_photo
from facerec.usecases.library.reembed import ReembedReport
from facerec.usecases.library.reembed import reembed as run_reembed
from facerec.usecases.library.search import PhotoMatch, photos_of, search_photo
from facerec.usecases.library.stats import stats as library_stats
from facerec.usecases.live.enroll import EnrollOptions, enroll
from facerec.usecases.live.live import LiveEvent, LiveLoop, LiveOptions, run_live
from facerec.usecases.people import users as users_uc
from facerec.usecases.people.labelled import PersonOutcome, register_folder
from facerec.usecases.people.names import name_order
from facerec.usecases.people.register import Registration, register_photos

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


def recognize(ctx: Context, con: Console, images: Sequence[str]) -> int:
    """Name every face in every image (Unknown when no one is close enough)."""
    status = 0
    for image in images:
        try:
            results = recognize_photo(ctx, image).faces
        except FacerecError as exc:
            status = _failed(con, image, exc)
            continue
        if not results:
            status = _failed(con, image, NoFaceError(f"{image}: no face found"))
        for r in results:
            con.emit({"image": image, "box": r.face.box.as_list(), "name": r.name, "distance": _distance(r.distance)})
            dist = "" if r.distance is None else f" (distance {r.distance:.3f})"
            con.out(f"{image}: {_name(r.name)}{dist} at {_box(r.face.box)}")
    return status


def embed(ctx: Context, con: Console, images: Sequence[str]) -> int:
    """Print each face's box and embedding; stores nothing."""
    status = 0
    for image in images:
        try:
            faces = analyze_photo(ctx, image).faces
        except FacerecError as exc:
            status = _failed(con, image, exc)
            continue
        if not faces:
            con.out(f"{image}: no face found")
        for f in faces:
            values = [round(float(v), 6) for v in f.embedding]
            con.emit({"image": image, "box": f.face.box.as_list(), "model": f.model, "embedding": values})
            con.out(f"{image}: face at {_box(f.face.box)} {f.model} {len(values)}-d")
            con.out("  " + " ".join(f"{v:.4f}" for v in values))
    return status


def register_images(
    ctx: Context, con: Console, name: str, images: Sequence[str], use_largest: bool, force: bool = False
) -> int:
    """Register the face of each image as a sample of `name` (guarded)."""
    result = guarded(con, lambda f: register_photos(ctx, name, images, use_largest, force=f), force)
    return _registered(con, result)


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


def register_folder_of_people(ctx: Context, con: Console, folder: str, use_largest: bool) -> int:
    """Register everyone of a labelled folder (`DIR/<name>/<photos>`): one line per name."""

    def report(p: PersonOutcome) -> None:
        con.emit({"name": p.name, "photos": p.photos, "added": p.added, "created": p.created, "error": p.error})
        for w in p.warnings:
            con.info(f"warning: {p.name}: {w}")
        label = f"{p.folder} ({p.name!r})" if p.folder else p.name
        if not p.ok:
            con.out(f"{label}: nothing registered: {p.error}")
        elif p.added == 0 and p.already_stored:
            con.out(f"{label}: nothing new: its {p.already_stored} photo(s) are {p.name!r}'s samples already")
        else:
            verb = "registered" if p.created else "added to"
            kept = f" ({p.already_stored} were already)" if p.already_stored else ""
            con.out(f"{label}: {verb}, {p.added} of {p.photos} photo(s) stored as samples{kept}")

    done = register_folder(ctx, Path(folder), use_largest, on_person=report)
    ok = len(done.people) - len(done.failed)
    con.info(f"{ok} of {len(done.people)} people registered from {done.folder}")
    return 1 if done.failed else 0


def _window_or_text(ctx: Context, con: Console, window: bool) -> bool:
    """Whether to open a window: asked for, and a display exists (else say so once)."""
    if window and not ctx.settings.display:
        con.info("no display available: running without a window (text output)")
        return False
    return window


def register_camera(
    ctx: Context, con: Console, name: str, source: str | None, samples: int, window: bool, force: bool = False
) -> int:
    """Guided registration from the camera (or a video / folder given as `source`)."""
    window = _window_or_text(ctx, con, window)
    display = ctx.settings.display
    options = EnrollOptions(
        source=source or ctx.settings.camera,
        samples=samples,
        view=(lambda name: EnrollWindow(name, display)) if window else None,
        confirm=con.confirm,
        confirm_guard=lambda finding: _ask_guard(con, finding),
        force=force,
        on_message=con.info,
    )
    try:
        result = enroll(ctx, name, options)  # asks the guard's question itself, after the capture
    except (LooksLikeSomeoneElseError, SimilarNameError) as exc:
        if con.interactive:
            raise Cancelled("nothing stored") if isinstance(exc, LooksLikeSomeoneElseError) else exc from None
        raise _with_force_hint(exc) from None
    return _registered(con, result)


def users_list(ctx: Context, con: Console) -> int:
    people = sorted(users_uc.list_people(ctx).people, key=lambda p: name_order(p.name))  # 'alice' beside 'Alice'
    for p in people:
        con.emit({"name": p.name, "samples": p.samples})
    if not people:
        con.out("no one is registered yet")
        return 0
    width = max(4, *(display_width(p.name) for p in people))
    con.out(f"{ljust('NAME', width)}  SAMPLES  REGISTERED")
    for p in people:
        when = p.created_at.strftime("%Y-%m-%d %H:%M") if p.created_at else ""
        con.out(f"{ljust(p.name, width)}  {p.samples:>7}  {when}")
    return 0


def users_show(ctx: Context, con: Console, name: str, export: str | None = None) -> int:
    """A person and each of their faces: face id (for remove-sample, split), photo, box, when added;
    `export`: a contact sheet of those faces, one tile each, cropped around the face."""
    p = users_uc.show_person(ctx, name)
    _person_faces(con, p)
    if export and p.faces:
        tiles = [Tile(f.picture, f.box, f"face {f.face_id} ({f.source})", p.name, crop=True) for f in p.faces]
        sheet = make_sheet(tiles, _sheet_path(export, "person"))
        con.info(f"contact sheet: {sheet.path} ({sheet.tiles} faces)")
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


def users_remove_samples(ctx: Context, con: Console, faces: Sequence[int]) -> int:
    """Take samples (face ids from `users show`) away from their person; `undo` puts them back."""
    done = users_uc.remove_samples(ctx, faces)
    for face, name in done.removed.items():
        con.emit({"removed": face, "from": name})
        con.out(f"face {face} is no longer a sample of {name!r}")
    return 0


def users_rename(ctx: Context, con: Console, old: str, new: str, force: bool = False) -> int:
    done = guarded(con, lambda f: users_uc.rename_person(ctx, old, new, force=f), force)
    con.emit({"renamed": done.old, "to": done.new})
    con.out(f"renamed {done.old!r} to {done.new!r}")
    return 0


def users_delete(ctx: Context, con: Console, name: str) -> int:
    """Delete a person after confirmation (`--yes` skips it; no terminal and no `--yes` refuses)."""
    users_uc.show_person(ctx, name)  # fail early on an unknown name, before asking
    if not con.assume_yes and not con.interactive:
        raise ConfirmationRequired(f"refusing to delete {name!r} without confirmation; pass --yes")
    if not con.confirm(f"delete {name!r} and every sample of them?"):
        raise Cancelled("nothing deleted")
    done = users_uc.delete_person(ctx, name)
    con.emit({"deleted": done.name, "files_removed": done.files_removed})
    crops = f"{done.files_removed} stored face crop{'s' * (done.files_removed != 1)}"
    con.out(f"deleted {done.name!r}; removed {crops}; your photos were not touched")
    return 0


def live(ctx: Context, con: Console, source: str | None, window: bool, max_frames: int | None = None) -> int:
    """Real-time recognition; headless (`window=False`) prints one line per event."""
    window = _window_or_text(ctx, con, window)

    def on_event(e: LiveEvent) -> None:
        box = None if e.box is None else e.box.as_list()
        con.emit({"frame": e.frame, "track": e.track, "name": e.name, "distance": _distance(e.distance), "box": box})
        dist = "" if e.distance is None else f" {e.distance:.3f}"
        con.out(f"frame {e.frame} track {e.track}: {_name(e.name)}{dist}")

    def ask_name() -> str | None:
        return con.ask("name for the face in view (empty to cancel): ")

    def view(loop: LiveLoop) -> LiveWindow:
        return LiveWindow(ctx, loop, ask_name, lambda finding: _ask_guard(con, finding), con.info)

    options = LiveOptions(source=source or ctx.settings.camera, max_frames=max_frames, on_event=on_event)
    report = run_live(ctx, options, view if window else None)
    summary = {"frames": report.frames, "seconds": round(report.seconds, 3), "fps": round(report.fps, 2)}
    con.emit(summary)
    con.out(f"{report.frames} frames in {report.seconds:.1f} s ({report.fps:.1f} FPS)")
    return 0


# -- photo library ------------------------------------------------------------


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


def index(ctx: Context, con: Console, folders: Sequence[str], workers: int | None, prune: bool) -> int:
    """Index photo folders (incremental); prints a summary. Exit 130 if interrupted."""
    bar = ProgressBar(con.stderr, "photos")
    grouping_bar = _GroupingBar(con)
    report = index_folders(
        ctx,
        folders,
        workers,
        prune,
        on_progress=lambda p: bar.update(p.done, p.total, p.faces),
        on_grouping=grouping_bar,
    )
    bar.done()
    grouping_bar.done()
    if report.grouping is not None and report.grouping.faces:
        con.info(_grouping_summary(report.grouping))
    if report.grouping_error is not None:
        con.info(f"people: not updated ({report.grouping_error}); 'people' will place the new faces")
    con.emit(report.as_json())
    if report.seen == 0:
        con.out(f"no photos found under {', '.join(folders)}")
        return 0
    rate = f" ({report.indexed / report.seconds:.1f} photos/s)" if report.seconds >= MIN_RATE_S else ""
    con.out(
        f"seen {report.seen}, indexed {report.indexed}, skipped {report.skipped} (unchanged), "
        f"moved {report.moved}, copies {report.copied}, pruned {report.pruned}; "
        f"{report.faces} faces in {report.seconds:.1f} s{rate}"
    )
    for picture, error in report.failed:
        con.out(f"  failed: {picture}: {error}")
    if report.interrupted:
        con.info("interrupted: what was indexed is kept; run index again to continue")
        return 130
    return 1 if report.failed and not (report.indexed or report.skipped or report.moved or report.copied) else 0


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
        con.out(f"{n:3d}. {m.picture}  distance {m.distance:.3f}  face at {_box(m.hit.box)}{who}")
    if total > len(matches):
        con.info(f"... and {total - len(matches)} more photos ({total} in all; raise --limit to see them)")
    if export and matches:
        tiles = [Tile(m.picture, m.hit.box, f"distance {m.distance:.3f}", m.name) for m in matches]
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


def _sheet_path(folder: str, stem: str) -> Path:
    """Where a contact sheet goes (`save_private_image` creates the folder)."""
    return Path(folder) / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}.jpg"


def search(
    ctx: Context,
    con: Console,
    image: str,
    limit: int | None,
    face: int | None,
    export: str | None,
    album: tuple[str, str] | None = None,
) -> int:
    """The library photos that contain the person in `image`; `album`: (mode, folder), see `make_album`."""
    found = search_photo(ctx, image, limit, face)
    con.info(f"query: the face at {_box(found.query.face.box)} in {image}")
    return _photo_matches(ctx, con, found.matches, found.total, "no photos of this person", export, "search", album)


def photos(
    ctx: Context, con: Console, name: str, limit: int | None, export: str | None, album: tuple[str, str] | None = None
) -> int:
    """Every library photo of a registered person."""
    found = photos_of(ctx, name, limit)
    empty = f"no photos of {name!r} in the library"
    return _photo_matches(ctx, con, found.matches, found.total, empty, export, "photos", album)


def photos_maybe(ctx: Context, con: Console, name: str, limit: int | None) -> int:
    """The library photos that may show a registered person: a face just outside the threshold."""
    found = suggest_uc.near_misses(ctx, name, limit)
    for m in found.matches:
        con.emit(m.as_json())
        con.out(f"face {m.hit.face_id}  {m.picture}  (distance {_distance(m.distance)})")
    if not found.matches:
        con.out(f"no photos that may be {name!r} (none just outside the threshold)")
    elif found.total > len(found.matches):
        con.out(f"{len(found.matches)} of {found.total} shown (--limit to see more)")
    if found.matches:
        con.info(f"answer with: people is {name!r} FACE...  or  people not {name!r} FACE...")
    return 0


def verify(ctx: Context, con: Console, first: str, second: str) -> int:
    """Same person or not: the largest face of each image, by the threshold. No database."""
    v = verify_faces(ctx, first, second)
    con.emit(
        {
            "image1": first,
            "image2": second,
            "same": v.same,
            "distance": _distance(v.distance),
            "threshold": round(v.threshold, 4),
            "box1": v.first.face.box.as_list(),
            "box2": v.second.face.box.as_list(),
        }
    )
    for image, n in zip((first, second), v.faces):
        if n > 1:
            con.info(f"{image}: {n} faces; comparing the largest")
    verdict = "same person" if v.same else "different people"
    con.out(f"{verdict} (distance {v.distance:.3f}, threshold {v.threshold:.2f})")
    return 0


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


def stats(ctx: Context, con: Console) -> int:
    """What the database holds, its size, and where it lives."""
    s = library_stats(ctx)
    con.emit(s.as_json())
    c = s.counts
    rows = [
        ("photos indexed", str(c.photos)),
        ("faces in them", str(c.faces)),
        ("registered people", f"{c.people} ({c.samples} samples)"),
        ("groups of unnamed faces", f"{c.groups} (as of the last 'people')"),
        ("database size", _size(c.size_bytes)),
        ("database", s.location if not s.embedded else f"{s.location} (embedded)"),
    ]
    width = max(display_width(k) for k, _ in rows)
    for key, value in rows:
        con.out(f"{ljust(key, width)}  {value}")
    return 0


def doctor(ctx: Context, con: Console) -> int:
    """Check the installation, one line per check; exit status 1 when one failed."""
    report = doctor_uc.doctor(ctx)
    for record in report.as_json():
        con.emit(record)
    width = max(display_width(c.name) for c in report.checks)
    marks = {doctor_uc.OK: "ok  ", doctor_uc.WARN: "warn", doctor_uc.FAIL: "FAIL"}
    for c in report.checks:
        con.out(f"{marks[c.status]}  {ljust(c.name, width)}  {c.detail}" + (f" -> {c.fix}" if c.fix else ""))
    failed = [c.name for c in report.checks if c.status == doctor_uc.FAIL]
    con.out(f"{len(failed)} check{'s' * (len(failed) != 1)} failed: {', '.join(failed)}" if failed else "all good")
    return 1 if failed else 0


def people_list(
    ctx: Context,
    con: Console,
    min_faces: int | None,
    export: str | None,
    regroup: bool = False,
    max_distance: float | None = None,
    offset: int = 0,
    limit: int | None = 50,
    hidden: bool = False,
) -> int:
    """List the People view: registered people, then the groups of unnamed
    faces (a page of them). Brings the stored groups up to date first
    (quick: only faces not looked at yet); `regroup` groups everything again.
    `hidden`: the groups the user hid instead."""
    bar = _GroupingBar(con)
    try:
        report = grouping.regroup(ctx, max_distance, on_progress=bar) if regroup else grouping.update_groups(ctx, bar)
    except KeyboardInterrupt:
        bar.done()
        con.info("interrupted: the stored groups are unchanged")
        return 130
    bar.done()
    if report.full or report.faces:
        con.info(_grouping_summary(report))
    view = grouping.people_view(ctx, min_faces, offset, limit, hidden=hidden)
    for g in view.groups:
        con.emit(g.as_json())
    if view.people and not hidden:
        con.out("registered people (library photos where they are named or recognised):")
        width = max(display_width(p.name) for p in view.people)
        for p in sorted(view.people, key=lambda p: name_order(p.name)):
            con.out(f"  {ljust(p.name + ':', width + 1)} {rjust(str(p.photos), 4)}")
    if not view.groups:
        if view.total:
            con.out(f"no groups from {offset + 1}; there are {view.total}")
        elif hidden:
            con.out("no hidden groups")
        else:
            con.out("no groups of unnamed faces (index some photos, or lower --min-faces)")
    for g in view.groups:
        # The faces of a group are in as many photos: two faces of one photo are never one person.
        con.out(f"group {g.id}: {g.size} faces in {g.size} photo{'s' if g.size != 1 else ''}")
        for picture in [f.picture for f in g.faces][:3]:
            con.out(f"    {picture}")
        if g.size > 3:
            con.out(f"    ... and {g.size - 3} more")
    shown_to = offset + len(view.groups)
    if view.groups and (offset > 0 or shown_to < view.total):
        con.out(f"groups {offset + 1}-{shown_to} of {view.total} (--offset {shown_to} for more)")
    if view.hidden and not hidden:
        con.out(
            f"{view.hidden} hidden group{'s' if view.hidden != 1 else ''} not listed ('people --hidden' lists them)"
        )
    if export and view.groups:
        sections = [
            Section(
                f"group {g.id}: {g.size} faces",
                [Tile(f.picture, f.box, f"face {f.face_id}", crop=True) for f in g.faces[:12]],
            )
            for g in view.groups
        ]
        sheet = make_sectioned_sheet(sections, _sheet_path(export, "people"))
        con.info(f"contact sheet: {sheet.path} ({sheet.tiles} faces in {len(sections)} groups)")
    return 0


def people_suggest(ctx: Context, con: Console, limit: int | None) -> int:
    """List the suggestions (the menu asks them one by one)."""
    grouping.update_groups(ctx)
    items = suggest_uc.suggestions(ctx, limit).items
    for s in items:
        con.emit(s.as_json())
    if not items:
        con.out("no suggestions: no group is close to a registered person or to another group")
        return 0
    for n, s in enumerate(items, 1):
        con.out(f"{n:3d}. {s.question}  (linkage {s.distance:.3f})")
    con.out("answer them in the menu (People > suggestions), or with 'people name' / 'people merge'")
    return 0


def people_show(ctx: Context, con: Console, ref: str) -> int:
    """A group's faces (REF is its number) or a registered person's (REF is a name), with face ids."""
    shown = people_uc.show(ctx, ref)
    if shown.person is not None:
        _person_faces(con, shown.person)
        return 0
    g = shown.group
    assert g is not None
    con.emit(g.as_json())
    con.out(f"group {g.id}: {len(g.faces)} faces")
    for f in g.faces:
        con.out(f"  face {f.face_id}: {f.picture} at {_box(f.box)}")
    return 0


def people_name(ctx: Context, con: Console, group: int, name: str, force: bool = False) -> int:
    done = guarded(con, lambda f: people_uc.name_group(ctx, group, name, force=f), force)
    for w in done.warnings:
        con.info(f"warning (named anyway): {w}")
    con.emit({"group": group, "name": done.name, "faces": done.faces, "refused": done.refused})
    refused = f" ({done.refused} left out: you said they are not {done.name!r})" if done.refused else ""
    con.out(f"group {group}: {done.faces} faces are now {done.name!r}{refused}")
    return 0


def people_merge(ctx: Context, con: Console, a: str, b: str, force: bool = False) -> int:
    done = guarded(con, lambda f: people_uc.merge(ctx, a, b, force=f), force)
    for w in done.warnings:
        con.info(f"warning (merged anyway): {w}")
    con.emit({"merged": b, "into": a, "faces": done.faces})
    con.out(done.message)
    return 0


def people_split(ctx: Context, con: Console, faces: Sequence[int]) -> int:
    done = people_uc.split_faces(ctx, faces)
    con.emit({"split": done.faces})
    con.out(done.message)
    return 0


def people_hide(ctx: Context, con: Console, groups: Sequence[int], hide: bool) -> int:
    """Hide groups from the People view, or show them again."""
    done = people_uc.hide_groups(ctx, groups) if hide else people_uc.unhide_groups(ctx, groups)
    con.emit({"hidden" if hide else "shown": done.groups})
    con.out(done.message)
    return 0


def people_answer(ctx: Context, con: Console, name: str, faces: Sequence[int], yes: bool, force: bool = False) -> int:
    """ "Is this NAME?" answered for library faces (from 'photos NAME --maybe'); a yes is guarded."""
    done = guarded(con, lambda f: suggest_uc.answer_near_miss(ctx, name, faces, yes, force=f), force)
    con.emit({"faces": list(dict.fromkeys(faces)), "name": name, "is": yes})
    con.out(done.message)
    return 0


def undo(ctx: Context, con: Console, entry: int | None = None) -> int:
    """Revert the last change to who is who (or change number `entry`); at a terminal
    (and in the menu) it says which change and asks first (`--yes` does not ask)."""
    if con.interactive and not con.assume_yes:
        target = journal.next_undo(ctx, entry)
        if not con.confirm(f"undo #{target.id}: {target.summary}?"):
            raise Cancelled("nothing undone")
    done = journal.undo(ctx, entry)
    con.emit({"undone": done.entry.id, "action": done.entry.action, "summary": done.entry.summary})
    con.out(f"undone #{done.entry.id}: {done.entry.summary}")
    return 0


def redo(ctx: Context, con: Console) -> int:
    """Put back what the last undo reverted."""
    done = journal.redo(ctx)
    con.emit({"redone": done.entry.id, "action": done.entry.action, "summary": done.entry.summary})
    con.out(f"redone #{done.entry.id}: {done.entry.summary}")
    return 0


def history(ctx: Context, con: Console, limit: int) -> int:
    """The latest changes to who is who, newest first."""
    entries = journal.history(ctx, limit).entries
    if not entries:
        con.out("no changes yet")
    for e in entries:
        state = "undone" if e.undone_by else ("" if e.undoable or e.action in ("undo", "redo") else "cannot be undone")
        record = {"id": e.id, "at": e.at.isoformat(), "action": e.action, "summary": e.summary}
        con.emit({**record, "undone": bool(e.undone_by), "undoable": e.undoable})
        con.out(f"#{e.id}  {e.at:%Y-%m-%d %H:%M}  {e.summary}" + (f"  [{state}]" if state else ""))
    return 0


# -- the web page -------------------------------------------------------------------


def web(ctx: Context, con: Console, host: str, port: int, open_browser: bool) -> int:
    """Serve the local web page until Ctrl-C; the address, with its token, is printed on a line of its own."""
    try:
        from facerec.web.server import Started, serve
    except ImportError as exc:
        raise ServerError(f"the web page needs facerec's 'web' extra (pip install 'facerec[web]'): {exc}") from None

    def ready(s: Started) -> None:
        if not s.local_only:
            con.info(
                f"warning: listening on {s.host}, not only on this machine: anyone who can reach it can try "
                "the address; the token below is all that keeps them out"
            )
        con.info(f"facerec web: the page is served on {s.host} port {s.port}; open this address (Ctrl-C stops it):")
        con.emit({"url": s.url, "host": s.host, "port": s.port})
        con.out(s.url)

    try:
        serve(ctx, host, port, open_browser, on_ready=ready)
    except KeyboardInterrupt:
        pass
    con.info("facerec web: stopped")
    return 0


# -- accuracy -------------------------------------------------------------------


def evaluate(ctx: Context, con: Console, folder: str, samples: int, plot: str | None) -> int:
    """Accuracy on a labelled folder (people/<name>/..., distractors/...), in a throw-away database."""
    report = evaluation.evaluate_folder(ctx, Path(folder), samples)
    con.emit(report.as_json())
    con.out(
        f"{report.detector} + {report.embedder}, {report.samples} sample(s) per person, threshold {report.threshold}"
    )
    con.out(f"  people {report.people}, photos recognized {report.probes}, distractors {report.distractors}")
    con.out(
        f"  rank-1 identification: {report.identification_rate:.1%} ({report.identified}/{report.probes}) "
        "named correctly within the threshold"
    )
    con.out(
        f"  false accepts: {report.false_accepts} ({report.distractors_named} of {report.distractors} distractors "
        f"named, {report.wrong_names} faces given the wrong name)"
    )
    con.out(f"  detection misses: {len(report.detection_misses)}; {report.seconds_per_photo * 1000:.0f} ms per photo")
    for miss in report.detection_misses:
        con.out(f"    no face: {miss}")
    m = report.margins()
    if m["right_min"] is not None:
        wrong = "none" if m["wrong_max"] is None else f"max {m['wrong_max']:.3f}"
        con.out(
            f"  best-vs-second person margin: right accepts min {m['right_min']:.3f}, "
            f"median {m['right_median']:.3f}; wrong accepts {wrong}"
        )
    if report.calibrated_threshold is not None:
        con.out(
            f"  threshold for at most 1% false accepts: {report.calibrated_threshold:.2f} "
            f"(identification {report.calibrated_rate:.1%})"
        )
    con.out("  sweep (threshold: identification rate, false accepts):")
    for p in report.sweep[::5]:
        con.out(f"    {p.threshold:.2f}: {p.identification_rate:6.1%}  {p.false_accepts}")
    if plot:
        markers = {f"threshold in use: {report.threshold:.2f}": report.threshold}
        if report.calibrated_threshold is not None:
            markers[f"at most 1% false accepts: {report.calibrated_threshold:.2f}"] = report.calibrated_threshold
        line_chart(
            Path(plot),
            f"{report.detector} + {report.embedder}: threshold sweep",
            [p.threshold for p in report.sweep],
            {
                "identification rate": [p.identification_rate for p in report.sweep],
                "false-accept rate": [p.false_accept_rate for p in report.sweep],
            },
            "threshold (cosine distance)",
            "rate",
            markers=markers,
        )
        con.info(f"plot: {plot}")
    return 0


def verify_pairs(ctx: Context, con: Console, pairs: str, images: str) -> int:
    """The LFW verification protocol (10 folds, threshold chosen on the other 9)."""
    report = evaluation.verify_pairs(ctx, Path(pairs), Path(images))
    con.emit(report.as_json())
    con.out(
        f"{ctx.settings.detector} + {ctx.spec.name}: {report.pairs} pairs, {report.folds} folds: "
        f"accuracy {report.accuracy:.2%} +/- {report.std:.2%} ({report.no_face} images without a detected face)"
    )
    return 0


def reembed(ctx: Context, con: Console) -> int:
    """Compute the chosen embedder's vectors for every stored face that has none yet.

    Faces whose photo and crop are gone are reported (stderr, and a JSON
    record each) and skipped; the exit status is then 1.
    """

    def progress(report: ReembedReport) -> None:
        con.info(f"{report.added} {report.model} vector(s) added so far")

    report = run_reembed(ctx, on_batch=progress)
    for skipped in report.skipped:
        con.emit({"skipped": skipped})
        con.error(f"skipped {skipped}")
    con.emit({"model": report.model, "added": report.added, "skipped": len(report.skipped)})
    con.out(f"{report.model}: {report.added} vector(s) added, {len(report.skipped)} face(s) skipped")
    return 1 if report.skipped else 0
