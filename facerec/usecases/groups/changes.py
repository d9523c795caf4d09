"""People: naming, merging and splitting the groups of unnamed faces that
`facerec.usecases.groups.grouping` finds, and the registered people they become.

What the user says is kept as links between faces ('same' after a merge,
'different' after a split, "not this person" for a named face), and every
re-grouping obeys them. Each change is guarded (`facerec.usecases.people.guard`:
faces that look like someone else are not silently given a name) and
journalled (`facerec.usecases.journal`: `undo` reverts it exactly).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from facerec.errors import FaceNotFoundError, GroupNotFoundError, MergeError
from facerec.types import Person
from facerec.usecases.context import Context
from facerec.usecases.groups.grouping import Group
from facerec.usecases.people.guard import Verdict, check_group, check_same_person
from facerec.usecases.people.names import check_new_name, require_person, validate_name

__all__ = [
    "Hiding",
    "Verdict",
    "Merge",
    "Naming",
    "Shown",
    "Split",
    "check_merge",
    "hide_groups",
    "merge",
    "name_group",
    "show",
    "show_group",
    "split_faces",
    "unhide_groups",
]


@dataclass(frozen=True)
class Naming:
    """A group made (part of) a registered person: how many faces were attached
    (detections, not database rows), how many were left out because the user
    said they are not that person, and what the guard found but `force` allowed."""

    group: int
    name: str
    faces: int
    refused: int = 0
    created: bool = False
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Merge:
    """What a merge did, in words for the user."""

    kept: str
    merged: str
    message: str
    faces: int = 0
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Split:
    """Faces taken out of their group or away from their person."""

    faces: list[int]
    message: str


@dataclass(frozen=True)
class Hiding:
    """Groups hidden from the People view, or shown again (`groups`: those that changed)."""

    groups: list[int]
    message: str


@dataclass(frozen=True)
class Shown:
    """`people show REF`: a group (REF is its number) or a registered person (REF is a name)."""

    group: Group | None = None
    person: Person | None = None


def show_group(ctx: Context, group_id: int) -> Group:
    faces = ctx.db.groups.mapping().get(group_id)
    if not faces:
        raise GroupNotFoundError(f"no group {group_id}; run 'people' to list the current groups")
    return Group(group_id, faces, hidden=ctx.db.said.is_hidden(group_id))


def show(ctx: Context, ref: str) -> Shown:
    """A group by number, or a registered person (every face of theirs, with face ids) by name."""
    group = _as_group(ctx, ref)
    if group is not None:
        return Shown(group=show_group(ctx, group))
    return Shown(person=ctx.db.people.person(ref))


def name_group(ctx: Context, group_id: int, name: str, force: bool = False) -> Naming:
    """Attach every face of a group to person `name` (created if new).

    The faces become samples of that person: recognition and `photos` use them
    from now on. Guarded: a group that looks like someone else, or unlike
    `name`'s samples, raises `LooksLikeSomeoneElseError` unless `force`.
    """
    name = validate_name(name)
    check_new_name(ctx, name, force)
    faces = [f.face_id for f in show_group(ctx, group_id).faces]
    person_id = ctx.db.people.find_person(name)
    if person_id is not None:
        refused = {f for f, p in ctx.db.said.refusals() if p == person_id}
        if refused.issuperset(faces):
            raise MergeError(
                f"nothing changed: you said the {len(faces)} face{'s' if len(faces) != 1 else ''} of group "
                f"{group_id} {'are' if len(faces) != 1 else 'is'} not {name!r} ('undo' takes that back, "
                f"'people is {name} FACE' says a face is)"
            )
    verdict = check_group(ctx, name, ctx.db.library.face_vectors(faces), person_id, f"group {group_id}")
    verdict.raise_unless(force)
    done = ctx.db.people.attach(faces, name, f"named group {group_id} {name!r} ({len(faces)} faces)")
    return Naming(group_id, name, done.faces, done.refused, done.created, tuple(verdict.problems))


def check_merge(ctx: Context, a: str, b: str) -> Verdict:
    """What the guard says about merging B into A (see `merge`), without merging."""
    ga, gb = _as_group(ctx, a), _as_group(ctx, b)
    people, library = ctx.db.people, ctx.db.library
    if ga is not None and gb is not None:
        if ga == gb:
            raise MergeError("cannot merge a group with itself")
        vectors = [library.face_vectors([f.face_id for f in show_group(ctx, g).faces]) for g in (ga, gb)]
        return check_same_person(ctx, vectors[0], vectors[1], f"groups {ga} and {gb}")
    if ga is not None or gb is not None:
        group, person = (ga, b) if ga is not None else (gb, a)
        assert group is not None
        faces = [f.face_id for f in show_group(ctx, group).faces]
        return check_group(ctx, person, library.face_vectors(faces), require_person(ctx, person), f"group {group}")
    keep, drop = require_person(ctx, a), require_person(ctx, b)
    if keep == drop:
        raise MergeError("cannot merge a person with themselves")
    return check_same_person(ctx, people.vectors(keep), people.vectors(drop), f"{a!r} and {b!r}")


def merge(ctx: Context, a: str, b: str, force: bool = False) -> Merge:
    """Merge B into A. Each is a group number or a registered person's name:
    group+group stay together from now on; group+person names the group;
    person+person moves B's faces to A and removes B. Guarded like naming
    (`check_merge` says what the guard finds, without merging)."""
    verdict = check_merge(ctx, a, b)
    verdict.raise_unless(force)
    ga, gb = _as_group(ctx, a), _as_group(ctx, b)
    if ga is not None and gb is not None:
        moved = ctx.db.said.merge_groups(ga, gb)
        total = len(show_group(ctx, ga).faces)
        message = f"group {gb} merged into group {ga} ({moved} face{'s' * (moved != 1)} moved, {total} in all)"
        return Merge(a, b, message, moved, tuple(verdict.problems))
    if ga is not None or gb is not None:
        group, person = (ga, b) if ga is not None else (gb, a)
        assert group is not None
        n = name_group(ctx, group, person, force=True)
        return Merge(
            person, str(group), f"group {group} ({n.faces} faces) is now {person!r}", n.faces, tuple(verdict.problems)
        )
    moved = ctx.db.people.merge(a, b)
    return Merge(a, b, f"{b!r} merged into {a!r} ({moved} faces moved)", moved, tuple(verdict.problems))


def _as_group(ctx: Context, ref: str) -> int | None:
    """A group number if `ref` names a current group, else None (a person's name)."""
    if ref.isdigit() and int(ref) in ctx.db.groups.mapping():
        return int(ref)
    if ref.isdigit() and ctx.db.people.find_person(ref) is None:
        raise GroupNotFoundError(f"no group {ref}; run 'people' to list the current groups")
    require_person(ctx, ref)
    return None


def split_faces(ctx: Context, face_ids: Sequence[int]) -> Split:
    """ "Not this person": take faces out of their group or away from their person,
    and remember it so later groupings keep them apart. All or nothing: an
    unknown face, or one in no group and no person, changes nothing."""
    library = ctx.db.library
    named: list[int] = []
    by_group: dict[int, list[int]] = defaultdict(list)
    for face_id in dict.fromkeys(face_ids):
        face = library.face(face_id)
        if face is None:
            raise FaceNotFoundError(f"no face {face_id}")
        if face.person is not None:
            named.append(face_id)
        elif face.group_id is None:
            raise GroupNotFoundError(f"face {face_id} is not in a group; run 'people' first")
        else:
            by_group[face.group_id].append(face_id)
    messages = []
    if named:
        was = ctx.db.people.detach(named)
        messages += [f"face {f} is no longer {n!r}" for f, n in was.items()]
    groups = ctx.db.groups.mapping()
    for group, faces in by_group.items():
        members = [f.face_id for f in groups.get(group, [])]
        renamed = ctx.db.said.split_from_group(faces, members, group)
        now = f"; the rest of it is now group {renamed}" if renamed is not None else ""
        messages.append(
            f"face{'s' if len(faces) > 1 else ''} {', '.join(map(str, faces))} taken out of group {group}{now}"
        )
    return Split(named + [f for faces in by_group.values() for f in faces], "; ".join(messages))


def hide_groups(ctx: Context, group_ids: Sequence[int]) -> Hiding:
    """Hide groups from the People view (a stranger in the background, a poster):
    their faces stay searchable and grouped, `people --hidden` lists them,
    `unhide_groups` or `undo` shows them again. All or nothing: an unknown group changes nothing."""
    ids = list(dict.fromkeys(group_ids))
    if not ids:
        raise MergeError("name at least one group to hide")
    for group in ids:
        if not ctx.db.groups.has_group(group):
            raise GroupNotFoundError(f"no group {group}; run 'people' to list the current groups")
    label = ", ".join(map(str, ids))
    done = ctx.db.said.hide(ids, f"hid group{'s' if len(ids) > 1 else ''} {label}")
    if not done:
        return Hiding([], f"group{'s' if len(ids) > 1 else ''} {label} already hidden")
    return Hiding(done, f"group{'s' if len(done) > 1 else ''} {', '.join(map(str, done))} hidden from People")


def unhide_groups(ctx: Context, group_ids: Sequence[int]) -> Hiding:
    """Show hidden groups in the People view again."""
    ids = list(dict.fromkeys(group_ids))
    label = ", ".join(map(str, ids))
    done = ctx.db.said.unhide(ids, f"showed group{'s' if len(ids) > 1 else ''} {label} again")
    if not done:
        raise GroupNotFoundError(f"group{'s' if len(ids) > 1 else ''} {label} not hidden; 'people --hidden' lists them")
    return Hiding(done, f"group{'s' if len(done) > 1 else ''} {', '.join(map(str, done))} shown in People again")
