"""What the browser shows of registered people: a card per person (their
first faces, counts), one person's samples and library photos, and which
registered people a set of faces looks like (asked before naming a group).
"""

from __future__ import annotations

from dataclasses import dataclass

from facerec.errors import NoSamplesError
from facerec.types import Person, SampleFace
from facerec.usecases.context import Context
from facerec.usecases.library.search import PhotoMatch, photos_of
from facerec.usecases.people.names import name_order, require_person

__all__ = ["PeopleCards", "PersonDetail", "people_cards", "person_detail"]

FACES_PER_CARD = 4
"""Faces shown on a person's or a group's card."""


@dataclass(frozen=True)
class PeopleCards:
    """Every registered person, most faces first (then by name, case and accents
    ignored), with their first `FACES_PER_CARD` faces."""

    people: list[Person]


@dataclass(frozen=True)
class PersonDetail:
    """A registered person: their faces (samples first) and the library photos
    that contain them (best first). `note`: why there are no photos, if so."""

    name: str
    faces: list[SampleFace]
    photos: list[PhotoMatch]
    note: str | None = None


def people_cards(ctx: Context, faces_per_card: int = FACES_PER_CARD) -> PeopleCards:
    """Every registered person with their samples and library photos (the counts every
    screen shows), most samples first (then by name, case and accents ignored), and
    their first `faces_per_card` faces."""
    people = ctx.db.people.people(first=faces_per_card)
    return PeopleCards(sorted(people, key=lambda p: (-p.samples, name_order(p.name))))  # ties: 'alice' beside 'Alice'


def person_detail(ctx: Context, name: str, limit: int | None = None) -> PersonDetail:
    """`PersonNotFoundError` for an unknown name."""
    require_person(ctx, name)
    faces = ctx.db.people.person(name).faces
    try:
        photos = photos_of(ctx, name, limit).matches
    except NoSamplesError as exc:
        return PersonDetail(name, faces, [], str(exc))
    return PersonDetail(name, faces, photos)
