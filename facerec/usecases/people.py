"""People: naming, merging and splitting the groups of unnamed faces that
`facerec.usecases.grouping` finds, and the registered people they become.

What the user says is kept as links between faces ('same' after a merge,
'different' after a split, "not this person" for a named face), and every
re-grouping obeys them.
"""

from __future__ import annotations

from dataclasses import dataclass

from facerec.errors import FaceNotFoundError, GroupNotFoundError, MergeError, PersonNotFoundError
from facerec.usecases.context import Context
from facerec.usecases.grouping import Group
from facerec.usecases.names import validate_name

__all__ = ["Merge", "Naming", "Split", "merge", "name_group", "show_group", "split_face"]


@dataclass(frozen=True)
class Naming:
    """A group made (part of) a registered person: how many faces were attached."""

    group: int
    name: str
    faces: int


@dataclass(frozen=True)
class Merge:
    """What a merge did, in words for the user."""

    kept: str
    merged: str
    message: str


@dataclass(frozen=True)
class Split:
    """A face taken out of its group or away from its person."""

    face: int
    message: str


def show_group(ctx: Context, group_id: int) -> Group:
    faces = ctx.db.library.groups(ctx.spec.name).get(group_id)
    if not faces:
        raise GroupNotFoundError(f"no group {group_id}; run 'people' to list the current groups")
    return Group(group_id, faces)


def name_group(ctx: Context, group_id: int, name: str) -> Naming:
    """Attach every face of a group to person `name` (created if new).

    The faces become samples of that person: recognition and `photos`
    use them from now on.
    """
    name = validate_name(name)
    faces = [f.face_id for f in show_group(ctx, group_id).faces]
    return Naming(group_id, name, ctx.db.people.attach(faces, name))


def merge(ctx: Context, a: str, b: str) -> Merge:
    """Merge B into A. Each is a group number or a registered person's name:
    group+group stay together from now on; group+person names the group;
    person+person moves B's faces to A and removes B."""
    ga, gb = _as_group(ctx, a), _as_group(ctx, b)
    if ga is not None and gb is not None:
        ctx.db.library.link(ga, gb, "same")
        ctx.db.library.set_group(gb, ga)
        return Merge(a, b, f"group {gb} merged into group {ga}")
    if ga is not None or gb is not None:
        group, person = (ga, b) if ga is not None else (gb, a)
        assert group is not None
        ctx.db.people.person_id(person)
        n = name_group(ctx, group, person).faces
        return Merge(person, str(group), f"group {group} ({n} faces) is now {person!r}")
    ctx.db.people.person_id(a)
    ctx.db.people.person_id(b)
    if a == b:
        raise MergeError("cannot merge a person with themselves")
    moved = ctx.db.people.merge_people(a, b)
    return Merge(a, b, f"{b!r} merged into {a!r} ({moved} faces moved)")


def _as_group(ctx: Context, ref: str) -> int | None:
    """A group number if `ref` names a current group, else None (a person's name)."""
    people = ctx.db.people
    if ref.isdigit() and int(ref) in ctx.db.library.groups(ctx.spec.name):
        return int(ref)
    if ref.isdigit() and people.find_person(ref) is None:
        raise GroupNotFoundError(f"no group {ref}; run 'people' to list the current groups")
    if people.find_person(ref) is None:
        raise PersonNotFoundError(f"no registered person named {ref!r} and no such group")
    return None


def split_face(ctx: Context, face_id: int) -> Split:
    """ "Not this person": take one face out of its group or away from its
    person, and remember it so later groupings keep it apart."""
    library = ctx.db.library
    face = library.face(face_id)
    if face is None:
        raise FaceNotFoundError(f"no face {face_id}")
    if face.person is not None:
        ctx.db.people.detach(face_id)
        return Split(face_id, f"face {face_id} is no longer {face.person!r}")
    if face.cluster_id is None:
        raise GroupNotFoundError(f"face {face_id} is not in a group; run 'people' first")
    others = [f.face_id for f in library.groups(ctx.spec.name).get(face.cluster_id, [])]
    library.separate(face_id, others)
    return Split(face_id, f"face {face_id} taken out of group {face.cluster_id}")
