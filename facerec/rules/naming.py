"""Who is this face: the one naming rule.

A face is the registered person whose nearest sample is nearest to it, if that
is within the threshold, and unless the user said this face is not that person.
In one photo (or one video frame) a person is at most one face: when two faces
want the same person, names are given one-to-one, as many faces named as
possible, then the smallest total distance (the Hungarian algorithm), and a
face whose person went to a closer face takes its next-best person within the
threshold, or none.

`recognize`, `search` and `photos` (which faces are a person), the People
view (which unnamed faces are shown as a registered person), the live window
and the guard (would these faces be taken for someone else?) all call
`name_faces`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence

import numpy as np

from facerec.types import Candidate

__all__ = ["name_faces", "one_to_one"]


def name_faces(
    candidates: Sequence[Sequence[Candidate]],
    threshold: float,
    pictures: Sequence[Hashable] | None = None,
    refused: set[tuple[int, int]] | None = None,
    face_ids: Sequence[int] | None = None,
) -> list[Candidate | None]:
    """For each face (its nearest registered people, nearest first), the person it
    is, or None. `pictures`: each face's photo (faces of one photo share a person
    at most once); None: every face stands alone. `refused` holds (face id,
    person id) pairs the user said do not go together (`face_ids`: each face's id)."""
    allowed = [list(c) for c in candidates]
    if refused and face_ids is not None:
        allowed = [[c for c in cands if (face, c.person_id) not in refused] for face, cands in zip(face_ids, allowed)]
    if pictures is None:
        return [_best(c, threshold) for c in allowed]
    out: list[Candidate | None] = [None] * len(allowed)
    by_picture: dict[Hashable, list[int]] = defaultdict(list)
    for i, picture in enumerate(pictures):
        by_picture[picture].append(i)
    for members in by_picture.values():
        for i, chosen in zip(members, one_to_one([allowed[i] for i in members], threshold)):
            out[i] = chosen
    return out


def _best(candidates: Sequence[Candidate], threshold: float) -> Candidate | None:
    return candidates[0] if candidates and candidates[0].distance <= threshold else None


def one_to_one(candidates: Sequence[Sequence[Candidate]], threshold: float) -> list[Candidate | None]:
    """The faces of one photo, each with its nearest people: the person each is,
    one-to-one (see the module docstring)."""
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
