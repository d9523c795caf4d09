"""Commands about the People view: people (listing), suggest, show, name, merge, split, hide, is/not."""

from __future__ import annotations

from collections.abc import Sequence

from facerec.ui.commands.common import (
    _box,
    _grouping_summary,
    _GroupingBar,
    _person_faces,
    _sheet_path,
    guarded,
)
from facerec.ui.console import Console, display_width, ljust, rjust
from facerec.ui.sheets import Section, Tile, make_sectioned_sheet
from facerec.usecases.context import Context
from facerec.usecases.groups import changes as people_uc
from facerec.usecases.groups import grouping
from facerec.usecases.groups import suggest as suggest_uc
from facerec.usecases.library.clips import format_time
from facerec.usecases.library.thumbnails import photo_turns
from facerec.usecases.people.names import name_order


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
        for f in g.faces[:3]:
            con.out(f"    {f.picture}{_at(f.appears)}")
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
        turns = photo_turns(ctx, [f.picture for g in view.groups for f in g.faces[:12]])
        sections = [
            Section(
                f"group {g.id}: {g.size} faces",
                [
                    Tile(f.picture, f.box, f"face {f.face_id}", crop=True, turn=turns[f.picture], t_seconds=f.t_seconds)
                    for f in g.faces[:12]
                ],
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
        con.out(f"  face {f.face_id}: {f.picture}{_at(f.appears)} at {_box(f.box)}")
    return 0


def _at(t_seconds: float | None) -> str:
    """` @ 0:12` for a face of a video clip (when it comes on screen), else nothing."""
    return "" if t_seconds is None else f" @ {format_time(t_seconds)}"


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
