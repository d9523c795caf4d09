"""Managing registered people: list, show, rename, delete, and remove single samples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from facerec.errors import FaceNotFoundError
from facerec.types import Person
from facerec.usecases.context import Context
from facerec.usecases.library.thumbnails import sweep_thumbnails
from facerec.usecases.people.crops import remove_data_files
from facerec.usecases.people.names import check_new_name, require_person, validate_name

__all__ = [
    "Deletion",
    "PeopleList",
    "RemovedSamples",
    "Renaming",
    "delete_person",
    "list_people",
    "remove_samples",
    "rename_person",
    "show_person",
]


@dataclass(frozen=True)
class PeopleList:
    """Everyone registered, by name, with their sample counts for the embedder in use."""

    people: list[Person]


@dataclass(frozen=True)
class Renaming:
    old: str
    new: str


@dataclass(frozen=True)
class Deletion:
    """A deleted person and how many stored images (crops, captures) of them were removed."""

    name: str
    files_removed: int
    thumbnails_removed: int = 0


@dataclass(frozen=True)
class RemovedSamples:
    """Samples taken from their person (face id -> the name it had); the person stays."""

    removed: dict[int, str]


def list_people(ctx: Context) -> PeopleList:
    return PeopleList(ctx.db.people.people())


def show_person(ctx: Context, name: str) -> Person:
    """One person with each of their faces (face id, photo, box, when added);
    `PersonNotFoundError` suggesting close names if unknown."""
    require_person(ctx, name)
    return ctx.db.people.person(name)


def rename_person(ctx: Context, old: str, new: str, force: bool = False) -> Renaming:
    new = validate_name(new)
    require_person(ctx, old)
    if new.casefold() != old.casefold():  # fixing the case of a name is not a clash with itself
        check_new_name(ctx, new, force)
    ctx.db.people.rename(old, new)
    return Renaming(old, new)


def delete_person(ctx: Context, name: str) -> Deletion:
    """Delete a person, all their embeddings (every model) and their crops and
    captures on disk, and the web page's thumbnails of them. An erasure: it cannot be undone, and the journal forgets
    what it held about them."""
    require_person(ctx, name)
    files = ctx.db.people.delete(name)
    removed = remove_data_files(ctx, files)
    return Deletion(name, removed, sweep_thumbnails(ctx).removed)


def remove_samples(ctx: Context, face_ids: Sequence[int]) -> RemovedSamples:
    """Take faces (ids from `users show`) away from their person, who keeps their
    other samples. A registration sample is removed; a face of an indexed photo
    goes back to the library, remembered as "not this person". `undo` puts them
    back. All or nothing: a face that is nobody's sample changes nothing."""
    ids = list(dict.fromkeys(face_ids))
    owners = ctx.db.people.face_owner(ids)
    missing = [f for f in ids if f not in owners]
    if missing:
        raise FaceNotFoundError(
            f"face {', '.join(map(str, missing))} is not a sample of anyone (see the face ids in 'users show NAME')"
        )
    return RemovedSamples(ctx.db.people.remove_samples(ids))
