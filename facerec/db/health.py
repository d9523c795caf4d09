"""What `facerec doctor` asks of the database: versions, a 128-d vector round
trip (the query a CPU that lacks an instruction of the pgvector build dies on),
and how far the schema is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facerec.db.connection import Connection
from facerec.db.migrate import applied_migrations, schema_files
from facerec.db.rows import vector

PROBE_DIM = 128
"""The dimension of the round trip: SFace's (a 3-number vector passes where 128 crash)."""


@dataclass(frozen=True)
class DatabaseHealth:
    """The server's and pgvector's versions; whether a 128-d vector came back
    unchanged and its cosine distance to another was computed right; the schema
    versions applied and the ones this facerec ships."""

    server_version: str
    pgvector_version: str
    round_trip: bool
    distance_error: float
    schema_applied: list[str]
    schema_known: list[str]


def check_health(conn: Connection) -> DatabaseHealth:
    """Ask the server the questions above (a crash on the way raises `DatabaseCrashed`)."""
    rng = np.random.default_rng(128)
    a, b = (rng.standard_normal(PROBE_DIM).astype(np.float32) for _ in range(2))
    a /= np.linalg.norm(a)
    b /= np.linalg.norm(b)
    expected = 1.0 - float(np.dot(a, b))
    with conn.transaction() as cur:
        cur.execute("SHOW server_version")
        server = str(cur.fetchone()[0]).split()[0]
        cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cur.fetchone()
        cur.execute(
            "SELECT %(a)s::vector(128), %(a)s::vector(128) <=> %(b)s::vector(128)",
            {"a": a, "b": b},
        )
        back, distance = cur.fetchone()
    return DatabaseHealth(
        server_version=server,
        pgvector_version=str(row[0]) if row else "",
        round_trip=bool(np.array_equal(vector(back), a)),
        distance_error=abs(float(distance) - expected),
        schema_applied=applied_migrations(conn),
        schema_known=[p.stem for p in schema_files()],
    )
