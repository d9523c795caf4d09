"""The People view: the library's unnamed faces grouped into likely persons,
like a photo app's (`facerec.usecases.groups.changes` names, merges and splits them).

Groups are stored and kept up to date as the library changes, so listing
them reads what is stored:

- `update_groups` (run by `index` when it has stored new faces, and by
  `people` before listing) looks at the faces not looked at yet: a face too
  small, blurred or uncertain (the quality gates, `Settings.people_*`) is
  not grouped; a face that matches a registered person is shown as that
  person (`matched`, never a sample); every other face joins the group most
  of its nearest faces (pgvector's HNSW index) are in, or starts one. When
  the registered people changed (a registration, a naming, a merge, a
  split), the matches of every face are computed again first.
- `regroup` (`people --regroup`) groups every unnamed face again from a
  k-nearest-neighbour graph (`facerec.usecases.clustering`) and stores the
  result in one transaction; an interrupted regroup leaves the groups as
  they were.

Both obey what the user said: two faces of one photo are never one person,
'different' links (splits) keep faces apart, 'same' links (merges) keep
groups together. A group's id is one of its face ids: the one most of its
faces had as their group id, else its smallest, so a group that gains or
loses a few faces keeps its id.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from facerec.db.groups import GATED, GROUPED, MATCHED, NEW, FaceTable
from facerec.rules import clustering
from facerec.rules.naming import name_faces
from facerec.types import Candidate, FaceRow, Person
from facerec.usecases.context import Context

__all__ = [
    "Group",
    "GroupingReport",
    "PeopleView",
    "Regrouped",
    "people_view",
    "regroup",
    "regroup_all",
    "update_groups",
]

MIN_FACES = 2
"""Groups with fewer faces are not listed (a face seen once is not yet a person)."""

SAMPLE_FACES = 8
"""Faces of each group a listing shows (`people show G` shows them all)."""

INCREMENTAL_MAX = 10_000
"""More new faces than this (or more than are grouped already) are grouped by a
full regroup, which is faster for many faces than one index query each."""

QUERY_BATCH = 500
"""New faces per neighbour query in the incremental step."""

MATCH_BLOCK = 20_000


@dataclass(frozen=True)
class GroupingProgress:
    """Passed to the progress callback: the phase ('reading', 'matching',
    'index', 'neighbours', 'grouping', 'saving'), faces done of total, seconds so far."""

    phase: str
    done: int
    total: int
    elapsed: float


ProgressCallback = Callable[[GroupingProgress], None]


@dataclass(frozen=True)
class Group:
    """A group of unnamed faces that look like one person: `size` faces in
    all, `faces` the first of them (all of them from `people show`);
    `hidden` if the user hid it from the People view."""

    id: int
    faces: list[FaceRow]
    size: int = -1
    hidden: bool = False

    def __post_init__(self) -> None:
        if self.size < 0:
            object.__setattr__(self, "size", len(self.faces))

    def as_json(self) -> dict[str, object]:
        return {
            "group": self.id,
            "size": self.size,
            "faces": [{"face": f.face_id, "picture": f.picture, "box": f.box.as_list()} for f in self.faces],
        }


@dataclass(frozen=True)
class PeopleView:
    """One page of the People view: the registered people (most photos first),
    then `groups`, the page from `offset` of the `total` groups of at least
    `min_faces` faces, largest first."""

    groups: list[Group]
    people: list[Person]
    total: int = 0
    offset: int = 0
    min_faces: int = MIN_FACES
    hidden: int = 0
    """How many groups (of at least `min_faces` faces) the user hid; with
    `people_view(hidden=True)`, `groups` and `total` are those."""

    @property
    def named(self) -> list[tuple[str, int]]:
        """(name, library photos where they appear, named or matched) for each registered person."""
        return [(p.name, p.photos) for p in self.people]


@dataclass
class GroupingReport:
    """What a grouping step did: faces looked at, and how they ended up."""

    full: bool = False
    faces: int = 0
    grouped: int = 0
    matched: int = 0
    gated: int = 0
    rematched: int = 0
    changed: int = 0
    seconds: float = 0.0
    groups: int = 0
    """Groups the faces looked at are in (a full regroup: all groups, of any size)."""

    def as_json(self) -> dict[str, object]:
        return {
            "full": self.full,
            "faces": self.faces,
            "grouped": self.grouped,
            "matched": self.matched,
            "gated": self.gated,
            "groups": self.groups,
            "changed": self.changed,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Gates:
    """The quality gates (see `Settings`): a face failing one is not grouped."""

    min_face_px: int
    min_sharpness: float
    min_score: float

    @classmethod
    def of(cls, ctx: Context) -> Gates:
        s = ctx.settings
        return cls(s.people_min_face_px, ctx.numbers.min_sharpness, s.people_min_score)

    def passes(self, table: FaceTable) -> np.ndarray:
        """A boolean per face: big, sharp and certain enough (an unmeasured sharpness passes)."""
        big = np.minimum(table.width, table.height) >= self.min_face_px
        sharp = np.isnan(table.sharpness) | (table.sharpness >= self.min_sharpness)
        return big & sharp & (table.score >= self.min_score)


@dataclass
class _Clock:
    on_progress: ProgressCallback | None
    start: float = field(default_factory=time.perf_counter)

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.on_progress is not None:
            self.on_progress(GroupingProgress(phase, done, total, self.elapsed()))

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


# -- matching registered people ----------------------------------------------------


def _match(ctx: Context, ids: np.ndarray, vectors: np.ndarray, pictures: np.ndarray, clock: _Clock) -> np.ndarray:
    """The registered person each face is, by the naming rule (`facerec.rules.naming`:
    nearest within the threshold, not a person the user said it is not, one person
    per photo), or 0; exact. Vectorised over the faces: only faces within the
    threshold of someone go through the rule itself."""
    persons, samples = ctx.db.people.samples()
    out = np.zeros(len(ids), np.int64)
    if not len(persons) or not len(ids):
        return out
    order = np.argsort(persons, kind="stable")  # samples by person: a person's best is a reduceat
    persons, samples = persons[order], samples[order]
    people, starts = np.unique(persons, return_index=True)
    floor = 1.0 - ctx.threshold
    rows: list[int] = []
    candidates: list[list[Candidate]] = []
    for start in range(0, len(ids), MATCH_BLOCK):
        sims = vectors[start : start + MATCH_BLOCK] @ samples.T
        per_person = np.maximum.reduceat(sims, starts, axis=1)  # faces x people: each person's nearest sample
        for row in np.flatnonzero(per_person.max(axis=1) >= floor):
            near = np.flatnonzero(per_person[row] >= floor)
            near = near[np.argsort(-per_person[row, near])]
            rows.append(start + int(row))
            candidates.append([Candidate(int(people[j]), "", 1.0 - float(per_person[row, j])) for j in near])
        clock("matching", min(len(ids), start + MATCH_BLOCK), len(ids))
    if rows:
        chosen = name_faces(
            candidates,
            ctx.threshold,
            pictures=[int(pictures[r]) for r in rows],
            refused=ctx.db.said.refusals(),
            face_ids=[int(ids[r]) for r in rows],
        )
        for r, c in zip(rows, chosen):
            out[r] = c.person_id if c is not None else 0
    return out


# -- full regroup --------------------------------------------------------------------


def regroup(
    ctx: Context, max_distance: float | None = None, on_progress: ProgressCallback | None = None
) -> GroupingReport:
    """Group every unnamed library face again and store the result in one
    transaction (Ctrl-C before it commits leaves the stored groups as they were)."""
    clock = _Clock(on_progress)
    store = ctx.db.groups
    distance = ctx.numbers.group_distance if max_distance is None else max_distance
    digest = store.matching_digest()
    clock("reading", 0, 1)
    table = store.faces()
    clock("reading", len(table), len(table))
    ok = Gates.of(ctx).passes(table)
    matched = _match(ctx, table.ids, table.vectors, table.pictures, clock)
    eligible = ok & (matched == 0)
    vectors = table.vectors if eligible.all() else table.vectors[eligible]
    table = replace(table, vectors=table.vectors[:0])  # let the full copy go once the subset is made
    ids = table.ids[eligible]
    old = np.where(table.state[eligible] == GROUPED, table.group[eligible], 0)
    groups = clustering.group(
        ids,
        vectors,
        table.pictures[eligible],
        ctx.db.said.links(),
        distance,
        old,
        progress=clock,
    )
    del vectors
    state = np.full(len(table), GROUPED, np.int8)
    state[~ok] = GATED  # too small, blurred or uncertain to group; still recognised, below
    state[matched > 0] = MATCHED
    group = np.zeros(len(table), np.int64)
    group[eligible] = groups
    changed = (state != table.state) | (group != table.group) | (matched != table.matched)
    clock("saving", 0, int(changed.sum()))
    written = store.save(table.ids[changed], state[changed], group[changed], matched[changed], digest, regrouped=True)
    clock("saving", int(changed.sum()), int(changed.sum()))
    return GroupingReport(
        full=True,
        faces=len(table),
        grouped=int(eligible.sum()),
        matched=int((matched > 0).sum()),
        gated=int((~ok & (matched == 0)).sum()),
        changed=written,
        seconds=clock.elapsed(),
        groups=len(np.unique(groups)),
    )


@dataclass(frozen=True)
class Regrouped:
    """A full regroup: what it did, and how many groups the People view now lists."""

    report: GroupingReport
    groups: int


def regroup_all(
    ctx: Context, max_distance: float | None = None, on_progress: ProgressCallback | None = None
) -> Regrouped:
    """`regroup`, and how many groups (of at least `FACEREC_PEOPLE_MIN_FACES` faces,
    not hidden) it leaves listed: the web page's Regroup button."""
    report = regroup(ctx, max_distance, on_progress)
    return Regrouped(report, people_view(ctx, limit=0).total)


# -- incremental -------------------------------------------------------------------------


def update_groups(ctx: Context, on_progress: ProgressCallback | None = None) -> GroupingReport:
    """Bring the stored groups up to date: match every face again if the
    registered people changed, then place the faces not looked at yet (or
    regroup everything when they are many). Quick when nothing changed."""
    clock = _Clock(on_progress)
    store = ctx.db.groups
    report = GroupingReport()
    digest = store.matching_digest()
    if digest != store.stored_digest():
        report.rematched = _rematch(ctx, digest, clock)
    todo = store.todo_count()
    if todo == 0:
        report.seconds = clock.elapsed()
        return report
    if todo > INCREMENTAL_MAX or todo > store.grouped_count():
        full = regroup(ctx, on_progress=on_progress)
        full.rematched = report.rematched
        return full
    report = _place_new(ctx, clock, report)
    report.seconds = clock.elapsed()
    return report


def _rematch(ctx: Context, digest: str, clock: _Clock) -> int:
    """Match every grouped or matched face against the registered people again;
    a face that now matches someone leaves its group, a face that no longer
    matches anyone is looked at again as a new face. Returns faces changed."""
    store = ctx.db.groups
    clock("reading", 0, 1)
    table = store.faces()
    look = (table.state == GROUPED) | (table.state == MATCHED) | (table.state == GATED)
    matched = np.zeros(len(table), np.int64)
    matched[look] = _match(ctx, table.ids[look], table.vectors[look], table.pictures[look], clock)
    state, group = table.state.copy(), table.group.copy()
    now = look & (matched > 0)
    state[now], group[now] = MATCHED, 0
    lost = look & (matched == 0) & (table.state == MATCHED)
    state[lost] = NEW  # looked at again: grouped, or gated
    changed = look & ((state != table.state) | (matched != table.matched))
    return store.save(table.ids[changed], state[changed], group[changed], matched[changed], digest)


def _place_new(ctx: Context, clock: _Clock, report: GroupingReport) -> GroupingReport:
    """The incremental step proper: each new face joins the stored group most
    of its nearest faces are in (or a group of new faces), never a group that
    holds a face of its photo or a face the user said is someone else."""
    store = ctx.db.groups
    distance = ctx.numbers.group_distance
    table = store.faces(todo_only=True, limit=INCREMENTAL_MAX)
    ok = Gates.of(ctx).passes(table)
    matched = _match(ctx, table.ids, table.vectors, table.pictures, clock)
    eligible = np.flatnonzero(ok & (matched == 0))
    ids = table.ids[eligible].tolist()
    pictures = table.pictures[eligible].tolist()
    index = {face: i for i, face in enumerate(ids)}

    neighbours: list[list[tuple[clustering.Label | int, float]]] = [[] for _ in ids]
    for start in range(0, len(ids), QUERY_BATCH):
        rows = eligible[start : start + QUERY_BATCH]
        found = store.neighbours(list(table.vectors[rows]), clustering.K_NEIGHBOURS + 1)
        for i, near in enumerate(found, start):
            for nb in near:
                if nb.face_id == ids[i] or nb.distance > distance:
                    continue
                if nb.face_id in index:
                    neighbours[i].append((index[nb.face_id], 1.0 - nb.distance))
                elif nb.state == GROUPED and nb.group is not None:
                    neighbours[i].append(((0, nb.group), 1.0 - nb.distance))
        clock("neighbours", min(len(ids), start + QUERY_BATCH), len(ids))

    forbidden: list[set[int]] = [set() for _ in ids]
    apart: list[set[int]] = [set() for _ in ids]
    in_picture = store.groups_of_pictures(pictures)
    by_picture: dict[int, list[int]] = {}
    for i, picture in enumerate(pictures):
        forbidden[i] |= in_picture.get(picture, set())
        by_picture.setdefault(picture, []).append(i)
    for same in by_picture.values():
        for i in same:
            apart[i] |= set(same) - {i}
    links = [(a, b, kind) for a, b, kind in ctx.db.said.links() if a in index or b in index]
    partner_group = store.group_of_faces([f for a, b, _ in links for f in (a, b) if f not in index])
    for a, b, kind in links:
        for mine, other in ((a, b), (b, a)):
            if mine not in index:
                continue
            i = index[mine]
            if other in index and kind == "different":
                apart[i].add(index[other])
            elif other in index:
                neighbours[i].append((index[other], clustering.SAME_LINK_WEIGHT))
            elif other in partner_group:
                g = partner_group[other]
                if kind == "different":
                    forbidden[i].add(g)
                else:
                    neighbours[i].append(((0, g), clustering.SAME_LINK_WEIGHT))

    clock("grouping", 0, len(ids))
    labels = clustering.assign_new(neighbours, forbidden, apart)
    group = np.zeros(len(table), np.int64)
    members: dict[clustering.Label, list[int]] = {}
    for i, label in enumerate(labels):
        if label[0] == 0:
            group[eligible[i]] = label[1]
        else:
            members.setdefault(label, []).append(i)
    used = store.used_group_ids([ids[i] for m in members.values() for i in m])
    for faces in members.values():
        free = sorted(ids[i] for i in faces if ids[i] not in used)
        if free:  # else (a face that was a group's id, named, then detached): left for the next regroup
            for i in faces:
                group[eligible[i]] = free[0]
    state = np.where(matched > 0, MATCHED, np.where(~ok, GATED, np.where(group > 0, GROUPED, NEW))).astype(np.int8)
    clock("saving", 0, len(table))
    report.changed += store.save(table.ids, state, group, matched)
    report.faces += len(table)
    report.grouped += int((state == GROUPED).sum())
    report.matched += int((state == MATCHED).sum())
    report.gated += int((state == GATED).sum())
    report.groups = len(set(group[group > 0].tolist()))
    return report


# -- listing --------------------------------------------------------------------------------


def people_view(
    ctx: Context,
    min_faces: int | None = None,
    offset: int = 0,
    limit: int | None = None,
    hidden: bool = False,
    people: list[Person] | None = None,
) -> PeopleView:
    """The stored People view, as last updated: the registered people with the
    library photos where each appears (named or matched), then one page of the
    groups of at least `min_faces` faces (default `Settings.people_min_faces`),
    largest first, each with its size and its first `SAMPLE_FACES` faces.
    Hidden groups are left out (`hidden=True`: only they are listed). `people`:
    the registered people, when the caller read them already."""
    store = ctx.db.groups
    least = ctx.settings.people_min_faces if min_faces is None else min_faces
    total, page = store.page(least, offset, limit, SAMPLE_FACES, hidden=hidden)
    groups = [Group(g.id, g.faces, g.size, hidden) for g in page]
    everyone = ctx.db.people.people() if people is None else people
    ranked = sorted(everyone, key=lambda p: (-p.photos, p.name.casefold(), p.name))
    return PeopleView(groups, ranked, total, offset, least, ctx.db.said.hidden_count(least))
