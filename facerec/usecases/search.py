"""Finding photos of a person in the indexed library: from a query photo
(`search`) or from a registered person's samples (`photos`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from facerec.errors import FaceNotFoundError, NoFaceError, NoSamplesError
from facerec.types import EmbeddedFace, FaceHit
from facerec.usecases.context import Context
from facerec.usecases.recognize import analyze_photo, largest

__all__ = ["PhotoMatch", "PhotoSearch", "PersonPhotos", "photos_of", "search_photo"]


@dataclass(frozen=True)
class PhotoMatch:
    """A library photo containing the person: the best matching face in it.

    `name`: who that face is shown as (a registered person it matches), or None.
    """

    picture: str
    hit: FaceHit
    name: str | None = None

    @property
    def distance(self) -> float:
        return self.hit.distance

    def as_json(self) -> dict[str, object]:
        return {"picture": self.picture, "box": self.hit.box.as_list(), "distance": round(self.distance, 4)}


def best_per_photo(hits: Sequence[Sequence[FaceHit]], limit: int | None = None) -> list[PhotoMatch]:
    """Merge the hits of one or more query vectors: each photo once, with its
    nearest face, nearest first."""
    best: dict[str, FaceHit] = {}
    for per_vector in hits:
        for hit in per_vector:
            if hit.picture not in best or hit.distance < best[hit.picture].distance:
                best[hit.picture] = hit
    ranked = sorted(best.values(), key=lambda h: (h.distance, h.picture))
    return [PhotoMatch(h.picture, h, h.person) for h in ranked[:limit]]


def choose_face(faces: Sequence[EmbeddedFace], path: str, face_number: int | None) -> EmbeddedFace:
    """The query face: number `face_number` (1-based, left to right) or the largest."""
    if not faces:
        raise NoFaceError(f"{path}: no face found")
    if face_number is None:
        return largest(faces)
    if not 1 <= face_number <= len(faces):
        raise FaceNotFoundError(
            f"{path}: --face {face_number} but the photo has {len(faces)} face(s) (1..{len(faces)})"
        )
    return faces[face_number - 1]


@dataclass(frozen=True)
class PhotoSearch:
    """The library photos that contain the person in a query photo: `query` is the face searched for."""

    query: EmbeddedFace
    matches: list[PhotoMatch]


@dataclass(frozen=True)
class PersonPhotos:
    """The library photos that contain a registered person."""

    name: str
    matches: list[PhotoMatch]


def search_photo(
    ctx: Context, image: str | Path, limit: int | None = 20, face_number: int | None = None
) -> PhotoSearch:
    """The library photos that contain the person in `image`, best first, within the threshold."""
    faces = analyze_photo(ctx, image).faces
    query = choose_face(faces, str(image), face_number)
    return PhotoSearch(query, _find(ctx, [query.embedding], limit))


def photos_of(ctx: Context, name: str, limit: int | None = None) -> PersonPhotos:
    """Every library photo that contains registered person `name`, using all their samples."""
    person_id = ctx.db.people.person_id(name)
    vectors = ctx.db.people.person_vectors(person_id, ctx.spec.name)
    if not vectors:
        raise NoSamplesError(f"{name!r} has no {ctx.spec.name} samples; run reembed --embedder {ctx.spec.name}")
    return PersonPhotos(name, _find(ctx, vectors, limit))


def _find(ctx: Context, vectors: Sequence[np.ndarray], limit: int | None) -> list[PhotoMatch]:
    hits = ctx.db.library.search(ctx.spec.name, ctx.spec.dim, vectors, ctx.threshold)
    return _label(ctx, best_per_photo(hits, limit))


def known_as(
    ctx: Context, face_ids: Sequence[int], vectors: Sequence[np.ndarray] | np.ndarray, batch: int = 500
) -> list[str | None]:
    """For each stored face, the registered person it matches (within the
    threshold), or None; a person the user said this face is not is skipped."""
    refused = ctx.db.people.not_person()
    out: list[str | None] = []
    for start in range(0, len(face_ids), batch):
        chunk = list(vectors[start : start + batch])
        nearest = ctx.db.people.nearest_people(ctx.spec.name, ctx.spec.dim, chunk)
        for face_id, cands in zip(face_ids[start : start + batch], nearest):
            allowed = (c for c in cands if c.distance <= ctx.threshold and (face_id, c.person_id) not in refused)
            out.append(next((c.name for c in allowed), None))
    return out


def _label(ctx: Context, matches: list[PhotoMatch]) -> list[PhotoMatch]:
    """Show each unnamed matching face as the registered person it matches, if any."""
    unnamed = [m for m in matches if m.name is None]
    if not unnamed:
        return matches
    ids = [m.hit.face_id for m in unnamed]
    names = dict(zip(ids, known_as(ctx, ids, ctx.db.library.face_vectors(ids))))
    return [replace(m, name=names.get(m.hit.face_id) or m.name) for m in matches]
