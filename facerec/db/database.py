"""`Database`: one connection to the facerec database; `Stores`: the queries over it
for one embedder, which every use case gets (`Context.db`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg2.extensions

from facerec.config import Settings
from facerec.db.connection import Connection
from facerec.db.groups import GroupStore
from facerec.db.health import DatabaseHealth, check_health
from facerec.db.journal import JournalStore
from facerec.db.library import LibraryStore
from facerec.db.migrate import applied_migrations, migrate
from facerec.db.people import PeopleStore
from facerec.db.regions import RegionStore
from facerec.db.said import SaidStore
from facerec.db.stats import StatsStore


class Stores:
    """The database's queries, by table family, bound to one embedder (`model`, its
    vectors `dim` numbers long): `people` (registered people and their samples),
    `library` (indexed pictures and their faces, search), `groups` (the People
    view's groups), `said` (what the user said: same/different, not this person,
    hidden groups), `stats` (the counts), `journal` (changes to who is who, undo) and
    `regions` (names from and to photo metadata files: XMP regions, Takeout, Picasa).
    None of their methods takes the model: they are its."""

    def __init__(self, conn: Connection, model: str, dim: int) -> None:
        self.model = model
        self.dim = dim
        self.people = PeopleStore(conn, model, dim)
        self.library = LibraryStore(conn, model, dim)
        self.groups = GroupStore(conn, model, dim)
        self.said = SaidStore(conn, model)
        self.stats = StatsStore(conn, model)
        self.journal = JournalStore(conn)
        self.regions = RegionStore(conn, model)

    def health(self) -> DatabaseHealth:
        """Versions, a 128-d vector round trip and the schema's state (for `doctor`)."""
        return check_health(self.people.conn)


class Database:
    """The facerec database: one connection, its schema, and `stores(model, dim)`,
    the queries for one embedder.

    Open with `Database.open(settings)`, as a context manager; the embedded
    server stops when its last user (in any process) closes.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def stores(self, model: str, dim: int) -> Stores:
        """The queries for the embedder `model` (vectors of `dim` numbers)."""
        return Stores(self.conn, model, dim)

    @classmethod
    def open(
        cls, settings: Settings, migrate_schema: bool = True, on_message: Callable[[str], None] | None = None
    ) -> Database:
        """Connect (starting the embedded server if `DATABASE_URL` is unset) and
        bring the schema up to date. `on_message` hears the embedded server's
        notices ("setting up the database (first run)...")."""
        conn = Connection.open(settings, on_message)
        try:
            if migrate_schema:
                migrate(conn)
            conn.register_vector()
        except BaseException:
            conn.close()
            raise
        return cls(conn)

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        """A raw transaction (for tests and troubleshooting; facerec's own queries live in the stores)."""
        with self.conn.transaction() as cur:
            yield cur

    def migrate(self) -> list[str]:
        """Apply schema files not applied yet; returns their versions."""
        return migrate(self.conn)

    def applied_migrations(self) -> list[str]:
        return applied_migrations(self.conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
