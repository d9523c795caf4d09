"""Today's People grouping (before issue 13), kept to be measured against:
`bench/people_bench.py` runs it on the same data as the new one, and the
quality test compares both on the dev library.

What `people` did on every call (facerec 7abb285, facerec/usecases/grouping.py
and db/library.py): read every unnamed face (text vectors), drop those that
match a registered person, link every pair closer than `max_distance` with a
dense block of dot products (2048 x n floats at a time), Chinese Whispers in
pure Python, then store each face's group in `faces.cluster_id` (an UPDATE of
every face row, which also adds each row to the HNSW indexes again).

    python bench/legacy_grouping.py DATA_DIR   # the old command on that data directory
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/legacy_grouping.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from psycopg2.extras import execute_values

from facerec.db.rows import vector
from facerec.usecases.context import Context
from facerec.usecases.library.search import known_as

MAX_DISTANCE = 0.5


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


def unnamed_faces(ctx: Context) -> tuple[list[int], list[int], np.ndarray]:
    """Ids, picture ids and embeddings of library faces not attached to anyone (the old query)."""
    with ctx.database.conn.transaction() as cur:
        cur.execute(
            "SELECT f.id, f.picture_id, f.embedding FROM faces f JOIN pictures p ON p.id = f.picture_id"
            " WHERE f.model = %s AND f.person_id IS NULL AND p.indexed_at IS NOT NULL ORDER BY f.id",
            (ctx.spec.name,),
        )
        rows = cur.fetchall()
    ids = [int(r[0]) for r in rows]
    pictures = [int(r[1]) for r in rows]
    vectors = np.stack([vector(r[2]) for r in rows]) if rows else np.zeros((0, 0), np.float32)
    return ids, pictures, vectors


def links(ctx: Context) -> list[tuple[int, int, str]]:
    with ctx.database.conn.transaction() as cur:
        cur.execute("SELECT face_a, face_b, kind FROM face_links")
        return [(int(a), int(b), k) for a, b, k in cur.fetchall()]


def set_clusters(ctx: Context, assignment: dict[int, int]) -> None:
    """The old store: every face's group in faces.cluster_id (a column facerec dropped in
    schema version 8: the bench's own scratch database gets it back, to measure the old cost)."""
    with ctx.database.conn.transaction() as cur:
        cur.execute("ALTER TABLE faces ADD COLUMN IF NOT EXISTS cluster_id bigint")
        cur.execute("UPDATE faces SET cluster_id = NULL WHERE model = %s AND cluster_id IS NOT NULL", (ctx.spec.name,))
        if assignment:
            execute_values(
                cur,
                "UPDATE faces f SET cluster_id = v.cluster FROM (VALUES %s) AS v(id, cluster) WHERE f.id = v.id",
                list(assignment.items()),
                page_size=5000,
            )


def legacy_groups(ctx: Context, max_distance: float = MAX_DISTANCE, store: bool = True) -> dict[int, int]:
    """The old `regroup`: face id -> group id for every unnamed face not matching a registered person."""
    ids, pictures, vectors = unnamed_faces(ctx)
    keep = [i for i, name in enumerate(known_as(ctx, ids, vectors)) if name is None]
    ids, pictures = [ids[i] for i in keep], [pictures[i] for i in keep]
    vectors = vectors[keep] if keep else vectors[:0]
    assignment = group_faces(ids, vectors, links(ctx), max_distance, pictures)
    if store:
        set_clusters(ctx, assignment)
    return assignment


def main(argv: Sequence[str]) -> int:
    from bench.scale import bench_settings

    start = time.perf_counter()
    with Context(bench_settings(Path(argv[0]))) as ctx:
        assignment = legacy_groups(ctx)
    print(
        f"legacy people: {len(assignment)} faces in {len(set(assignment.values()))} groups, "
        f"{time.perf_counter() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
