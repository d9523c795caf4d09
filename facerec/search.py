"""Finding photos of a person in the indexed library: from a query photo
(`search`) or from a registered person's samples (`photos`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from facerec.app import FaceRec
from facerec.errors import FacerecError, NoFaceError
from facerec.store_library import FaceHit, LibraryStore
from facerec.types import EmbeddedFace


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
        return max(faces, key=lambda f: f.face.box.area)
    if not 1 <= face_number <= len(faces):
        raise FacerecError(f"{path}: --face {face_number} but the photo has {len(faces)} face(s) (1..{len(faces)})")
    return faces[face_number - 1]


def _find(app: FaceRec, vectors: Sequence[np.ndarray], limit: int | None) -> list[PhotoMatch]:
    library = LibraryStore(app.store)
    matches = best_per_photo(library.search(app.spec.name, app.spec.dim, vectors, app.threshold), limit)
    return _label(app, library, matches)


def known_as(
    app: FaceRec,
    library: LibraryStore,
    face_ids: Sequence[int],
    vectors: Sequence[np.ndarray] | np.ndarray,
    batch: int = 500,
) -> list[str | None]:
    """For each stored face, the registered person it matches (within the
    threshold), or None; a person the user said this face is not is skipped."""
    refused = library.not_person()
    out: list[str | None] = []
    for start in range(0, len(face_ids), batch):
        chunk = list(vectors[start : start + batch])
        for face_id, cands in zip(
            face_ids[start : start + batch], app.store.nearest_people(app.spec.name, app.spec.dim, chunk)
        ):
            allowed = (c for c in cands if c.distance <= app.threshold and (face_id, c.person_id) not in refused)
            out.append(next((c.name for c in allowed), None))
    return out


def _label(app: FaceRec, library: LibraryStore, matches: list[PhotoMatch]) -> list[PhotoMatch]:
    """Show each unnamed matching face as the registered person it matches, if any."""
    unnamed = [m for m in matches if m.name is None]
    if not unnamed:
        return matches
    ids = [m.hit.face_id for m in unnamed]
    names = dict(zip(ids, known_as(app, library, ids, library.face_vectors(ids))))
    return [replace(m, name=names.get(m.hit.face_id) or m.name) for m in matches]


def search_photo(
    app: FaceRec, image: str | Path, limit: int | None = 20, face_number: int | None = None
) -> tuple[EmbeddedFace, list[PhotoMatch]]:
    """The library photos that contain the person in `image`, best first, within the threshold."""
    _, faces = app.analyze_file(image)
    query = choose_face(faces, str(image), face_number)
    return query, _find(app, [query.embedding], limit)


def photos_of(app: FaceRec, name: str, limit: int | None = None) -> list[PhotoMatch]:
    """Every library photo that contains registered person `name`, using all their samples."""
    person_id = app.store.person_id(name)
    vectors = LibraryStore(app.store).person_vectors(person_id, app.spec.name)
    if not vectors:
        raise FacerecError(f"{name!r} has no {app.spec.name} samples; run reembed --embedder {app.spec.name}")
    return _find(app, vectors, limit)
