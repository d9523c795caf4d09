"""The guard on every path that adds faces to a person.

Before faces become someone's samples (registering photos or camera frames,
the live window's `r`, naming a group, merging), they are compared with
(a) every other registered person: a face that would be recognised as
somebody else (within the threshold) is not silently given this name; and
(b) the person's own samples: a face farther than the embedder's
`own_sample_bound` (`Context.numbers`) from every
one of them does not look like this person at all. A new person registered
from several photos is checked against the photos themselves (each must be
within the bound of another).

Calibrated on the dev set (`python bench/guard_rates.py`): a genuine new
photo of a person is at most 0.56 from the nearest earlier photo of them
(0 of 57 registrations refused), while a photo of someone else is within 0.65
of a person's nearest sample in 7 of 1,659 cases (0.4%); (a) uses the
recognition threshold (0.57), below every different-person pair (0.60 and up).

Faces found by grouping (a group, a person's faces in a merge) are one person
already; they are judged as a whole, so one odd face does not block a good group:
(a) fires when most of them would be recognised as one other person, (b) when
the median face is farther than the bound from the person's samples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from facerec.errors import LooksLikeSomeoneElseError
from facerec.rules.naming import name_faces
from facerec.usecases.context import Context

__all__ = ["Verdict", "check_group", "check_new_faces", "check_same_person"]


@dataclass(frozen=True)
class Verdict:
    """What the guard found about faces for `name`: one line per problem (empty: fine)."""

    name: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_unless(self, force: bool, go_ahead: Callable[[], object] | None = None) -> None:
        """`LooksLikeSomeoneElseError` naming the problems, unless all is well or `force`;
        `go_ahead`: the planned change, for a "yes" to apply as it is."""
        if self.problems and not force:
            raise LooksLikeSomeoneElseError(
                "; ".join(self.problems) + "; nothing stored",
                question=f"store them as {self.name!r} anyway?",
                go_ahead=go_ahead,
            )


def _nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each row of `a`, the cosine distance to its nearest row of `b` (inf when `b` is empty)."""
    if not len(b):
        return np.full(len(a), np.inf, np.float32)
    return np.asarray(1.0 - (a @ b.T).max(axis=1), np.float32)


def check_new_faces(
    ctx: Context, name: str, vectors: Sequence[np.ndarray], person_id: int | None, labels: Sequence[str] | None = None
) -> Verdict:
    """Faces from separate photos or frames, one sample each (register, live `r`)."""
    if not len(vectors):
        return Verdict(name, [])
    labels = list(labels) if labels is not None else [f"sample {i}" for i in range(1, len(vectors) + 1)]
    new = np.stack([np.asarray(v, np.float32) for v in vectors])
    problems = []
    candidates = ctx.db.people.nearest(list(new))
    for label, chosen in zip(labels, name_faces(candidates, ctx.threshold)):  # who each would be taken for
        if chosen is not None and chosen.name != name:
            problems.append(f"{label} looks like registered person {chosen.name!r} (distance {chosen.distance:.3f})")
    own_vectors = _own(ctx, person_id)
    if len(own_vectors):
        nearest = _nearest(new, own_vectors)
        for label, d in zip(labels, nearest):
            if d > ctx.numbers.own_sample_bound:
                problems.append(f"{label} is unlike every sample of {name!r} (nearest {d:.3f})")
    elif len(new) > 1:  # a new person from several photos: they must show one person
        similarity = new @ new.T
        np.fill_diagonal(similarity, -1.0)
        for label, d in zip(labels, 1.0 - similarity.max(axis=1)):
            if d > ctx.numbers.own_sample_bound:
                problems.append(f"{label} is unlike the other photos of {name!r} (nearest {d:.3f})")
    return Verdict(name, problems)


def check_group(ctx: Context, name: str, vectors: Sequence[np.ndarray], person_id: int | None, what: str) -> Verdict:
    """Faces that grouping (or a person's samples) says are one person, judged as a whole."""
    if not len(vectors):
        return Verdict(name, [])
    new = np.stack([np.asarray(v, np.float32) for v in vectors])
    problems = []
    named = [c.name if c is not None else None for c in name_faces(ctx.db.people.nearest(list(new)), ctx.threshold)]
    others = Counter(n for n in named if n is not None and n != name)
    if others:
        other, n = others.most_common(1)[0]
        if n * 2 > len(new):
            problems.append(f"{n} of the {len(new)} faces of {what} look like registered person {other!r}")
    own_vectors = _own(ctx, person_id)
    if len(own_vectors):
        median = float(np.median(_nearest(new, own_vectors)))
        if median > ctx.numbers.own_sample_bound:
            problems.append(f"{what} is unlike the samples of {name!r} (median nearest distance {median:.3f})")
    return Verdict(name, problems)


def check_same_person(ctx: Context, a: Sequence[np.ndarray], b: Sequence[np.ndarray], what: str) -> Verdict:
    """Two sets of faces about to be merged into one person (two groups, or two people)."""
    if not len(a) or not len(b):
        return Verdict(what, [])
    va = np.stack([np.asarray(v, np.float32) for v in a])
    vb = np.stack([np.asarray(v, np.float32) for v in b])
    median = float(np.median(_nearest(vb, va)))
    if median > ctx.numbers.own_sample_bound:
        return Verdict(what, [f"{what} do not look like one person (median nearest distance {median:.3f})"])
    return Verdict(what, [])


def _own(ctx: Context, person_id: int | None) -> np.ndarray:
    if person_id is None:
        return np.zeros((0, ctx.spec.dim), np.float32)
    vectors = ctx.db.people.vectors(person_id)
    return np.stack(vectors) if vectors else np.zeros((0, ctx.spec.dim), np.float32)
