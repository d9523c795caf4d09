"""The schema: the ordered `NNN_*.sql` files (the top-level `sql/` folder, packaged
into `facerec/db/sql/` in a wheel), applied in order and recorded in
`schema_migrations`. Never edit an applied file: add a new numbered one."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg2
import psycopg2.extensions

from facerec.db.connection import Connection, first_line
from facerec.errors import DatabaseError
from facerec.resources import sql_dir

log = logging.getLogger(__name__)

MIGRATION_LOCK = 7_425_001
"""pg_advisory_xact_lock key for schema changes (and, with a second key, for `reembed`)."""


def schema_files() -> list[Path]:
    """The schema files, in the order they apply."""
    return sorted(sql_dir().glob("[0-9][0-9][0-9]_*.sql"))


def migrate(conn: Connection) -> list[str]:
    """Apply the schema files not yet recorded in `schema_migrations`, in order.

    Safe to run from several processes at once (an advisory lock serialises
    them) and to run again (nothing is applied twice). Returns the versions applied.
    """
    applied_now: list[str] = []
    with conn.transaction() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        try:
            cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg2.Error as exc:
            raise DatabaseError(
                f"the pgvector extension is not available on this server ({first_line(exc)}); "
                "install pgvector there, or unset DATABASE_URL to use the embedded database"
            ) from None
        _update_pgvector(cur)
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in cur.fetchall()}
        for path in schema_files():
            version = path.stem
            if version in done:
                continue
            log.info("applying schema migration %s", version)
            cur.execute(path.read_text(encoding="utf-8"))
            cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
            applied_now.append(version)
    return applied_now


def _update_pgvector(cur: psycopg2.extensions.cursor) -> None:
    """Bring the extension's SQL objects up to the installed pgvector (a database made
    by an older bundle: 0.8.2 -> 0.8.6), when this role may; the old ones keep working
    otherwise, so a server where it may not (DATABASE_URL) is left as it is."""
    cur.execute("SELECT default_version, installed_version FROM pg_available_extensions WHERE name = 'vector'")
    row = cur.fetchone()
    if row is None or row[0] == row[1]:
        return
    cur.execute("SAVEPOINT pgvector_update")
    try:
        cur.execute("ALTER EXTENSION vector UPDATE")
        cur.execute("RELEASE SAVEPOINT pgvector_update")
        log.info("pgvector's SQL objects updated from %s to %s", row[1], row[0])
    except psycopg2.Error as exc:
        cur.execute("ROLLBACK TO SAVEPOINT pgvector_update")
        log.info("pgvector %s is installed but its SQL objects stay at %s: %s", row[0], row[1], first_line(exc))


def applied_migrations(conn: Connection) -> list[str]:
    """The versions recorded in `schema_migrations`, in order."""
    with conn.transaction() as cur:
        cur.execute("SELECT version FROM schema_migrations ORDER BY version")
        return [row[0] for row in cur.fetchall()]
