"""The grouping algorithm behind the People view, on arrays (no database):
a k-nearest-neighbour graph, Chinese Whispers over it, the user's
constraints, and group ids that stay the same from one run to the next.

- `knn_edges`: each face's `k` nearest faces closer than `max_distance`.
  Up to `EXACT_BELOW` faces they are computed exactly (blocks of dot
  products); above, from an in-process HNSW index (faiss), never from an
  n x n product. (pgvector's HNSW, queried through the batched LATERAL
  query, serves the incremental step, which asks for a few thousand faces;
  for all faces at once it is 10-20x slower: see docs/benchmarks.md.)
- `chinese_whispers`: every face repeatedly takes the label with the most
  edge weight among its neighbours (the algorithm dlib uses for faces),
  vectorized with numpy: half the faces at a time, only those whose
  neighbourhood changed.
- `apply_links`: 'same' links join whole groups, then 'different' pairs
  (the user's splits, and any two faces of one photo) win: the less
  connected face of a pair that ended up together leaves.
- `stable_ids`: a group keeps the id most of its faces had, if that id is
  the id of one of its faces; otherwise its id is its smallest face id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

K_NEIGHBOURS = 10
"""Neighbours asked for each face. Enough to link a face to the rest of its
person's group (the graph connects the rest). More is worse, not only slower:
on 100,000 synthetic faces (10 per identity) 20 neighbours gave BCubed
precision 0.968 (each face also reaches strangers within the distance), 10
gave 0.999, recall 0.998 both."""

EXACT_BELOW = 20_000
"""Libraries with fewer faces get exact neighbours (about a second at 20,000)."""

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 48
"""faiss HNSW parameters: on synthetic SFace-like faces at 100k, 95-97 % of the
true neighbours within the grouping distance are found (M 32 reaches 99 % at
twice the time); a missed neighbour rarely matters, the graph has the others.
An IVF index (faiss IndexIVFFlat, 16 of 1,264 lists probed) was 2x faster at
100k but grouped worse (BCubed precision 0.935)."""

CHUNK = 20_000
"""Faces added to, or searched in, the index per call (the progress steps)."""

Progress = Callable[[str, int, int], None]
"""`progress(phase, done, total)`."""


@dataclass(frozen=True)
class Edges:
    """An undirected weighted graph on nodes 0..n-1: each edge once, `a < b`;
    `w` is the cosine similarity (1 - distance)."""

    a: np.ndarray  # int64
    b: np.ndarray  # int64
    w: np.ndarray  # float32

    def __len__(self) -> int:
        return len(self.a)

    def without(self, pairs: np.ndarray) -> Edges:
        """These edges less the (a, b) rows of `pairs` (a < b), e.g. cannot-links."""
        if not len(pairs) or not len(self):
            return self
        n = int(max(self.a.max(), self.b.max(), pairs.max())) + 1
        drop = np.isin(self.a * n + self.b, pairs[:, 0] * n + pairs[:, 1])
        return Edges(self.a[~drop], self.b[~drop], self.w[~drop])


def _undirected(rows: np.ndarray, cols: np.ndarray, sims: np.ndarray) -> Edges:
    """Unique undirected edges from directed (row -> col) neighbour pairs (the larger weight of twins)."""
    keep = rows != cols
    rows, cols, sims = rows[keep], cols[keep], sims[keep]
    a, b = np.minimum(rows, cols), np.maximum(rows, cols)
    if not len(a):
        return Edges(a.astype(np.int64), b.astype(np.int64), sims.astype(np.float32))
    n = int(b.max()) + 1
    key = a.astype(np.int64) * n + b
    order = np.lexsort((-sims, key))
    key, sims = key[order], sims[order]
    first = np.r_[True, key[1:] != key[:-1]]
    key, sims = key[first], sims[first]
    return Edges(key // n, key % n, sims.astype(np.float32))


def knn_edges(
    vectors: np.ndarray,
    max_distance: float,
    k: int = K_NEIGHBOURS,
    threads: int | None = None,
    progress: Progress | None = None,
) -> Edges:
    """Each face's `k` nearest faces (unit vectors, cosine) closer than
    `max_distance`, as an undirected graph (an edge if either face is among
    the other's neighbours)."""
    n = len(vectors)
    if n < 2:
        return Edges(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    k = min(k + 1, n)  # each face finds itself first
    vectors = np.ascontiguousarray(vectors, np.float32)
    if n < EXACT_BELOW:
        rows, cols, sims = _exact_knn(vectors, k, progress)
    else:
        rows, cols, sims = _hnsw_knn(vectors, k, threads, progress)
    close = sims >= 1.0 - max_distance
    return _undirected(rows[close], cols[close], sims[close])


def _exact_knn(vectors: np.ndarray, k: int, progress: Progress | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(vectors)
    rows, cols, sims = [], [], []
    block = 2048
    for start in range(0, n, block):
        s = vectors[start : start + block] @ vectors.T
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        rows.append(np.repeat(np.arange(start, start + len(s)), k))
        cols.append(top.ravel())
        sims.append(np.take_along_axis(s, top, axis=1).ravel())
        if progress:
            progress("neighbours", min(n, start + block), n)
    return np.concatenate(rows), np.concatenate(cols).astype(np.int64), np.concatenate(sims)


def _hnsw_knn(
    vectors: np.ndarray, k: int, threads: int | None, progress: Progress | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import faiss  # imported here: only large libraries need it

    if threads:
        faiss.omp_set_num_threads(threads)
    n, dim = vectors.shape
    index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    for start in range(0, n, CHUNK):
        index.add(vectors[start : start + CHUNK])
        if progress:
            progress("index", min(n, start + CHUNK), n)
    index.hnsw.efSearch = max(HNSW_EF_SEARCH, k)
    found_cols = np.empty((n, k), np.int64)
    found_sims = np.empty((n, k), np.float32)
    for start in range(0, n, CHUNK):
        d, i = index.search(vectors[start : start + CHUNK], k)
        found_sims[start : start + len(d)], found_cols[start : start + len(d)] = d, i
        if progress:
            progress("neighbours", min(n, start + CHUNK), n)
    del index
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    cols, sims = found_cols.ravel(), found_sims.ravel()
    found = cols >= 0  # faiss pads with -1 when it finds fewer than k
    return rows[found], cols[found], sims[found]


def chinese_whispers(n: int, edges: Edges, iterations: int = 30, seed: int = 0) -> np.ndarray:
    """A label for each of `n` nodes (a node's label is the index of some node).

    Each round visits the nodes in two random halves; every node of a half
    takes the label with the most edge weight among its neighbours (ties: the
    smallest label), all at once, and the next half sees the result. Only
    nodes next to a change are visited again. Deterministic for a seed.
    """
    labels = np.arange(n, dtype=np.int64)
    if not len(edges):
        return labels
    src = np.concatenate([edges.a, edges.b]).astype(np.int32)  # int32: half the memory at 1M faces
    dst = np.concatenate([edges.b, edges.a]).astype(np.int32)
    weight = np.concatenate([edges.w, edges.w])
    rng = np.random.default_rng(seed)
    dirty = np.zeros(n, bool)
    dirty[src] = True
    for _ in range(iterations):
        half = rng.random(n) < 0.5
        changed_any = False
        for part in (half, ~half):
            visit = part & dirty
            chosen = visit[src]
            if not chosen.any():
                continue
            node, label, w = src[chosen].astype(np.int64), labels[dst[chosen]], weight[chosen]
            key = node * n + label
            uniq, inverse = np.unique(key, return_inverse=True)
            total = np.bincount(inverse, weights=w)
            u_node, u_label = uniq // n, uniq % n
            order = np.lexsort((u_label, -total, u_node))
            u_node, u_label = u_node[order], u_label[order]
            first = np.r_[True, u_node[1:] != u_node[:-1]]
            best_node, best_label = u_node[first], u_label[first]
            moved = labels[best_node] != best_label
            labels[best_node] = best_label
            dirty[visit] = False
            if moved.any():
                changed_any = True
                changed = np.zeros(n, bool)
                changed[best_node[moved]] = True
                dirty[dst[changed[src]]] = True
        if not changed_any and not dirty.any():
            break
    return labels


def cannot_link_pairs(pictures: np.ndarray, different: np.ndarray) -> np.ndarray:
    """(i, j), i < j, for every two nodes of one picture and every 'different'
    pair (rows of node indices), without repeats."""
    order = np.argsort(pictures, kind="stable")
    order_pictures = pictures[order]
    pairs = [different.reshape(-1, 2)]
    # Pictures with 2+ faces: every pair of their faces (a photo holds a handful of faces).
    starts = np.flatnonzero(np.r_[True, order_pictures[1:] != order_pictures[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    for size in np.unique(sizes[sizes > 1]):
        at = starts[sizes == size]
        members = order[at[:, None] + np.arange(size)]  # (pictures, size)
        i, j = np.triu_indices(size, 1)
        pairs.append(np.stack([members[:, i].ravel(), members[:, j].ravel()], axis=1))
    out = np.concatenate(pairs).astype(np.int64)
    if not len(out):
        return out.reshape(0, 2)
    out = np.sort(out, axis=1)
    return np.unique(out, axis=0)


def apply_links(labels: np.ndarray, edges: Edges, same: np.ndarray, different: np.ndarray) -> np.ndarray:
    """`labels` with the user's links obeyed: each 'same' pair (node indices)
    joins the two groups; then in each 'different' pair still together, the
    face with less edge weight leaves for a label of its own."""
    labels = labels.copy()
    n = len(labels)
    if len(same):
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for i, j in same.tolist():
            ri, rj = find(int(labels[i])), find(int(labels[j]))
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
        if parent:
            roots = {label: find(label) for label in list(parent)}
            keys = np.fromiter(roots.keys(), np.int64)
            values = np.fromiter(roots.values(), np.int64)
            hit = np.isin(labels, keys)
            labels[hit] = _lookup(keys, values, labels[hit])
    if len(different):
        strength = np.bincount(edges.a, weights=edges.w, minlength=n) + np.bincount(
            edges.b, weights=edges.w, minlength=n
        )
        fresh = n  # labels n, n+1, ... are new single-face groups
        while True:
            i, j = different[:, 0], different[:, 1]
            together = labels[i] == labels[j]
            if not together.any():
                break
            i, j = i[together], j[together]
            loser = np.where(strength[i] <= strength[j], i, j)
            loser = np.unique(loser)
            labels[loser] = fresh + np.arange(len(loser))
            fresh += len(loser)
    return labels


def _lookup(keys: np.ndarray, values: np.ndarray, x: np.ndarray) -> np.ndarray:
    order = np.argsort(keys)
    return values[order][np.searchsorted(keys[order], x)]


def stable_ids(ids: np.ndarray, labels: np.ndarray, old_group: np.ndarray) -> np.ndarray:
    """The group id of each face (`ids` sorted ascending, a label each, its
    previous group id or 0): for each label, the previous id most of its faces
    carry, if that id is one of its faces' ids (ties: the smaller); otherwise
    its smallest face id. Ids are face ids of the group, so never shared."""
    n = len(ids)
    if not n:
        return np.zeros(0, np.int64)
    _, label = np.unique(labels, return_inverse=True)
    smallest = np.full(label.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(smallest, label, ids)
    out = smallest[label]
    pos = np.clip(np.searchsorted(ids, old_group), 0, n - 1)
    valid = (old_group > 0) & (ids[pos] == old_group) & (label[pos] == label)
    if valid.any():
        key_label, key_old = label[valid], old_group[valid]
        pairs, counts = np.unique(np.stack([key_label, key_old], axis=1), axis=0, return_counts=True)
        order = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))
        pairs = pairs[order]
        first = np.r_[True, pairs[1:, 0] != pairs[:-1, 0]]
        chosen = np.zeros(label.max() + 1, np.int64)
        chosen[pairs[first, 0]] = pairs[first, 1]
        inherit = chosen[label] > 0
        out = np.where(inherit, chosen[label], out)
    return out.astype(np.int64)


def group(
    ids: np.ndarray,
    vectors: np.ndarray,
    pictures: np.ndarray,
    links: Sequence[tuple[int, int, str]] = (),
    max_distance: float = 0.5,
    old_group: np.ndarray | None = None,
    k: int = K_NEIGHBOURS,
    progress: Progress | None = None,
) -> np.ndarray:
    """The group id of each face (`ids` ascending), obeying the user's links;
    two faces of one picture are never in one group."""
    n = len(ids)
    if not n:
        return np.zeros(0, np.int64)
    same, different = _link_pairs(ids, links)
    cannot = cannot_link_pairs(pictures, different)
    edges = knn_edges(vectors, max_distance, k, progress=progress).without(cannot)
    if progress:
        progress("grouping", 0, 1)
    labels = chinese_whispers(n, edges)
    labels = apply_links(labels, edges, same, cannot)
    if progress:
        progress("grouping", 1, 1)
    return stable_ids(ids, labels, old_group if old_group is not None else np.zeros(n, np.int64))


def _link_pairs(ids: np.ndarray, links: Sequence[tuple[int, int, str]]) -> tuple[np.ndarray, np.ndarray]:
    """The links between faces in `ids`, as (i, j) node index pairs: ('same', 'different')."""
    out: dict[str, list[tuple[int, int]]] = {"same": [], "different": []}
    if links:
        arr = np.array([(a, b) for a, b, _ in links], np.int64)
        kinds = [k for _, _, k in links]
        pos = np.clip(np.searchsorted(ids, arr), 0, len(ids) - 1)
        inside = (ids[pos] == arr).all(axis=1)
        for (i, j), kind, ok in zip(pos.tolist(), kinds, inside.tolist()):
            if ok and i != j and kind in out:
                out[kind].append((min(i, j), max(i, j)))
    return tuple(np.array(out[k], np.int64).reshape(-1, 2) for k in ("same", "different"))  # type: ignore[return-value]


Label = tuple[int, int]
"""A label in `assign_new`: (0, group id) for a stored group; (1, i) or (2, i)
for a new group started by new face i."""

SAME_LINK_WEIGHT = 10.0
"""Edge weight of a 'same' link in `assign_new`: stronger than any similarity."""


def assign_new(
    neighbours: Sequence[Sequence[tuple[Label | int, float]]],
    forbidden: Sequence[set[int]],
    apart: Sequence[set[int]],
    iterations: int = 30,
) -> list[Label]:
    """Labels for new faces 0..n-1 next to stored groups, which do not change
    (Chinese Whispers with the stored labels fixed, in face order).

    `neighbours[i]`: (a stored group's label, or the index of another new
    face; weight) pairs. `forbidden[i]`: stored groups face i may not join
    (they hold a face of its photo, or one the user said is someone else).
    `apart[i]`: new faces it may not share a group with. A face with no
    allowed neighbour starts a group of its own.
    """
    n = len(neighbours)
    labels: list[Label] = [(1, i) for i in range(n)]
    for _ in range(iterations):
        changed = False
        for i in range(n):
            blocked = {labels[j] for j in apart[i]}
            weight: dict[Label, float] = {}
            for other, w in neighbours[i]:
                label = labels[other] if isinstance(other, int) else other
                if label in blocked or (label[0] == 0 and label[1] in forbidden[i]):
                    continue
                weight[label] = weight.get(label, 0.0) + w
            if weight:
                best = min(weight, key=lambda label: (-weight[label], label))
            else:
                best = (1, i) if (1, i) not in blocked else (2, i)
            if best != labels[i]:
                labels[i] = best
                changed = True
        if not changed:
            break
    return labels
