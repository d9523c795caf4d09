"""Recognition: every face of a photo, named after the nearest registered person or Unknown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facerec.types import Candidate, EmbeddedFace, Recognition
from facerec.usecases.context import Context
from facerec.vision.images import LoadedImage, load_image

__all__ = ["AnalyzedPhoto", "PhotoRecognition", "analyze_photo", "recognize_photo"]


@dataclass(frozen=True)
class AnalyzedPhoto:
    """A decoded photo and every face found in it, with its embedding, left to right."""

    image: LoadedImage
    faces: list[EmbeddedFace]


@dataclass(frozen=True)
class PhotoRecognition:
    """Every face of one photo, named or Unknown (`name` None), left to right."""

    path: str
    faces: list[Recognition]


def analyze_photo(ctx: Context, path: Path | str) -> AnalyzedPhoto:
    """Load an image file and embed every face in it (no database)."""
    image = load_image(path)
    return AnalyzedPhoto(image, ctx.pipeline.analyze(image.pixels))


def recognize_photo(ctx: Context, path: Path | str) -> PhotoRecognition:
    """Every face in an image file, named or Unknown."""
    faces = analyze_photo(ctx, path).faces
    return PhotoRecognition(str(path), identify(ctx, faces) if faces else [])


def identify(ctx: Context, faces: Sequence[EmbeddedFace], one_photo: bool = True) -> list[Recognition]:
    """Name each face (or Unknown), with one database query for all of them.

    `one_photo`: the faces are of one photo (or frame), where a person appears
    at most once: names are given one-to-one (see `assign`).
    """
    candidates = ctx.db.people.nearest_people(ctx.spec.name, ctx.spec.dim, [f.embedding for f in faces])
    chosen = assign(candidates, ctx.threshold) if one_photo else [_best(c, ctx.threshold) for c in candidates]
    return [_decide(f, c, pick) for f, c, pick in zip(faces, candidates, chosen)]


def _best(candidates: Sequence[Candidate], threshold: float) -> Candidate | None:
    return candidates[0] if candidates and candidates[0].distance <= threshold else None


def assign(candidates: Sequence[Sequence[Candidate]], threshold: float) -> list[Candidate | None]:
    """For the faces of one photo, each with its nearest people, the person each face
    is: one-to-one (no person twice), as many faces named as possible, then the
    smallest total distance (the Hungarian algorithm). A face whose person is
    taken by a closer face gets its next-best person within `threshold`, or None."""
    best = [_best(cands, threshold) for cands in candidates]
    named = [b.person_id for b in best if b is not None]
    if len(named) == len(set(named)):  # no person wanted twice: each face's nearest is the answer
        return best
    from scipy.optimize import linear_sum_assignment  # 0.4 s to import: only when two faces compete

    people = sorted({c.person_id for cands in candidates for c in cands if c.distance <= threshold})
    out: list[Candidate | None] = [None] * len(candidates)
    column = {p: j for j, p in enumerate(people)}
    unassigned = 2.0 + 2.0 * len(candidates)  # worse than any sum of real distances (each at most 2)
    cost = np.full((len(candidates), len(people)), unassigned)
    by_cell: dict[tuple[int, int], Candidate] = {}
    for i, cands in enumerate(candidates):
        for c in cands:
            if c.distance <= threshold and (i, column[c.person_id]) not in by_cell:
                cost[i, column[c.person_id]] = c.distance
                by_cell[(i, column[c.person_id])] = c
    for i, j in zip(*linear_sum_assignment(cost)):
        out[int(i)] = by_cell.get((int(i), int(j)))
    return out


def _decide(face: EmbeddedFace, candidates: list[Candidate], chosen: Candidate | None) -> Recognition:
    if not candidates:
        return Recognition(face.face, None, None)
    best = candidates[0]
    margin = candidates[1].distance - best.distance if len(candidates) > 1 else None
    if chosen is not None:
        return Recognition(face.face, chosen.name, chosen.distance, margin, chosen.person_id)
    return Recognition(face.face, None, best.distance, margin)


def largest(faces: Sequence[EmbeddedFace]) -> EmbeddedFace:
    """The face with the largest box (the main subject of a photo)."""
    return max(faces, key=lambda f: f.face.box.area)
