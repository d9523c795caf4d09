"""Grouping the library's unnamed faces into likely persons, like the People
view of a photo app (`facerec.usecases.people` names, merges and splits them).

Grouping is Chinese Whispers (the algorithm dlib uses for face clustering)
over a graph whose edges join faces closer than `max_distance`. It needs no
number of groups and does not chain two people together through one
ambiguous face as easily as connected components do. What the user said is
kept as links between faces ('same' after a merge, 'different' after a
split) and every re-grouping obeys them. A group's id is the smallest face id
in it, so it stays the same while the group does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from facerec.types import FaceRow
from facerec.usecases.context import Context
from facerec.usecases.search import known_as

__all__ = ["Group", "PeopleView", "people_view", "regroup"]

MAX_DISTANCE = 0.5
"""Faces closer than this (cosine distance) are linked when grouping. Stricter
than the recognition threshold: a wrong link merges two people's groups."""

MIN_FACES = 2
"""Groups with fewer faces are not listed (a face seen once is not yet a person)."""


@dataclass(frozen=True)
class Group:
    """A group of unnamed faces that look like one person."""

    id: int
    faces: list[FaceRow]

    def as_json(self) -> dict[str, object]:
        return {
            "group": self.id,
            "faces": [{"face": f.face_id, "picture": f.picture, "box": f.box.as_list()} for f in self.faces],
        }


def similarity_edges(vectors: np.ndarray, max_distance: float, block: int = 2048) -> list[tuple[int, int, float]]:
    """(i, j, similarity) for every pair i < j of unit vectors closer than `max_distance`."""
    edges: list[tuple[int, int, float]] = []
    n = len(vectors)
    floor = 1.0 - max_distance
    for start in range(0, n, block):
        sims = vectors[start : start + block] @ vectors.T
        rows, cols = np.nonzero(sims >= floor)
        for r, c in zip(rows.tolist(), cols.tolist()):
            i = start + r
            if c > i:
                edges.append((i, c, float(sims[r, c])))
    return edges


def chinese_whispers(n: int, edges: Sequence[tuple[int, int, float]], iterations: int = 30, seed: int = 0) -> list[int]:
    """Label each of `n` nodes: every node repeatedly takes the label with the
    most edge weight among its neighbours. Deterministic for a given seed."""
    neighbours: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for i, j, w in edges:
        neighbours[i].append((j, w))
        neighbours[j].append((i, w))
    labels = list(range(n))
    rng = np.random.default_rng(seed)
    for _ in range(iterations):
        changed = False
        for node in rng.permutation(n).tolist():
            if not neighbours[node]:
                continue
            weight: dict[int, float] = defaultdict(float)
            for other, w in neighbours[node]:
                weight[labels[other]] += w
            best = min(weight, key=lambda label: (-weight[label], label))
            if best != labels[node]:
                labels[node] = best
                changed = True
        if not changed:
            break
    return labels


def group_faces(
    ids: Sequence[int],
    vectors: np.ndarray,
    links: Sequence[tuple[int, int, str]] = (),
    max_distance: float = MAX_DISTANCE,
    pictures: Sequence[int] | None = None,
) -> dict[int, int]:
    """face id -> group id (the smallest face id of its group), obeying the
    user's links. Faces of the same picture (`pictures[i]` is face i's) are
    never grouped together: one person appears once in a photo."""
    if not len(ids):
        return {}
    index = {face_id: i for i, face_id in enumerate(ids)}
    different = {(index[a], index[b]) for a, b, k in links if k == "different" and a in index and b in index}
    if pictures is not None:
        by_picture: dict[int, list[int]] = defaultdict(list)
        for i, picture in enumerate(pictures):
            by_picture[picture].append(i)
        different |= {(a, b) for same in by_picture.values() for a in same for b in same if a < b}
    different |= {(b, a) for a, b in different}
    edges = [e for e in similarity_edges(vectors, max_distance) if (e[0], e[1]) not in different]
    labels = chinese_whispers(len(ids), edges)

    # 'same' links join whole groups (union-find over labels).
    parent = {label: label for label in labels}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, kind in links:
        if kind == "same" and a in index and b in index:
            ra, rb = find(labels[index[a]]), find(labels[index[b]])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    labels = [find(label) for label in labels]

    # 'different' links win: eject the less connected face of a violating pair.
    strength: dict[int, float] = defaultdict(float)
    for i, j, w in edges:
        strength[i] += w
        strength[j] += w
    for i, j in sorted(different):
        if labels[i] == labels[j]:
            loser = i if strength[i] <= strength[j] else j
            labels[loser] = len(labels) + loser  # a label of its own

    members: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        members[label].append(i)
    out: dict[int, int] = {}
    for nodes in members.values():
        group_id = min(ids[i] for i in nodes)
        for i in nodes:
            out[ids[i]] = group_id
    return out


@dataclass(frozen=True)
class PeopleView:
    """The People view: groups of unnamed faces (largest first, at least
    `min_faces` each) and the registered people with their number of library
    photos where they are named."""

    groups: list[Group]
    named: list[tuple[str, int]]


def regroup(ctx: Context, max_distance: float = MAX_DISTANCE, min_faces: int = MIN_FACES) -> PeopleView:
    """Group the unnamed library faces again and store the result; returns the
    groups of at least `min_faces`, largest first. Faces that already match a
    registered person are not grouped: they are that person."""
    library = ctx.db.library
    ids, pictures, vectors = library.unnamed_faces(ctx.spec.name)
    keep = [i for i, name in enumerate(known_as(ctx, ids, vectors, pictures)) if name is None]
    ids, pictures = [ids[i] for i in keep], [pictures[i] for i in keep]
    vectors = vectors[keep] if keep else vectors[:0]
    assignment = group_faces(ids, vectors, library.links(), max_distance, pictures)
    library.set_clusters(ctx.spec.name, assignment)
    return people_view(ctx, min_faces)


def people_view(ctx: Context, min_faces: int = MIN_FACES) -> PeopleView:
    """The stored groups (as last computed), largest first, and the registered people."""
    groups = [Group(gid, faces) for gid, faces in ctx.db.library.groups(ctx.spec.name).items()]
    shown = sorted((g for g in groups if len(g.faces) >= min_faces), key=lambda g: (-len(g.faces), g.id))
    return PeopleView(shown, ctx.db.people.people_photo_counts())
