"""Finding photos of a person in the indexed library: from a query photo
(`search`) or from a registered person's samples (`photos`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from facerec.db.library import ClipTime
from facerec.errors import FaceNotFoundError, NoFaceError, NoSamplesError
from facerec.rules.naming import name_faces
from facerec.types import Candidate, EmbeddedFace, FaceHit
from facerec.usecases.context import Context
from facerec.usecases.library.clips import clip_times, format_time
from facerec.usecases.library.recognize import analyze_photo, largest
from facerec.usecases.people.names import require_person

__all__ = ["PhotoMatch", "PhotoSearch", "PersonPhotos", "photos_of", "search_face", "search_photo"]


@dataclass(frozen=True)
class PhotoMatch:
    """A library photo containing the person: the best matching face in it.

    `name`: who that face is shown as (a registered person it matches), or None.
    `clip`: when the photo is a video clip, when that face is on screen.
    """

    picture: str
    hit: FaceHit
    name: str | None = None
    clip: ClipTime | None = None

    @property
    def times(self) -> tuple[float, ...]:
        """A clip's: the seconds at which the face comes on screen (each stretch's start); () for a photo."""
        if self.clip is None:
            return ()
        return tuple(start for start, _ in self.clip.spans) or (self.clip.t_seconds,)

    @property
    def at(self) -> str:
        """A clip's times as players show them (`0:12, 1:05`); "" for a photo."""
        return ", ".join(format_time(t) for t in self.times)

    @property
    def distance(self) -> float:
        return self.hit.distance

    def as_json(self) -> dict[str, object]:
        return {
            "picture": self.picture,
            "box": self.hit.box.as_list(),
            "distance": round(self.distance, 4),
            "face": self.hit.face_id,
            "name": self.name,
            **({"kind": "video", "times": [round(t, 2) for t in self.times]} if self.clip is not None else {}),
        }


def best_per_photo(hits: Sequence[Sequence[FaceHit]]) -> list[PhotoMatch]:
    """Merge the hits of one or more query vectors: each photo once, with its
    nearest face, nearest first."""
    best: dict[str, FaceHit] = {}
    for per_vector in hits:
        for hit in per_vector:
            if hit.picture not in best or hit.distance < best[hit.picture].distance:
                best[hit.picture] = hit
    ranked = sorted(best.values(), key=lambda h: (h.distance, h.picture))
    return [PhotoMatch(h.picture, h, h.person) for h in ranked]


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
    """The library photos that contain the person in a query photo: `query` is the
    face searched for; `total` counts every match, `matches` may stop at a limit."""

    query: EmbeddedFace
    matches: list[PhotoMatch]
    total: int


@dataclass(frozen=True)
class PersonPhotos:
    """The library photos that contain a registered person (`total`: all of them)."""

    name: str
    matches: list[PhotoMatch]
    total: int


def search_photo(
    ctx: Context, image: str | Path, limit: int | None = None, face_number: int | None = None
) -> PhotoSearch:
    """Every library photo that contains the person in `image` (its largest face, or
    number `face_number`), best first, within the threshold; the first `limit` if given."""
    photo = analyze_photo(ctx, image)
    query = choose_face(photo.faces, str(image), face_number)
    if photo.too_small(query):
        raise NoFaceError(f"{image}: that face is too small to recognise ({query.face.box.w} px wide)")
    return search_face(ctx, query, limit)


def search_face(ctx: Context, query: EmbeddedFace, limit: int | None = None) -> PhotoSearch:
    """Every library photo that contains the person whose face `query` is (e.g. a face of an uploaded photo)."""
    matches = _find(ctx, [query.embedding])
    return PhotoSearch(query, with_times(ctx, _label(ctx, matches[:limit])), len(matches))


def photos_of(ctx: Context, name: str, limit: int | None = None) -> PersonPhotos:
    """Every library photo that contains registered person `name`, best first: where a
    face is named `name`, or is recognised as them by the naming rule the People view
    uses (`facerec.usecases.groups.grouping`): their nearest sample within the threshold, and
    nearer than anyone else's; one face per photo; never a face the user said is not
    them. So `people` (after it brings the view up to date), the web page and this list
    count the same photos. The distance is the face's to their nearest sample."""
    person_id = require_person(ctx, name)
    vectors = samples_of(ctx, name, person_id)
    hits = ctx.db.library.search(vectors, ctx.threshold)
    return photos_in(ctx, name, person_id, hits, ctx.db.said.refusals(), limit)


def samples_of(ctx: Context, name: str, person_id: int) -> list[np.ndarray]:
    """The person's sample vectors for this embedder (`NoSamplesError` when there are none)."""
    vectors = ctx.db.people.vectors(person_id)
    if not vectors:
        raise NoSamplesError(f"{name!r} has no {ctx.spec.name} samples; run reembed --embedder {ctx.spec.name}")
    return vectors


def photos_in(
    ctx: Context,
    name: str,
    person_id: int,
    hits: list[list[FaceHit]],
    refused: set[tuple[int, int]],
    limit: int | None = None,
) -> PersonPhotos:
    """`photos_of` on a search already run (`hits` per sample, any radius: faces past the
    threshold are left out), with the user's refusals already read: the person page
    runs one search for their photos and their "is this X?" questions."""
    hits = [[h for h in per if h.distance <= ctx.threshold] for per in hits]
    theirs_refused = {face for face, person in refused if person == person_id}
    nearest: dict[str, FaceHit] = {}  # per photo, its face nearest `name` among those that are theirs
    unnamed = [h for per in hits for h in per if h.person is None and h.face_id not in theirs_refused]
    ids = list(dict.fromkeys(h.face_id for h in unnamed))
    theirs = {i for i, who in zip(ids, nearest_names(ctx, ids, refused)) if who == name}
    for per in hits:
        for h in per:
            if h.person == name or (h.person is None and h.face_id in theirs):
                if h.picture not in nearest or h.distance < nearest[h.picture].distance:
                    nearest[h.picture] = h
    matches = [PhotoMatch(h.picture, h, name) for h in sorted(nearest.values(), key=lambda h: (h.distance, h.picture))]
    return PersonPhotos(name, with_times(ctx, matches[:limit]), len(matches))


def nearest_names(
    ctx: Context, face_ids: Sequence[int], refused: set[tuple[int, int]] | None = None
) -> list[str | None]:
    """Each stored face's nearest registered person (skipping those the user said it
    is not), however far; None when nobody is left. `refused`: the user's refusals,
    if already read."""
    if not face_ids:
        return []
    refused = ctx.db.said.refusals() if refused is None else refused
    found = ctx.db.people.nearest(ctx.db.library.face_vectors(face_ids))
    return [
        next((c.name for c in cands if (face_id, c.person_id) not in refused), None)
        for face_id, cands in zip(face_ids, found)
    ]


def _find(ctx: Context, vectors: Sequence[np.ndarray], skip: set[int] | None = None) -> list[PhotoMatch]:
    hits = ctx.db.library.search(vectors, ctx.threshold)
    if skip:
        hits = [[h for h in per if h.face_id not in skip] for per in hits]
    return best_per_photo(hits)


def known_as(
    ctx: Context,
    face_ids: Sequence[int],
    vectors: Sequence[np.ndarray] | np.ndarray,
    pictures: Sequence[int] | None = None,
    batch: int = 500,
) -> list[str | None]:
    """For each stored face, the registered person it is by the naming rule
    (`facerec.rules.naming`), or None; with `pictures` (each face's picture id),
    a person is given to at most one face of a picture."""
    refused = ctx.db.said.refusals()
    candidates: list[list[Candidate]] = []
    for start in range(0, len(face_ids), batch):
        candidates += ctx.db.people.nearest(list(vectors[start : start + batch]))
    chosen = name_faces(candidates, ctx.threshold, pictures, refused, face_ids)
    return [c.name if c is not None else None for c in chosen]


def _label(ctx: Context, matches: list[PhotoMatch]) -> list[PhotoMatch]:
    """Show each unnamed matching face as the registered person it matches, if any."""
    unnamed = [m for m in matches if m.name is None]
    if not unnamed:
        return matches
    ids = [m.hit.face_id for m in unnamed]
    names = dict(zip(ids, known_as(ctx, ids, ctx.db.library.face_vectors(ids))))
    return [replace(m, name=names.get(m.hit.face_id) or m.name) for m in matches]


def with_times(ctx: Context, matches: list[PhotoMatch]) -> list[PhotoMatch]:
    """`matches` with, for each one in a video clip, when its face is on screen."""
    times = clip_times(ctx, [m.hit.face_id for m in matches])
    return [replace(m, clip=times[m.hit.face_id]) if m.hit.face_id in times else m for m in matches]
