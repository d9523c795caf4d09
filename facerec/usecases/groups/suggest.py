"""Suggestions for the People view: groups that are probably a registered
person, pairs of groups that are probably one person, and single library
faces just outside a person's threshold ("is this X?"), for the user to
confirm or refuse one at a time. Every answer is remembered: yes names the
group (or merges the two, or makes the face a sample), no is a "not this
person" (or a 'different' link), so the same question is not asked again.

Groups are compared by average linkage: the mean cosine distance between
every face of one and every face of the other (for unit vectors, one minus
the dot product of their mean vectors). Faces of one person average about
0.3 apart; a group is only linked into another when some pair of faces is
closer than the grouping distance, so two groups of one person that were
kept apart tend to sit just above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from facerec.errors import FaceNotFoundError
from facerec.types import FaceHit
from facerec.usecases.context import Context
from facerec.usecases.groups import changes as people_uc
from facerec.usecases.groups.grouping import SAMPLE_FACES, Group
from facerec.usecases.library.search import PhotoMatch, best_per_photo, nearest_names
from facerec.usecases.people.guard import check_new_faces
from facerec.usecases.people.names import require_person

__all__ = [
    "QUESTIONS_SHOWN",
    "Answer",
    "NearMisses",
    "Suggestion",
    "Suggestions",
    "answer",
    "answer_near_miss",
    "near_misses",
    "suggestions",
]

MAX_GROUPS = 2_000
"""The largest groups compared (suggesting for the long tail of small groups is not worth the time)."""


@dataclass(frozen=True)
class Suggestion:
    """'group is person' (`kind` 'person') or 'group and other are one person'
    (`kind` 'group'), with the linkage distance between them."""

    kind: str
    group: Group
    distance: float
    person: str | None = None
    other: Group | None = None

    @property
    def question(self) -> str:
        if self.kind == "person":
            return f"Is group {self.group.id} ({self.group.size} faces) {self.person}?"
        assert self.other is not None
        return (
            f"Are group {self.group.id} ({self.group.size} faces) and group {self.other.id} "
            f"({self.other.size} faces) the same person?"
        )

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "group": self.group.id, "distance": round(self.distance, 4)}
        if self.person is not None:
            out["person"] = self.person
        if self.other is not None:
            out["other_group"] = self.other.id
        return out


@dataclass(frozen=True)
class Suggestions:
    """The suggestions, most likely first."""

    items: list[Suggestion]


@dataclass(frozen=True)
class Answer:
    """What an answer did, in words for the user."""

    message: str


def suggestions(ctx: Context, limit: int | None = 20, min_faces: int | None = None) -> Suggestions:
    """The groups (of at least `min_faces` faces, among the `MAX_GROUPS`
    largest) most likely to be a registered person or the same person as
    another group, by linkage distance, at most `limit`; questions already
    answered are left out."""
    store = ctx.db.groups
    least = ctx.settings.people_min_faces if min_faces is None else min_faces
    means = store.means(least, MAX_GROUPS)
    if not means:
        return Suggestions([])
    ids = np.array([g for g, _, _ in means], np.int64)
    sizes = {g: n for g, n, _ in means}
    centre = np.stack([m for _, _, m in means]).astype(np.float64)
    found: list[tuple[float, str, int, int]] = []  # (distance, kind, group, person or other group)

    persons, samples = ctx.db.people.samples()
    if len(persons):
        refused = ctx.db.said.refused_groups()
        people_ids = np.unique(persons)
        person_mean = np.stack([samples[persons == p].mean(axis=0) for p in people_ids]).astype(np.float64)
        linkage = 1.0 - centre @ person_mean.T
        cap = ctx.threshold + ctx.numbers.question_band  # as for single faces: only a likely yes
        nearest = linkage.argmin(axis=1)  # and only the person the group is nearest to
        for gi, pi in zip(*np.nonzero(linkage <= cap)):
            g, p = int(ids[gi]), int(people_ids[pi])
            if pi == nearest[gi] and (g, p) not in refused:
                found.append((float(linkage[gi, pi]), "person", g, p))

    if len(ids) > 1:
        linkage = 1.0 - centre @ centre.T
        cap = ctx.numbers.group_distance + ctx.numbers.group_margin
        kept_apart = ctx.db.said.groups_kept_apart(ids.tolist())
        for a, b in zip(*np.nonzero(np.triu(linkage <= cap, 1))):
            ga, gb = int(ids[a]), int(ids[b])
            if (min(ga, gb), max(ga, gb)) not in kept_apart:
                found.append((float(linkage[a, b]), "group", ga, gb))

    found.sort()
    found = found[:limit] if limit is not None else found
    names = ctx.db.people.names_of([x for _, kind, _, x in found if kind == "person"])
    shown = {g for _, _, g, _ in found} | {x for _, kind, _, x in found if kind == "group"}
    faces = store.samples_of(sorted(shown), SAMPLE_FACES)
    items = []
    for distance, kind, g, x in found:
        group = Group(g, faces.get(g, []), sizes[g])
        if kind == "person":
            items.append(Suggestion("person", group, distance, person=names.get(x, str(x))))
        else:
            items.append(Suggestion("group", group, distance, other=Group(x, faces.get(x, []), sizes[x])))
    return Suggestions(items)


def answer(ctx: Context, suggestion: Suggestion, yes: bool, force: bool = False) -> Answer:
    """Remember the user's answer: yes names the group after the person (its
    faces become their samples) or merges the two groups; no says the group
    is not that person, or the two groups are different people. A yes is
    guarded like `people name` and `people merge` (a suggestion is a guess: the
    guard may know better): `LooksLikeSomeoneElseError` unless `force`."""
    group = suggestion.group
    if suggestion.kind == "person":
        assert suggestion.person is not None
        if yes:
            done = people_uc.name_group(ctx, group.id, suggestion.person, force=force)
            return Answer(f"group {group.id}: {done.faces} faces are now {done.name!r}")
        person_id = ctx.db.people.person_id(suggestion.person)
        faces = [f.face_id for f in people_uc.show_group(ctx, group.id).faces]
        ctx.db.said.refuse(faces, person_id, f"group {group.id} is not {suggestion.person!r}")
        return Answer(f"group {group.id} is not {suggestion.person!r}: remembered")
    assert suggestion.other is not None
    if yes:
        return Answer(people_uc.merge(ctx, str(group.id), str(suggestion.other.id), force=force).message)
    a, b = (g.faces[0].face_id if g.faces else g.id for g in (group, suggestion.other))
    ctx.db.said.keep_apart(a, b, f"groups {group.id} and {suggestion.other.id} are different people")
    return Answer(f"groups {group.id} and {suggestion.other.id} are different people: remembered")


# -- "is this X?" for single faces -----------------------------------------------------

QUESTIONS_SHOWN = 5
"""At most this many "is this X?" questions at once: a handful, after the person's photos."""


@dataclass(frozen=True)
class NearMisses:
    """Library photos that may show `name`: in each, the unnamed face nearest
    their samples, just outside the threshold (nearest first; `total`: all of them)."""

    name: str
    matches: list[PhotoMatch]
    total: int


def near_misses(ctx: Context, name: str, limit: int | None = QUESTIONS_SHOWN, band: float | None = None) -> NearMisses:
    """The library photos where `name` is not found but likely is: no face of the
    photo is within the threshold of their samples, and its nearest unnamed face
    is at most `band` (default: the embedder's `question_band`) past it and nearer
    to `name` than to any other registered person; and the photos another tool
    said show them where no face could take the name (hints, see `misses_in`).
    Faces the user said are not `name` are left out; a photo counts once."""
    band = ctx.numbers.question_band if band is None else band
    person_id = require_person(ctx, name)
    vectors = ctx.db.people.vectors(person_id)
    if not vectors:
        return NearMisses(name, [], 0)
    hits = ctx.db.library.search(vectors, ctx.threshold + band)
    return misses_in(ctx, name, person_id, hits, ctx.db.said.refusals(), limit, vectors)


def misses_in(
    ctx: Context,
    name: str,
    person_id: int,
    hits: list[list[FaceHit]],
    refused: set[tuple[int, int]],
    limit: int | None = QUESTIONS_SHOWN,
    samples: Sequence[np.ndarray] = (),
) -> NearMisses:
    """`near_misses` on a search already run out to the threshold plus the band (the
    person page's one search), with the user's refusals already read. With the
    person's `samples`, the photos another tool said show them where no face could
    take the name (hints from XMP regions, Takeout, Picasa) are asked about too,
    however far their nearest face is (a hinted photo first)."""
    found = {m.picture for m in best_per_photo(hits) if m.distance <= ctx.threshold}
    theirs_refused = {face for face, person in refused if person == person_id}
    open_hits = [[h for h in per if h.person is None and h.face_id not in theirs_refused] for per in hits]
    candidates = [m for m in best_per_photo(open_hits) if m.picture not in found]
    hinted = _hinted(ctx, name, samples, found | {m.picture for m in candidates}, theirs_refused)
    candidates = hinted + candidates
    nearest = nearest_names(ctx, [m.hit.face_id for m in candidates], refused)
    matches = [m for m, who in zip(candidates, nearest) if who == name]
    return NearMisses(name, matches[:limit], len(matches))


def _hinted(
    ctx: Context, name: str, samples: Sequence[np.ndarray], skip: set[str], refused: set[int]
) -> list[PhotoMatch]:
    """In each photo hinted to show `name` (and not in `skip`), its unnamed face nearest their samples."""
    if not len(samples):
        return []
    mine = np.stack(samples)
    out = []
    for picture_id, picture in ctx.db.regions.hinted(name):
        if picture in skip:
            continue
        faces = [f for f in ctx.db.regions.faces(picture_id) if f.person is None and f.id not in refused]
        if not faces:
            continue
        distances = [float(1.0 - (mine @ f.embedding).max()) for f in faces]
        best = int(np.argmin(distances))
        hit = FaceHit(faces[best].id, picture, faces[best].box, distances[best], None)
        out.append(PhotoMatch(picture, hit, None))
    return sorted(out, key=lambda m: m.distance)


def nearest_person(ctx: Context, face_id: int) -> str | None:
    """The registered person nearest a stored face, however far (None if nobody is registered)."""
    return nearest_names(ctx, [face_id])[0]


def answer_near_miss(ctx: Context, name: str, face_ids: Sequence[int], yes: bool, force: bool = False) -> Answer:
    """Remember the answer to "are these faces `name`?": yes makes them their
    samples, no means they are never matched to, nor asked about as, `name`
    again. One change (one `undo`), all or nothing: an unknown or named face
    changes nothing. A yes is guarded like a registration (a face that looks
    like someone else, or unlike every sample of `name`, raises
    `LooksLikeSomeoneElseError` unless `force`): the user may answer about a
    face they did not look at closely."""
    person_id = require_person(ctx, name)
    ids = list(dict.fromkeys(face_ids))
    for face_id in ids:
        face = ctx.db.library.face(face_id)
        if face is None:
            raise FaceNotFoundError(f"no face {face_id}")
        if face.person is not None:
            raise FaceNotFoundError(f"face {face_id} is already {face.person!r}; 'people split {face_id}' first")
    several = len(ids) > 1
    label = f"face{'s' if several else ''} {', '.join(map(str, ids))} {'are' if several else 'is'}"
    if yes:
        labels = [f"face {i}" for i in ids]
        check_new_faces(ctx, name, ctx.db.library.face_vectors(ids), person_id, labels).raise_unless(force)
        ctx.db.people.attach(ids, name, f"{label} {name!r} (answered yes)")
        return Answer(f"{label} now {'samples' if several else 'a sample'} of {name!r}")
    ctx.db.said.refuse(ids, person_id, f"{label} not {name!r} (answered no)")
    return Answer(f"{label} not {name!r}: remembered")
