"""What the browser shows of registered people: a card per person (their
first faces, counts), one person's samples and library photos, and which
registered people a set of faces looks like (asked before naming a group).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from facerec.db.web_queries import PersonFaceRow, PersonFaces, WebQueries
from facerec.errors import NoSamplesError
from facerec.usecases.context import Context
from facerec.usecases.search import PhotoMatch, photos_of

__all__ = ["LookAlike", "LookAlikes", "PeopleCards", "PersonDetail", "look_alikes", "people_cards", "person_detail"]

FACES_PER_CARD = 4
"""Faces shown on a person's or a group's card."""


@dataclass(frozen=True)
class PeopleCards:
    """Every registered person, most faces first, with their first `FACES_PER_CARD` faces."""

    people: list[PersonFaces]


@dataclass(frozen=True)
class PersonDetail:
    """A registered person: their faces (samples first) and the library photos
    that contain them (best first). `note`: why there are no photos, if so."""

    name: str
    faces: list[PersonFaceRow]
    photos: list[PhotoMatch]
    note: str | None = None


@dataclass(frozen=True)
class LookAlike:
    """A registered person some of the faces are within the threshold of."""

    name: str
    faces: int
    distance: float


@dataclass(frozen=True)
class LookAlikes:
    """The registered people (other than `name`) that the faces look like, nearest first."""

    name: str
    people: list[LookAlike]


def people_cards(ctx: Context, faces_per_card: int = FACES_PER_CARD) -> PeopleCards:
    return PeopleCards(WebQueries(ctx.db.conn).people_faces(ctx.spec.name, faces_per_card))


def person_detail(ctx: Context, name: str, limit: int | None = None) -> PersonDetail:
    """`PersonNotFoundError` for an unknown name."""
    person_id = ctx.db.people.person_id(name)
    faces = WebQueries(ctx.db.conn).person_faces(person_id, ctx.spec.name)
    try:
        photos = photos_of(ctx, name, limit).matches
    except NoSamplesError as exc:
        return PersonDetail(name, faces, [], str(exc))
    return PersonDetail(name, faces, photos)


def look_alikes(ctx: Context, face_ids: Sequence[int], name: str) -> LookAlikes:
    """Which registered people other than `name` the stored faces `face_ids`
    match (within the threshold): what to ask about before naming them `name`."""
    if not face_ids:
        return LookAlikes(name, [])
    vectors = ctx.db.library.face_vectors(list(face_ids))
    found: dict[str, list[float]] = {}
    for candidates in ctx.db.people.nearest_people(ctx.spec.name, ctx.spec.dim, vectors):
        nearest = candidates[0] if candidates else None  # as recognition sees the face
        if nearest is not None and nearest.distance <= ctx.threshold and nearest.name != name:
            found.setdefault(nearest.name, []).append(nearest.distance)
    people = [LookAlike(n, len(d), min(d)) for n, d in found.items()]
    return LookAlikes(name, sorted(people, key=lambda p: (p.distance, p.name)))
