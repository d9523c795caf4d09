"""What the browser shows of registered people: a card per person (their
first faces, counts), one person's samples and library photos, and which
registered people a set of faces looks like (asked before naming a group).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from facerec.errors import NoSamplesError
from facerec.types import Person, SampleFace
from facerec.usecases.context import Context
from facerec.usecases.groups.suggest import QUESTIONS_SHOWN, NearMisses, misses_in
from facerec.usecases.library.search import PhotoMatch, photos_in, samples_of
from facerec.usecases.people.names import name_order

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
    """A registered person: their faces (samples first), the library photos that
    contain them (best first; `total` of them) and the photos that may show them
    (`maybe`: the "is this X?" questions). `note`: why there are no photos, if so."""

    name: str
    faces: list[SampleFace]
    photos: list[PhotoMatch]
    note: str | None = None
    total: int = 0
    maybe: NearMisses = field(default_factory=lambda: NearMisses("", [], 0))


def people_cards(ctx: Context, faces_per_card: int = FACES_PER_CARD) -> PeopleCards:
    """Every registered person with their samples and library photos (the counts every
    screen shows), most samples first (then by name, case and accents ignored), and
    their first `faces_per_card` faces."""
    people = ctx.db.people.people(first=faces_per_card)
    return PeopleCards(sorted(people, key=lambda p: (-p.samples, name_order(p.name))))  # ties: 'alice' beside 'Alice'


def person_detail(ctx: Context, name: str, limit: int | None = None, questions: int = QUESTIONS_SHOWN) -> PersonDetail:
    """The person page: one search of the library (out to the threshold plus the
    question band) gives both their photos and their near misses.
    `PersonNotFoundError` for an unknown name."""
    person = ctx.db.people.person(name)
    try:
        vectors = samples_of(ctx, name, person.id)
    except NoSamplesError as exc:
        return PersonDetail(name, person.faces, [], str(exc), maybe=NearMisses(name, [], 0))
    hits = ctx.db.library.search(vectors, ctx.threshold + ctx.numbers.question_band)
    refused = ctx.db.said.refusals()
    photos = photos_in(ctx, name, person.id, hits, refused, limit)
    maybe = misses_in(ctx, name, person.id, hits, refused, questions, vectors)
    return PersonDetail(name, person.faces, photos.matches, total=photos.total, maybe=maybe)
