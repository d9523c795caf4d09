"""Managing registered people: list, show, rename, delete."""

from __future__ import annotations

from dataclasses import dataclass

from facerec.types import Person
from facerec.usecases.context import Context
from facerec.usecases.crops import remove_data_files
from facerec.usecases.names import validate_name
from facerec.usecases.thumbnails import sweep_thumbnails

__all__ = ["Deletion", "PeopleList", "Renaming", "delete_person", "list_people", "rename_person", "show_person"]


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


def list_people(ctx: Context) -> PeopleList:
    return PeopleList(ctx.db.people.list_people(ctx.spec.name))


def show_person(ctx: Context, name: str) -> Person:
    """One person with the pictures their samples come from; `PersonNotFoundError` if unknown."""
    return ctx.db.people.get_person(name, ctx.spec.name)


def rename_person(ctx: Context, old: str, new: str) -> Renaming:
    new = validate_name(new)
    ctx.db.people.rename_person(old, new)
    return Renaming(old, new)


def delete_person(ctx: Context, name: str) -> Deletion:
    """Delete a person, all their embeddings (every model), their crops and
    captures on disk, and the web page's thumbnails of their faces."""
    files = ctx.db.people.delete_person(name)
    removed = remove_data_files(ctx, files)
    return Deletion(name, removed + sweep_thumbnails(ctx).removed)
