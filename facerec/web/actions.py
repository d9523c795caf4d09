"""Every change the page makes, in one place: naming a group, merging cards,
"not this person", removing a sample, hiding a group, answering "is this X?",
undo, keeping an uploaded face.

Each function calls use cases only and returns `Done` (a message for the
user) or `Question` (ask first; posting the same fields again with
`confirm=1` means yes). The guard of the use cases (`facerec.usecases.people.guard`:
faces that look like someone else, or unlike the person; a new name that
differs from a registered one only by case or accents) becomes a Question.
Other errors are `FacerecError`s, shown as one line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from facerec.errors import LooksLikeSomeoneElseError, MergeError, SimilarNameError
from facerec.usecases import journal
from facerec.usecases.context import Context
from facerec.usecases.groups import changes as people
from facerec.usecases.groups import suggest
from facerec.usecases.library.upload import PhotoFaces
from facerec.usecases.people import users
from facerec.usecases.people.register import register_frames

UNDO = True
"""The Undo button is offered (the journal's `undo`)."""
REMOVE_SAMPLE = True
"""A "Remove sample" button is offered under each sample."""
HIDE_GROUP = True
"""A "Hide this group" button is offered on each group (and "Show again" on hidden ones)."""


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


# -- the guard, undo, remove-sample ------------------------------------------------------


def _guarded(run: Callable[[bool], Done], confirmed: bool, action: str, fields: dict[str, str | list[str]]) -> Outcome:
    """`run(force)`; what the guard finds becomes a question (yes posts `fields` again with confirm=1)."""
    try:
        return run(confirmed)
    except LooksLikeSomeoneElseError as exc:
        text = str(exc).removesuffix("; nothing stored")
        return Question(f"{text}. {exc.question[:1].upper()}{exc.question[1:]}", action, fields, yes="Yes, store them")
    except SimilarNameError as exc:
        return Question(f"{exc}. Use the new spelling anyway?", action, fields, yes="Yes, a different person")


def undo_last(ctx: Context) -> Outcome:
    """Undo the last change to who is who."""
    done = journal.undo(ctx)
    return Done(f"undone: {done.entry.summary}")


def remove_sample(ctx: Context, face_id: int) -> Outcome:
    """Take one sample away from its person (who keeps the others); undo puts it back."""
    removed = users.remove_samples(ctx, [face_id]).removed
    return Done(f"face {face_id} is no longer a sample of {removed[face_id]!r}")


def hide_group(ctx: Context, group_id: int) -> Outcome:
    """Hide a group from the People page; undo (or Show again) brings it back."""
    return Done(people.hide_groups(ctx, [group_id]).message)


def unhide_group(ctx: Context, group_id: int) -> Outcome:
    """Show a hidden group on the People page again."""
    return Done(people.unhide_groups(ctx, [group_id]).message)


def answer_near_miss(ctx: Context, name: str, face_id: int, yes: bool, confirmed: bool, back: str) -> Outcome:
    """ "Is this `name`?" answered for one library face: yes makes it their sample
    (after the guard's question), no is remembered."""
    fields: dict[str, str | list[str]] = {"name": name, "face": str(face_id), "answer": "yes", "next": back}

    def run(force: bool) -> Done:
        return Done(suggest.answer_near_miss(ctx, name, [face_id], yes, force=force).message)

    return _guarded(run, confirmed, "/person/answer", fields)


# -- what exists today --------------------------------------------------------------------


def name_group(ctx: Context, group_id: int, name: str, confirmed: bool, back: str) -> Outcome:
    """Make group `group_id` the person `name` (new or registered), after the guard's question."""
    fields: dict[str, str | list[str]] = {"group": str(group_id), "name": name, "next": back}

    def run(force: bool) -> Done:
        done = people.name_group(ctx, group_id, name, force=force)
        return Done(f"{done.faces} face{'s' if done.faces != 1 else ''} named {done.name!r}")

    return _guarded(run, confirmed, "/people/name", fields)


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
    target, others = (persons[0], [*persons[1:], *groups]) if persons else (groups[0], groups[1:])
    if persons and len(persons) > 1 and not confirmed:
        names = ", ".join(repr(p) for p in persons[1:])
        return Question(f"Merge {names} into {target!r}? Their faces become {target!r}'s.", "/people/merge", fields)

    def run(force: bool) -> Done:
        # Every merge is checked before any is made: what the guard finds about any of them is
        # asked about once, and a yes merges them all (each journalled on its own).
        if not force:
            problems = [p for other in others for p in people.check_merge(ctx, target, other).problems]
            people.Verdict(target, problems).raise_unless(False)
        for other in others:
            people.merge(ctx, target, other, force=True)
        if persons:
            return Done(f"{len(others)} card{'s' if len(others) != 1 else ''} merged into {target!r}")
        return Done(f"{len(others)} group{'s' if len(others) != 1 else ''} merged into group {target}")

    return _guarded(run, confirmed, "/people/merge", fields)


def not_this_person(ctx: Context, face_id: int) -> Outcome:
    """Take a face out of its group or away from its person, remembered."""
    return Done(people.split_faces(ctx, [face_id]).message)


def keep_face(ctx: Context, photo: PhotoFaces, face_number: int, name: str, confirmed: bool, action: str) -> Outcome:
    """Keep face `face_number` of an uploaded photo as a sample of `name`: only a
    crop around the face is stored (as a camera capture is), never the photo."""
    if not 1 <= face_number <= len(photo.faces):
        raise MergeError(f"the photo has no face {face_number}")
    if photo.too_small(face_number):
        raise MergeError(f"face {face_number} is too small to recognise: it cannot be a sample")
    face = photo.faces[face_number - 1]
    fields: dict[str, str | list[str]] = {"face": str(face_number), "name": name}

    def run(force: bool) -> Done:
        done = register_frames(ctx, name, [(photo.pixels, face)], force=force)
        verb = "registered" if done.created else "added to"
        return Done(f"{verb} {done.name!r}: {done.added} sample(s); only the face crop is kept")

    return _guarded(run, confirmed, action, fields)
