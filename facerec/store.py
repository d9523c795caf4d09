"""All SQL lives here: connecting, migrating, and reading/writing people,
pictures and faces in PostgreSQL + pgvector.

Vectors of different embedders share the `faces.embedding` column; every
query names the model and casts to that model's dimension, which is how the
per-model partial HNSW indexes get used (see `sql/001_initial.sql`).
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import psycopg2
import psycopg2.errors
import psycopg2.extensions
from pgvector.psycopg2 import register_vector
from psycopg2 import sql

from facerec.config import Settings
from facerec.embedded import EmbeddedServer
from facerec.errors import (
    DatabaseConflict,
    DatabaseError,
    InvalidNameError,
    PersonExistsError,
    PersonNotFoundError,
)
from facerec.modelfiles import PROJECT_DIR
from facerec.types import Box, Candidate, Face, Person

log = logging.getLogger(__name__)

SQL_DIR = PROJECT_DIR / "sql"
CONNECT_TIMEOUT_S = 5
RECONNECT_S = 20.0
"""How long a lost connection is tried again (a server restart takes a few seconds)."""
RETRY_ATTEMPTS = 5
"""How many times a transaction aborted by a deadlock or a dropped connection is run."""

T = TypeVar("T")
_MIGRATION_LOCK = 7_425_001  # pg_advisory_xact_lock key for schema changes


@dataclass(frozen=True)
class Sample:
    """One face to store as a registration sample of a person."""

    picture: str
    source: str  # 'file' or 'capture'
    sha256: str | None
    width: int
    height: int
    face: Face
    embedding: np.ndarray
    model: str
    crop: str | None = None
    size: int | None = None
    mtime: float | None = None


def face_values(model: str, face: Face, embedding: np.ndarray) -> tuple[object, ...]:
    """The (model, box, landmarks, score, embedding) column values of a face row."""
    landmarks = None if face.landmarks is None else face.landmarks.reshape(-1).tolist()
    return (model, face.box.as_list(), landmarks, face.score, np.asarray(embedding, np.float32))


@dataclass(frozen=True)
class StoredSamples:
    """What `add_samples` did: the person, the faces added (not counting samples
    already stored), and the new crop files no face refers to (samples already stored)."""

    person_id: int
    added: int
    unused_files: list[str]


def describe_url(url: str) -> str:
    """`user@host:port/db` for messages: never the password."""
    try:
        p = psycopg2.extensions.parse_dsn(url)
    except psycopg2.ProgrammingError:
        return "the DATABASE_URL server (unparseable URL)"
    host = p.get("host", "localhost")
    port = f":{p['port']}" if "port" in p else ""
    user = f"{p['user']}@" if "user" in p else ""
    return f"{user}{host}{port}/{p.get('dbname', '')}"


def _redact(message: str, url: str) -> str:
    """Remove the password of `url` from `message`, whatever the driver put in it."""
    try:
        password = psycopg2.extensions.parse_dsn(url).get("password")
    except psycopg2.ProgrammingError:
        password = None
    if password:
        message = message.replace(password, "***")
    return re.sub(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@", r"\1***@", message)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Store:
    """A connection to the facerec database. Use `Store.open(settings)` as a context manager."""

    def __init__(
        self,
        conn: psycopg2.extensions.connection,
        server: EmbeddedServer | None = None,
        connect: Callable[[], psycopg2.extensions.connection] | None = None,
    ) -> None:
        self.conn = conn
        self._server = server
        self._connect = connect

    # -- connection ---------------------------------------------------------

    @classmethod
    def open(cls, settings: Settings, migrate: bool = True) -> Store:
        """Connect (starting the embedded server if `DATABASE_URL` is unset) and bring the schema up to date."""
        server = None
        if settings.database_url:
            url = settings.database_url
            where = describe_url(url)

            def connect() -> psycopg2.extensions.connection:
                try:
                    return psycopg2.connect(url, connect_timeout=CONNECT_TIMEOUT_S, application_name="facerec")
                except psycopg2.OperationalError as exc:
                    raise DatabaseError(f"cannot connect to {where}: {_redact(_first_line(exc), url)}") from None
                except psycopg2.ProgrammingError as exc:
                    detail = _redact(_first_line(exc), url)
                    raise DatabaseError(f"DATABASE_URL is not a valid connection string: {detail}") from None

        else:
            server = EmbeddedServer(settings.data_dir)
            info = server.acquire()

            def connect() -> psycopg2.extensions.connection:
                try:
                    return psycopg2.connect(
                        host=info.host,
                        port=info.port,
                        user=info.user,
                        dbname=info.dbname,
                        connect_timeout=CONNECT_TIMEOUT_S,
                        application_name="facerec",
                    )
                except psycopg2.OperationalError as exc:
                    raise DatabaseError(f"cannot connect to the embedded database: {_first_line(exc)}") from None

        try:
            conn = connect()
        except BaseException:
            if server is not None:
                server.release()
            raise
        store = cls(conn, server, connect)
        try:
            if migrate:
                store.migrate()
            register_vector(conn)
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        """Close the connection; the embedded server stops when its last user closes."""
        try:
            self.conn.close()
        finally:
            if self._server is not None:
                self._server.release()
                self._server = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor whose statements commit together, or not at all.

        A connection found closed (the server restarted since the last
        transaction) is opened again first. `DatabaseConflict` means
        PostgreSQL aborted the transaction to break a deadlock; `retrying`
        runs such work again.
        """
        if self.conn.closed:
            self._reconnect()
        try:
            with self.conn:
                with self.conn.cursor() as cur:
                    yield cur
        except psycopg2.extensions.TransactionRollbackError as exc:
            raise DatabaseConflict(
                f"the database aborted a change that collided with another facerec process ({_first_line(exc)}); "
                "nothing was written, run it again"
            ) from None
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            raise DatabaseError(f"database connection lost: {_first_line(exc)}") from None
        except UnicodeEncodeError:
            # A parameter with undecodable bytes: a name typed (or a file named) in another encoding.
            raise InvalidNameError("a name must be valid UTF-8 text") from None

    def retrying(self, work: Callable[[psycopg2.extensions.cursor], T], attempts: int = RETRY_ATTEMPTS) -> T:
        """`work(cursor)` in one transaction, run again if PostgreSQL aborts it to
        break a deadlock with another process, or if the connection drops (the
        server restarted): then it reconnects first. `work` must be safe to run
        twice (the whole transaction is rolled back or was committed once)."""
        for attempt in range(1, attempts + 1):
            if self.conn.closed:
                self._reconnect()  # outside the `try`: a server that does not come back ends here
            try:
                with self.transaction() as cur:
                    return work(cur)
            except DatabaseConflict:
                if attempt == attempts:
                    raise
                log.info("transaction aborted by a conflict with another process; running it again")
                time.sleep(random.uniform(0.01, 0.1) * attempt)
            except DatabaseError:
                if not self.conn.closed or self._connect is None or attempt == attempts:
                    raise
                log.warning("database connection lost; reconnecting")
        raise AssertionError("unreachable")

    def _reconnect(self) -> None:
        """Open the connection again, trying for up to `RECONNECT_S` seconds."""
        if self._connect is None:
            raise DatabaseError("database connection lost")
        deadline = time.monotonic() + RECONNECT_S
        while True:
            try:
                conn = self._connect()
                register_vector(conn)
                break
            except (DatabaseError, psycopg2.Error) as exc:
                if time.monotonic() >= deadline:
                    raise DatabaseError(f"database connection lost, not back in {RECONNECT_S:.0f} s: {exc}") from None
                time.sleep(0.5)
        try:
            self.conn.close()
        except psycopg2.Error:
            pass
        self.conn = conn
        log.info("reconnected to the database")

    # -- schema -------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply the `sql/NNN_*.sql` files not yet recorded in `schema_migrations`, in order.

        Safe to run from several processes at once (an advisory lock serialises
        them) and to run again (nothing is applied twice). Returns the versions applied.
        """
        files = sorted(SQL_DIR.glob("[0-9][0-9][0-9]_*.sql"))
        applied_now: list[str] = []
        with self.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            try:
                cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except psycopg2.Error as exc:
                raise DatabaseError(
                    f"the pgvector extension is not available on this server ({_first_line(exc)}); "
                    "install pgvector there, or unset DATABASE_URL to use the embedded database"
                ) from None
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for path in files:
                version = path.stem
                if version in done:
                    continue
                log.info("applying schema migration %s", version)
                cur.execute(path.read_text(encoding="utf-8"))
                cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                applied_now.append(version)
        return applied_now

    def applied_migrations(self) -> list[str]:
        with self.transaction() as cur:
            cur.execute("SELECT version FROM schema_migrations ORDER BY version")
            return [row[0] for row in cur.fetchall()]

    # -- people -------------------------------------------------------------

    def find_person(self, name: str) -> int | None:
        with self.transaction() as cur:
            cur.execute("SELECT id FROM people WHERE name = %s", (name,))
            row = cur.fetchone()
        return None if row is None else int(row[0])

    def person_id(self, name: str) -> int:
        """The id of `name`, or `PersonNotFoundError`."""
        pid = self.find_person(name)
        if pid is None:
            raise PersonNotFoundError(f"no registered person named {name!r}")
        return pid

    def list_people(self, model: str) -> list[Person]:
        """Everyone, by name, with their number of samples for `model`."""
        with self.transaction() as cur:
            cur.execute(
                "SELECT p.id, p.name, count(f.id), p.created_at FROM people p"
                " LEFT JOIN faces f ON f.person_id = p.id AND f.model = %s"
                " GROUP BY p.id ORDER BY p.name",
                (model,),
            )
            return [Person(int(i), n, int(c), t) for i, n, c, t in cur.fetchall()]

    def get_person(self, name: str, model: str) -> Person:
        """One person with the pictures their samples come from."""
        pid = self.person_id(name)
        with self.transaction() as cur:
            cur.execute(
                "SELECT pic.picture FROM faces f JOIN pictures pic ON pic.id = f.picture_id"
                " WHERE f.person_id = %s AND f.model = %s ORDER BY f.id",
                (pid, model),
            )
            pictures = [row[0] for row in cur.fetchall()]
            cur.execute("SELECT created_at FROM people WHERE id = %s", (pid,))
            (created,) = cur.fetchone()
        return Person(pid, name, len(pictures), created, pictures)

    def add_samples(self, name: str, samples: Sequence[Sample], create: bool = True) -> StoredSamples:
        """Store `samples` as faces of `name` (created if new and `create`), all in one transaction.

        A picture already known (same path) is reused. A face already stored
        in it (same model, box overlapping by IoU >= 0.5) is not stored twice:
        an unnamed library face is attached to the person, and the person's
        own sample is kept, so registering the same photo again (e.g. after
        a run killed before it could report) adds nothing.
        """
        ordered = sorted(samples, key=lambda s: s.picture)  # rows locked in one order: no deadlock between processes

        def store(cur: psycopg2.extensions.cursor) -> StoredSamples:
            cur.execute("SELECT id FROM people WHERE name = %s FOR UPDATE", (name,))
            row = cur.fetchone()
            if row is None:
                if not create:
                    raise PersonNotFoundError(f"no registered person named {name!r}")
                cur.execute(
                    "INSERT INTO people (name) VALUES (%s) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name"
                    " RETURNING id",
                    (name,),
                )
                row = cur.fetchone()
            person_id = int(row[0])
            added, unused = 0, []
            for s in ordered:
                picture_id = self._upsert_picture(cur, s)
                found, spare_crop = self._reuse_stored_face(cur, picture_id, person_id, s)
                if spare_crop is not None:
                    unused.append(spare_crop)
                if found:
                    continue
                cur.execute(
                    "INSERT INTO faces (picture_id, person_id, model, box, landmarks, score, embedding, crop)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (picture_id, person_id, *face_values(s.model, s.face, s.embedding), s.crop),
                )
                added += 1
            return StoredSamples(person_id, added, unused)

        try:
            return self.retrying(store)
        except psycopg2.errors.CheckViolation:
            raise InvalidNameError(f"invalid name {name!r}") from None

    @staticmethod
    def _reuse_stored_face(
        cur: psycopg2.extensions.cursor, picture_id: int, person_id: int, s: Sample
    ) -> tuple[bool, str | None]:
        """If the picture already holds this face (same model, a box overlapping by
        IoU >= 0.5) as a sample of this person, or unnamed in the photo library,
        use that face (attached to the person; given this sample's crop if it
        has none) instead of storing a twin. Returns (done, this sample's crop
        if it was not needed: the face kept the crop it had, which rows of other
        models may share)."""
        cur.execute(
            "SELECT id, box, crop FROM faces WHERE picture_id = %s AND model = %s"
            " AND (person_id = %s OR person_id IS NULL) ORDER BY person_id NULLS LAST, id",
            (picture_id, s.model, person_id),
        )
        for face_id, box, crop in cur.fetchall():
            if Box(*box).iou(s.face.box) >= 0.5:
                cur.execute(
                    "UPDATE faces SET person_id = %s, crop = COALESCE(crop, %s), cluster_id = NULL WHERE id = %s",
                    (person_id, s.crop, face_id),
                )
                spare = s.crop if crop is not None and crop != s.crop else None
                return True, spare
        return False, None

    @staticmethod
    def _upsert_picture(cur: psycopg2.extensions.cursor, s: Sample) -> int:
        cur.execute(
            "INSERT INTO pictures (picture, source, sha256, size, mtime, width, height)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (picture) DO UPDATE SET sha256 = EXCLUDED.sha256"
            " RETURNING id",
            (s.picture, s.source, s.sha256, s.size, s.mtime, s.width, s.height),
        )
        return int(cur.fetchone()[0])

    def rename_person(self, old: str, new: str) -> None:
        """Rename; `PersonNotFoundError` / `PersonExistsError` as appropriate."""
        try:
            with self.transaction() as cur:
                cur.execute("UPDATE people SET name = %s WHERE name = %s", (new, old))
                if cur.rowcount == 0:
                    raise PersonNotFoundError(f"no registered person named {old!r}")
        except psycopg2.errors.UniqueViolation:
            raise PersonExistsError(f"a person named {new!r} already exists") from None

    def delete_person(self, name: str) -> list[str]:
        """Delete `name`, every face of theirs (all models), and the sample
        pictures left with no face. Returns the files (crops, captures) that
        belonged only to them, for the caller to remove."""
        with self.transaction() as cur:
            cur.execute("SELECT id FROM people WHERE name = %s FOR UPDATE", (name,))
            row = cur.fetchone()
            if row is None:
                raise PersonNotFoundError(f"no registered person named {name!r}")
            pid = int(row[0])
            cur.execute("SELECT DISTINCT crop FROM faces WHERE person_id = %s AND crop IS NOT NULL", (pid,))
            files = [r[0] for r in cur.fetchall()]
            cur.execute("SELECT DISTINCT picture_id FROM faces WHERE person_id = %s", (pid,))
            pictures = [r[0] for r in cur.fetchall()]
            cur.execute("DELETE FROM people WHERE id = %s", (pid,))  # faces cascade
            # Library photos stay (marked indexed, so they are not re-analysed);
            # registration-only pictures with no face left go.
            cur.execute(
                "DELETE FROM pictures pic WHERE pic.id = ANY(%s) AND pic.indexed_at IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.picture_id = pic.id)"
                " RETURNING picture, source",
                (pictures,),
            )
            files += [p for p, source in cur.fetchall() if source == "capture"]
        return files

    def referenced_files(self, names: Sequence[str]) -> set[str]:
        """The `names` (crop paths relative to the data directory, or capture
        pictures' absolute paths) that a stored face or picture still refers to."""
        with self.transaction() as cur:
            cur.execute(
                "SELECT crop FROM faces WHERE crop = ANY(%(names)s)"
                " UNION SELECT picture FROM pictures WHERE source = 'capture' AND picture = ANY(%(names)s)",
                {"names": list(names)},
            )
            return {row[0] for row in cur.fetchall()}

    # -- search -------------------------------------------------------------

    def nearest_people(self, model: str, dim: int, vectors: Sequence[np.ndarray], k: int = 20) -> list[list[Candidate]]:
        """For each query vector, the nearest registered people (best sample each), nearest first.

        One round trip for all vectors; each looks at its `k` nearest samples
        through the `faces_<model>_people_hnsw` index.
        """
        if not len(vectors):
            return []
        results: list[dict[int, Candidate]] = [{} for _ in vectors]
        with self.transaction() as cur:
            cur.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(max(40, 2 * k)),))
            cur.execute(self._nearest_people_sql(dim), self._nearest_people_params(model, vectors, k))
            for ord_, person_id, name, distance in cur.fetchall():
                best = results[ord_ - 1]
                if person_id not in best:  # rows come nearest first
                    best[person_id] = Candidate(int(person_id), name, float(distance))
        return [sorted(r.values(), key=lambda c: c.distance) for r in results]

    @staticmethod
    def _nearest_people_sql(dim: int) -> sql.Composed:
        vt = sql.SQL("vector({})").format(sql.Literal(dim))
        return sql.SQL(
            "SELECT q.ord, m.person_id, p.name, m.distance"
            " FROM unnest(%(vectors)s::vector[]) WITH ORDINALITY AS q(v, ord)"
            " CROSS JOIN LATERAL ("
            "   SELECT f.person_id, f.embedding::{vt} <=> q.v::{vt} AS distance"
            "   FROM faces f WHERE f.model = %(model)s AND f.person_id IS NOT NULL"
            "   ORDER BY f.embedding::{vt} <=> q.v::{vt} LIMIT %(k)s"
            " ) m JOIN people p ON p.id = m.person_id"
            " ORDER BY q.ord, m.distance"
        ).format(vt=vt)

    @staticmethod
    def _nearest_people_params(model: str, vectors: Sequence[np.ndarray], k: int) -> dict[str, object]:
        return {"vectors": [np.asarray(v, np.float32) for v in vectors], "model": model, "k": k}

    def explain_nearest_people(self, model: str, dim: int, vectors: Sequence[np.ndarray]) -> str:
        """The plan of the query `nearest_people` runs (for tests and troubleshooting)."""
        with self.transaction() as cur:
            cur.execute(
                sql.SQL("EXPLAIN ") + self._nearest_people_sql(dim), self._nearest_people_params(model, vectors, 20)
            )
            return "\n".join(r[0] for r in cur.fetchall())

    # -- re-embedding with another model (`reembed`) -------------------------

    def faces_to_reembed(self, model: str, after_id: int, limit: int) -> list[StoredFace]:
        """Stored faces that have no `model` vector yet, one per detected face (a
        face is its picture and box; the row of the lowest id stands for it),
        by id, after `after_id`. Page with the last id returned."""
        with self.transaction() as cur:
            cur.execute(
                "SELECT f.id, f.person_id, f.box, f.landmarks, f.score, f.crop, pic.picture, pic.source, pic.sha256"
                " FROM faces f JOIN pictures pic ON pic.id = f.picture_id"
                " WHERE f.model <> %(model)s AND f.id > %(after)s"
                " AND NOT EXISTS (SELECT 1 FROM faces g WHERE g.picture_id = f.picture_id AND g.box = f.box"
                "   AND (g.model = %(model)s OR g.id < f.id))"
                " ORDER BY f.id LIMIT %(limit)s",
                {"model": model, "after": after_id, "limit": limit},
            )
            rows = cur.fetchall()
        return [
            StoredFace(
                id=int(i),
                person_id=None if pid is None else int(pid),
                face=Face(
                    Box(*box),
                    float(score),
                    None if landmarks is None else np.asarray(landmarks, np.float32).reshape(5, 2),
                ),
                crop=crop,
                picture=picture,
                source=source,
                sha256=sha256,
            )
            for i, pid, box, landmarks, score, crop, picture, source, sha256 in rows
        ]

    def add_reembedded(self, model: str, vectors: Sequence[tuple[int, np.ndarray]]) -> int:
        """For each (stored face id, vector), a new `model` row copying that face's
        picture, person, box, landmarks, score and crop; all in one transaction.
        A face that already has a `model` vector is left alone (so running
        twice, or twice at once, adds nothing). Returns the rows added."""
        added = 0
        with self.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_MIGRATION_LOCK, model))
            for face_id, vector in vectors:
                cur.execute(
                    "INSERT INTO faces (picture_id, person_id, model, box, landmarks, score, embedding, crop)"
                    " SELECT f.picture_id, f.person_id, %(model)s, f.box, f.landmarks, f.score, %(v)s, f.crop"
                    " FROM faces f WHERE f.id = %(id)s AND NOT EXISTS ("
                    "   SELECT 1 FROM faces g WHERE g.picture_id = f.picture_id AND g.box = f.box"
                    "   AND g.model = %(model)s)",
                    {"model": model, "v": np.asarray(vector, np.float32), "id": face_id},
                )
                added += cur.rowcount
        return added


@dataclass(frozen=True)
class StoredFace:
    """A face already in the database, as `reembed` needs it: where its pixels
    are (`crop`, relative to the data directory, or the `picture` file) and
    where the face is in that picture."""

    id: int
    person_id: int | None
    face: Face
    crop: str | None
    picture: str
    source: str  # 'file' or 'capture' (then `picture` is the crop itself and `face` is in its pixels)
    sha256: str | None
