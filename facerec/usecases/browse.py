"""What the browser shows of registered people: a card per person (their
first faces, counts), one person's samples and library photos, and which
registered people a set of faces looks like (asked before naming a group).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from facerec.db.web_queries import PersonFaceRow, PersonFaces, WebQueries
from facerec.errors import NoSamplesError
from facerec.usecases.context import Context
from facerec.usecases.names import name_order, require_person
from facerec.usecases.search import PhotoMatch, photos_of

__all__ = ["PeopleCards", "PersonDetail", "people_cards", "person_detail"]

FACES_PER_CARD = 4
"""Faces shown on a person's or a group's card."""


@dataclass(frozen=True)
class PeopleCards:
    """Every registered person, most faces first (then by name, case and accents
    ignored), with their first `FACES_PER_CARD` faces."""

    people: list[PersonFaces]


@dataclass(frozen=True)
class PersonDetail:
    """A registered person: their faces (samples first) and the library photos
    that contain them (best first). `note`: why there are no photos, if so."""

    name: str
    faces: list[PersonFaceRow]
    photos: list[PhotoMatch]
    note: str | None = None


def people_cards(ctx: Context, faces_per_card: int = FACES_PER_CARD) -> PeopleCards:
    """Every registered person with their samples (every face named them) and their
    library photos (named or recognised, as `people` counts them)."""
    cards = WebQueries(ctx.db.conn).people_faces(ctx.spec.name, faces_per_card)
    photos = {name: named + matched for name, named, matched in ctx.db.groups.people_photos(ctx.spec.name)}
    ordered = sorted(cards, key=lambda c: (-c.faces, name_order(c.name)))  # ties: 'alice' beside 'Alice'
    return PeopleCards([replace(c, photos=photos.get(c.name, 0)) for c in ordered])


def person_detail(ctx: Context, name: str, limit: int | None = None) -> PersonDetail:
    """`PersonNotFoundError` for an unknown name."""
    person_id = require_person(ctx, name)
    faces = WebQueries(ctx.db.conn).person_faces(person_id, ctx.spec.name)
    try:
        photos = photos_of(ctx, name, limit).matches
    except NoSamplesError as exc:
        return PersonDetail(name, faces, [], str(exc))
    return PersonDetail(name, faces, photos)
