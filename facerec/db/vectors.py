"""The one nearest-neighbour query: for a batch of query vectors, the k nearest
stored faces of one model each, in one round trip.

Vectors of different embedders share the untyped `faces.embedding` column;
the query names the model and casts to that model's dimension, which is how
the per-model partial HNSW indexes get used (`sql/001_initial.sql`):
`people_only` matches `faces_<model>_people_hnsw` (registered people's
faces), otherwise `faces_<model>_hnsw` (every face). Faces too small to
recognise (`faces.small`) are never returned: they match nobody. Callers add their own
columns and joins (fixed SQL of theirs, never values) around the `m` rows
(`m.id, m.picture_id, m.box, m.person_id, m.distance`) and the query's
1-based position `q.ord`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import psycopg2.extensions
from psycopg2 import sql


def knn_query(dim: int, columns: str, joins: str = "", people_only: bool = False) -> sql.Composed:
    """`SELECT q.ord, <columns> ... <joins> ORDER BY q.ord, m.distance`, with the
    parameters `knn_params` gives. `columns` and `joins` are fixed SQL text."""
    vt = sql.SQL("vector({})").format(sql.Literal(dim))
    people = sql.SQL(" AND f.person_id IS NOT NULL" if people_only else "")
    return sql.SQL(
        "SELECT q.ord, {columns}"
        " FROM unnest(%(vectors)s::vector[]) WITH ORDINALITY AS q(v, ord)"
        " CROSS JOIN LATERAL ("
        "   SELECT f.id, f.picture_id, f.box, f.person_id, f.embedding::{vt} <=> q.v::{vt} AS distance"
        "   FROM faces f WHERE f.model = %(model)s AND NOT f.small{people}"
        "   ORDER BY f.embedding::{vt} <=> q.v::{vt} LIMIT %(k)s"
        " ) m {joins}"
        " ORDER BY q.ord, m.distance"
    ).format(columns=sql.SQL(columns), joins=sql.SQL(joins), vt=vt, people=people)


def knn_params(model: str, vectors: Sequence[np.ndarray], k: int) -> dict[str, object]:
    return {"vectors": [np.asarray(v, np.float32) for v in vectors], "model": model, "k": k}


def set_search(cur: psycopg2.extensions.cursor, ef_search: int, iterative: bool = False) -> None:
    """HNSW settings for the rest of this transaction: `ef_search` candidates per
    query (more: better recall, slower), and with `iterative` pgvector goes on
    reading the index when filters drop rows (so a filter never starves a result)."""
    cur.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(ef_search),))
    if iterative:
        cur.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
