"""Every change the page makes, in one place: naming a group, merging cards,
"not this person", keeping an uploaded face, and the flows issue 12 (the
trust issue) will fill in: undo, the look-alike guard, remove-sample. Hiding
a group waits for storage of its own.

Each function calls use cases only and returns `Done` (a message for the
user) or `Question` (ask first; posting the same fields again with
`confirm=1` means yes). Errors are `FacerecError`s, shown as one line.

Where issue 12 plugs in (see the report of issue 14):
- `guard_question`: today it asks when the faces match a registered person
  other than the name (`usecases.browse.look_alikes`, the same test as
  `register`'s warning). Replace its body with the guard's own question.
- `undo_last` and `UNDO`: call `undo(ctx)` and set `UNDO = True`; the Undo
  button appears on every page.
- `remove_sample` and `REMOVE_SAMPLE`: call the remove-sample use case and set
  `REMOVE_SAMPLE = True`; the button appears under each sample.
- `hide_group` and `HIDE_GROUP`: the same, once hidden groups are stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from facerec.errors import FacerecError, MergeError
from facerec.usecases import people
from facerec.usecases.browse import look_alikes
from facerec.usecases.context import Context
from facerec.usecases.register import check_samples, register_frames
from facerec.usecases.upload import PhotoFaces

UNDO = False
"""True once `undo_last` can undo (issue 12's journal)."""
REMOVE_SAMPLE = False
"""True once `remove_sample` removes a sample (issue 12)."""
HIDE_GROUP = False
"""True once `hide_group` can hide a group (needs storage of hidden groups)."""


class NotYetAvailable(FacerecError):
    """A change the page knows about but facerec cannot make yet."""


@dataclass(frozen=True)
class Done:
    """A change made: what to tell the user."""

    message: str


@dataclass(frozen=True)
class Question:
    """Ask before changing anything: `text` is the question, `fields` what to post again (with confirm=1) on yes."""

    text: str
    action: str
    fields: dict[str, str | list[str]] = field(default_factory=dict)
    yes: str = "Yes"


Outcome = Done | Question


# -- the guard (issue 12 replaces this) ------------------------------------------------------


def guard_question(ctx: Context, face_ids: Sequence[int], name: str) -> str | None:
    """The question to ask before faces `face_ids` become `name`, or None to go ahead."""
    alike = look_alikes(ctx, face_ids, name).people
    if not alike:
        return None
    who = alike[0]
    faces = "this face looks" if len(face_ids) == 1 else f"{who.faces} of these {len(face_ids)} faces look"
    return f"{faces} like {who.name!r} (distance {who.distance:.2f}): name them {name!r} anyway?"


# -- undo, remove-sample, hide (issue 12 and later) ----------------------------------------------


def undo_last(ctx: Context) -> Outcome:
    """Undo the last change (issue 12: `return Done(undo(ctx).message)`)."""
    raise NotYetAvailable("undo is not available yet: it comes with the change journal (issue 12)")


def remove_sample(ctx: Context, face_id: int) -> Outcome:
    """Remove one registration sample (issue 12's remove-sample)."""
    raise NotYetAvailable("removing a sample is not available yet (issue 12); 'not this person' detaches it")


def hide_group(ctx: Context, group_id: int) -> Outcome:
    """Hide a group from the People page (needs stored hidden groups)."""
    raise NotYetAvailable("hiding a group is not available yet")


# -- what exists today --------------------------------------------------------------------


def name_group(ctx: Context, group_id: int, name: str, confirmed: bool, back: str) -> Outcome:
    """Make group `group_id` the person `name` (new or registered), after the guard's question."""
    faces = [f.face_id for f in people.show_group(ctx, group_id).faces]
    if not confirmed:
        question = guard_question(ctx, faces, name.strip())
        if question is not None:
            fields: dict[str, str | list[str]] = {"group": str(group_id), "name": name, "next": back}
            return Question(question, "/people/name", fields, yes=f"Name them {name.strip()!r}")
    done = people.name_group(ctx, group_id, name)
    return Done(f"{done.faces} face{'s' if done.faces != 1 else ''} named {done.name!r}")


def merge_cards(ctx: Context, cards: Sequence[str], confirmed: bool, back: str) -> Outcome:
    """Merge the selected cards (`p:NAME` for a registered person, `g:ID` for a
    group) into one: into the first person selected if any (naming the groups,
    after the guard's question), else into the first (largest) group.
    Merging two registered people asks first."""
    refs = list(dict.fromkeys(cards))
    if len(refs) < 2:
        raise MergeError("select at least two cards to merge")
    persons = [r[2:] for r in refs if r.startswith("p:")]
    groups = [r[2:] for r in refs if r.startswith("g:")]
    if len(persons) + len(groups) != len(refs) or not all(g.isdigit() for g in groups):
        raise MergeError("unknown card; reload the page")
    fields: dict[str, str | list[str]] = {"card": refs, "next": back}
    if persons:
        target, others = persons[0], persons[1:]
        if not confirmed:
            if others:
                names = ", ".join(repr(p) for p in others)
                return Question(
                    f"Merge {names} into {target!r}? Their faces become {target!r}'s.", "/people/merge", fields
                )
            faces = [f.face_id for g in groups for f in people.show_group(ctx, int(g)).faces]
            question = guard_question(ctx, faces, target)
            if question is not None:
                return Question(question, "/people/merge", fields, yes=f"Name them {target!r}")
        for other in [*others, *groups]:
            people.merge(ctx, target, other)
        return Done(f"{len(refs) - 1} card{'s' if len(refs) > 2 else ''} merged into {target!r}")
    target, others = groups[0], groups[1:]
    for other in others:
        people.merge(ctx, target, other)
    return Done(f"{len(others)} group{'s' if len(others) != 1 else ''} merged into group {target}")


def not_this_person(ctx: Context, face_id: int) -> Outcome:
    """Take a face out of its group or away from its person, remembered."""
    return Done(people.split_face(ctx, face_id).message)


def keep_face(ctx: Context, photo: PhotoFaces, face_number: int, name: str, confirmed: bool, action: str) -> Outcome:
    """Keep face `face_number` of an uploaded photo as a sample of `name`: only a
    crop around the face is stored (as a camera capture is), never the photo."""
    if not 1 <= face_number <= len(photo.faces):
        raise MergeError(f"the photo has no face {face_number}")
    face = photo.faces[face_number - 1]
    check = check_samples(ctx, name, [face])
    if check.warnings and not confirmed:
        fields: dict[str, str | list[str]] = {"face": str(face_number), "name": name}
        text = f"{check.warnings[0].replace('sample 1', 'this face')}: add it to {check.name!r} anyway?"
        return Question(text, action, fields, yes=f"Add to {check.name!r}")
    done = register_frames(ctx, check.name, [(photo.pixels, face)], check)
    verb = "registered" if done.created else "added to"
    return Done(f"{verb} {done.name!r}: {done.added} sample(s); only the face crop is kept")
