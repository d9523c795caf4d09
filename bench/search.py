"""Searching the benchmark database: top-5 through the HNSW index, exact top-5, filtered top-5.

The SQL repeats the product's expression and predicate
(`embedding::vector(128) <=> q ... WHERE model = 'sface'`), which is what lets
PostgreSQL use the partial index `faces_sface_hnsw`. Latency is one round trip
from psycopg2 over the Unix socket, in autocommit mode, as an application sees it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import psycopg2.extensions
from psycopg2 import sql

from bench.loading import MODEL

INDEX = "faces_sface_hnsw"
K = 5
ITERATIVE_MODES = ("off", "relaxed_order", "strict_order")

_DISTANCE = "f.embedding::vector({dim}) <=> %(q)s::vector({dim})"
TOP_K_SQL = (
    "SELECT f.id, " + _DISTANCE + " AS distance FROM faces f WHERE f.model = %(model)s"
    " ORDER BY " + _DISTANCE + " LIMIT %(k)s"
)
# Faces in pictures under one folder: the filter the HNSW index cannot apply itself.
FILTERED_SQL = (
    "SELECT f.id, " + _DISTANCE + " AS distance FROM faces f JOIN pictures p ON p.id = f.picture_id"
    " WHERE f.model = %(model)s AND p.picture LIKE %(prefix)s"
    " ORDER BY " + _DISTANCE + " LIMIT %(k)s"
)


@dataclass(frozen=True)
class Search:
    """How to run a top-k query.

    `ef_search`: HNSW candidate list size (pgvector default 40). Higher: better recall, slower.
    `exact`: index scans off, so PostgreSQL compares the query with every face (the ground truth).
    `iterative`: pgvector 0.8 iterative scan, 'off', 'relaxed_order' or 'strict_order'. With a
    filter, 'off' returns only the matches among the first `ef_search` candidates, often fewer than k.
    `force_index`: forbid explicit sorts (`enable_sort = off`) so that the planner must take rows in
    distance order from the HNSW index. Under about 5,000 faces the planner rather reads them all
    and sorts (exact, and fast at that size), and with a selective filter it rather sorts the few
    matching rows; forcing shows what the index itself does there.
    """

    ef_search: int = 40
    exact: bool = False
    iterative: str = "off"
    force_index: bool = False

    def settings(self) -> dict[str, str]:
        """Session settings (SET name = value) for this search."""
        out = {
            "hnsw.ef_search": str(self.ef_search),
            "hnsw.iterative_scan": self.iterative,
            "enable_indexscan": "off" if self.exact else "on",
            "enable_sort": "off" if self.force_index else "on",
        }
        return out


@dataclass(frozen=True)
class Run:
    """Results of one query per vector: ids nearest first, distances, and latency in milliseconds."""

    ids: list[list[int]]
    distances: list[list[float]]
    latency_ms: np.ndarray

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latency_ms, q))

    @property
    def rows(self) -> np.ndarray:
        return np.array([len(r) for r in self.ids])


@contextmanager
def session(conn: psycopg2.extensions.connection, search: Search) -> Iterator[psycopg2.extensions.cursor]:
    """A cursor in autocommit mode with `search`'s settings; puts the settings back afterwards."""
    conn.commit()
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for name, value in search.settings().items():
                cur.execute("SELECT set_config(%s, %s, false)", (name, value))
            try:
                yield cur
            finally:
                cur.execute("RESET ALL")
    finally:
        conn.autocommit = False


def _query(dim: int, filtered: bool) -> sql.SQL:
    return sql.SQL((FILTERED_SQL if filtered else TOP_K_SQL).format(dim=int(dim)))


def _params(vector: np.ndarray, k: int, model: str, prefix: str | None) -> dict[str, object]:
    params: dict[str, object] = {"q": np.asarray(vector, np.float32), "k": k, "model": model}
    if prefix is not None:
        params["prefix"] = prefix + "%"
    return params


def run_queries(
    conn: psycopg2.extensions.connection,
    vectors: np.ndarray,
    search: Search,
    prefixes: Sequence[str] | None = None,
    k: int = K,
    model: str = MODEL,
) -> Run:
    """One top-`k` query per vector (filtered to pictures under `prefixes[i]` if given), timed one by one."""
    query = _query(vectors.shape[1], prefixes is not None)
    ids: list[list[int]] = []
    distances: list[list[float]] = []
    latency = np.empty(len(vectors))
    with session(conn, search) as cur:
        for i, vector in enumerate(vectors):
            params = _params(vector, k, model, None if prefixes is None else prefixes[i])
            start = time.perf_counter()
            cur.execute(query, params)
            rows = cur.fetchall()
            latency[i] = (time.perf_counter() - start) * 1000
            ids.append([int(r[0]) for r in rows])
            distances.append([float(r[1]) for r in rows])
    return Run(ids, distances, latency)


def explain(
    conn: psycopg2.extensions.connection,
    vector: np.ndarray,
    search: Search,
    prefix: str | None = None,
    k: int = K,
    model: str = MODEL,
) -> str:
    """The plan PostgreSQL picks for one query under `search`'s settings."""
    with session(conn, search) as cur:
        cur.execute(sql.SQL("EXPLAIN ") + _query(len(vector), prefix is not None), _params(vector, k, model, prefix))
        return "\n".join(r[0] for r in cur.fetchall())


def uses_index(plan: str, index: str = INDEX) -> bool:
    """True if `plan` scans the HNSW index."""
    return re.search(rf"Index Scan using {re.escape(index)}\b", plan) is not None


def recall(found: Sequence[Sequence[int]], truth: Sequence[Sequence[int]]) -> float:
    """Mean share of the true nearest faces that were found (recall@k, k = len of each truth list).

    Queries whose truth is empty count as 1. 0.99 means 1 in 100 true neighbours is missed.
    """
    scores = [len(set(f) & set(t)) / len(t) if t else 1.0 for f, t in zip(found, truth)]
    return float(np.mean(scores)) if scores else float("nan")
