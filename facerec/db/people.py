"""Registered people: their samples, names, and the faces attached to them.

The queries behind register, users, `people name` / `merge` / `split` of a
person, and recognition (the nearest registered people of a batch of faces).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import psycopg2.errors
import psycopg2.extensions
from psycopg2 import sql

from facerec.db.connection import Connection
from facerec.db.rows import box as row_box
from facerec.db.rows import face_values, vector
from facerec.db.vectors import knn_params, knn_query, set_search
from facerec.errors import InvalidNameError, PersonExistsError, PersonNotFoundError
from facerec.types import Candidate, Face, Person


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


@dataclass(frozen=True)
class StoredSamples:
    """What `add_samples` did: the person, the faces added (not counting samples
    already stored), and the new crop files no face refers to (samples already stored)."""

    person_id: int
    added: int
    unused_files: list[str]


def _nearest_people_query(dim: int) -> sql.Composed:
    """Each query vector's nearest samples, with their person's name."""
    return knn_query(dim, "m.person_id, p.name, m.distance", "JOIN people p ON p.id = m.person_id", people_only=True)


class PeopleStore:
    """People queries over a `Connection`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- people -------------------------------------------------------------

    def find_person(self, name: str) -> int | None:
        with self.conn.transaction() as cur:
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
        with self.conn.transaction() as cur:
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
        with self.conn.transaction() as cur:
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
            return self.conn.retrying(store)
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
            if row_box(box).iou(s.face.box) >= 0.5:
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
            with self.conn.transaction() as cur:
                cur.execute("UPDATE people SET name = %s WHERE name = %s", (new, old))
                if cur.rowcount == 0:
                    raise PersonNotFoundError(f"no registered person named {old!r}")
        except psycopg2.errors.UniqueViolation:
            raise PersonExistsError(f"a person named {new!r} already exists") from None

    def delete_person(self, name: str) -> list[str]:
        """Delete `name`, every face of theirs (all models), and the sample
        pictures left with no face. Returns the files (crops, captures) that
        belonged only to them, for the caller to remove."""
        with self.conn.transaction() as cur:
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
        with self.conn.transaction() as cur:
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
        with self.conn.transaction() as cur:
            set_search(cur, max(40, 2 * k))
            cur.execute(_nearest_people_query(dim), knn_params(model, vectors, k))
            for ord_, person_id, name, distance in cur.fetchall():
                best = results[ord_ - 1]
                if person_id not in best:  # rows come nearest first
                    best[person_id] = Candidate(int(person_id), name, float(distance))
        return [sorted(r.values(), key=lambda c: c.distance) for r in results]

    def explain_nearest_people(self, model: str, dim: int, vectors: Sequence[np.ndarray]) -> str:
        """The plan of the query `nearest_people` runs (for tests and troubleshooting)."""
        with self.conn.transaction() as cur:
            cur.execute(sql.SQL("EXPLAIN ") + _nearest_people_query(dim), knn_params(model, vectors, 20))
            return "\n".join(r[0] for r in cur.fetchall())

    def person_vectors(self, person_id: int, model: str) -> list[np.ndarray]:
        """Every embedding attached to a person (samples and named faces)."""
        with self.conn.transaction() as cur:
            cur.execute("SELECT embedding FROM faces WHERE person_id = %s AND model = %s", (person_id, model))
            return [vector(r[0]) for r in cur.fetchall()]

    def not_person(self) -> set[tuple[int, int]]:
        """Every (face_id, person_id) the user has said does not go together."""
        with self.conn.transaction() as cur:
            cur.execute("SELECT face_id, person_id FROM face_not_person")
            return {(int(a), int(b)) for a, b in cur.fetchall()}

    def attach(self, face_ids: Sequence[int], name: str) -> int:
        """Attach faces to person `name` (created if new), skipping faces the user
        said are not them. The same detection's rows of other models follow.
        Returns the faces attached."""
        with self.conn.transaction() as cur:
            cur.execute(
                "INSERT INTO people (name) VALUES (%s) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name"
                " RETURNING id",
                (name,),
            )
            person_id = int(cur.fetchone()[0])
            cur.execute(
                "UPDATE faces f2 SET person_id = %(p)s, cluster_id = NULL FROM faces f1"
                " WHERE f1.id = ANY(%(ids)s) AND f2.picture_id = f1.picture_id AND f2.box = f1.box"
                " AND NOT EXISTS (SELECT 1 FROM face_not_person n WHERE n.face_id = f1.id AND n.person_id = %(p)s)",
                {"p": person_id, "ids": list(face_ids)},
            )
            return cur.rowcount

    def detach(self, face_id: int) -> str | None:
        """ "Not this person" for a named face: detach it (and its other-model rows) and
        remember the refusal. Returns the person's name, or None if it had none."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT f.person_id, p.name FROM faces f JOIN people p ON p.id = f.person_id WHERE f.id = %s",
                (face_id,),
            )
            row = cur.fetchone()
            if row is None:
                return None
            person_id, name = row
            cur.execute(
                "INSERT INTO face_not_person (face_id, person_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (face_id, person_id),
            )
            cur.execute(
                "UPDATE faces f2 SET person_id = NULL, cluster_id = f2.id FROM faces f1"
                " WHERE f1.id = %s AND f2.picture_id = f1.picture_id AND f2.box = f1.box",
                (face_id,),
            )
            return str(name)

    def merge_people(self, keep: str, drop: str) -> int:
        """Move every face of person `drop` to `keep` and delete `drop`. Returns faces moved."""
        with self.conn.transaction() as cur:
            cur.execute("SELECT id FROM people WHERE name = %s FOR UPDATE", (keep,))
            keep_id = int(cur.fetchone()[0])
            cur.execute("SELECT id FROM people WHERE name = %s FOR UPDATE", (drop,))
            drop_id = int(cur.fetchone()[0])
            cur.execute("UPDATE faces SET person_id = %s WHERE person_id = %s", (keep_id, drop_id))
            moved = cur.rowcount
            cur.execute("DELETE FROM people WHERE id = %s", (drop_id,))
            return moved

    def people_photo_counts(self) -> list[tuple[str, int]]:
        """Registered people with the number of library photos where they are named."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT pe.name, count(DISTINCT p.id) FILTER (WHERE p.indexed_at IS NOT NULL) FROM people pe"
                " LEFT JOIN faces f ON f.person_id = pe.id LEFT JOIN pictures p ON p.id = f.picture_id"
                " GROUP BY pe.name ORDER BY pe.name"
            )
            return [(n, int(c)) for n, c in cur.fetchall()]
