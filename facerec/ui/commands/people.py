"""Commands about registered people: register (photos, camera, a folder), users, undo, redo, history."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from facerec.errors import (
    Cancelled,
    ConfirmationRequired,
    LooksLikeSomeoneElseError,
    SimilarNameError,
)
from facerec.ui.commands.common import (
    _ask_guard,
    _person_faces,
    _registered,
    _sheet_path,
    _window_or_text,
    _with_force_hint,
    guarded,
)
from facerec.ui.console import Console, display_width, ljust
from facerec.ui.sheets import Tile, make_sheet
from facerec.ui.windows.enroll import EnrollWindow
from facerec.usecases import journal
from facerec.usecases.context import Context
from facerec.usecases.library.thumbnails import photo_turns
from facerec.usecases.live.enroll import EnrollOptions, enroll
from facerec.usecases.people import users as users_uc
from facerec.usecases.people.labelled import PersonOutcome, register_folder
from facerec.usecases.people.names import name_order
from facerec.usecases.people.register import register_photos


def register_images(
    ctx: Context, con: Console, name: str, images: Sequence[str], use_largest: bool, force: bool = False
) -> int:
    """Register the face of each image as a sample of `name` (guarded)."""
    result = guarded(con, lambda f: register_photos(ctx, name, images, use_largest, force=f), force)
    return _registered(con, result)


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
        turns = photo_turns(ctx, [f.picture for f in p.faces])
        tiles = [
            Tile(f.picture, f.box, f"face {f.face_id} ({f.source})", p.name, crop=True, turn=turns[f.picture])
            for f in p.faces
        ]
        sheet = make_sheet(tiles, _sheet_path(export, "person"))
        con.info(f"contact sheet: {sheet.path} ({sheet.tiles} faces)")
    return 0


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
