"""Registered people: their samples, names, and the faces attached to them.

The queries behind register, users, `people name` / `merge` / `split`,
`undo`, and recognition (the nearest registered people of a batch of faces).
Every write that changes who is who runs with a `Recorder` and appends its
journal entry in the same transaction (see `facerec.db.journal`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import psycopg2.errors
import psycopg2.extensions
from psycopg2 import sql

from facerec.db.connection import Connection
from facerec.db.journal import Recorder, scope_groups, scrub, write_irreversible
from facerec.db.rows import box as row_box
from facerec.db.rows import face_values, vector
from facerec.db.vectors import knn_params, knn_query, set_search
from facerec.errors import InvalidNameError, PersonExistsError, PersonNotFoundError
from facerec.types import Candidate, Face, Person, SampleFace


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
    already stored), the new crop files no face refers to (samples already
    stored), and the journal entry (None when nothing changed)."""

    person_id: int
    added: int
    unused_files: list[str]
    created: bool = False
    already_stored: int = 0
    entry: int | None = None


@dataclass(frozen=True)
class Attached:
    """Faces attached to a person: how many detections (not rows: a face embedded by two
    models is one face), how many were skipped because the user said they are not
    that person, and the journal entry."""

    person_id: int
    faces: int
    refused: int
    created: bool
    entry: int | None


ROWS_OF_FACE = sql.SQL(
    "id IN (SELECT f2.id FROM faces f2 JOIN faces f1 ON f2.picture_id = f1.picture_id AND f2.box = f1.box"
    " WHERE f1.id = %s)"
)
"""The rows of one detected face (parameter: a face id): the same picture and box, one row per model."""

ROWS_TO_ATTACH = sql.SQL(
    "id IN (SELECT f2.id FROM faces f2 JOIN faces f1 ON f2.picture_id = f1.picture_id AND f2.box = f1.box"
    " WHERE f1.id = ANY(%(ids)s) AND NOT f1.small"
    " AND NOT EXISTS (SELECT 1 FROM face_not_person n WHERE n.face_id = f1.id AND n.person_id = %(p)s))"
)
"""The rows of faces `ids` (every model), except those the user said are not person `p` and small ones."""


def _nearest_people_query(dim: int) -> sql.Composed:
    """Each query vector's nearest samples, with their person's name."""
    return knn_query(dim, "m.person_id, p.name, m.distance", "JOIN people p ON p.id = m.person_id", people_only=True)


_UNNAME = sql.SQL("UPDATE faces SET person_id = NULL WHERE {}").format(ROWS_OF_FACE)
_IDS_OF = sql.SQL("SELECT id FROM faces WHERE {}")
_LINKS_OF_ROWS = sql.SQL(
    "face_a IN (SELECT id FROM faces WHERE {same}) OR face_b IN (SELECT id FROM faces WHERE {same})"
)
_REFUSALS_OF_ROWS = sql.SQL("face_id IN (SELECT id FROM faces WHERE {same})")
_FACELESS_SAMPLE_PICTURE = sql.SQL(
    "id = %s AND indexed_at IS NULL AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.picture_id = %s)"
)
"""A registration picture (not in the library) left with no face (parameters: its id, twice)."""


class PeopleStore:
    """Registered people and their samples, over a `Connection`, for one embedder
    (`model`, vectors of `dim` numbers): every count and vector is that model's."""

    def __init__(self, conn: Connection, model: str, dim: int) -> None:
        self.conn = conn
        self.model = model
        self.dim = dim

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

    def people(self, first: int = 0) -> list[Person]:
        """Everyone registered, by name (case-insensitively), each with their samples
        (every face named as them: registration samples and named library faces),
        their library photos (where a face is named them, or matches them as the
        People view last found), and their first `first` faces, samples from
        registration photos first. The one query for "registered people with counts"."""
        with self.conn.transaction() as cur:
            cur.execute(
                "WITH named AS ("
                "   SELECT f.person_id, f.picture_id FROM faces f JOIN pictures p ON p.id = f.picture_id"
                "   WHERE f.person_id IS NOT NULL AND p.indexed_at IS NOT NULL AND f.model = %(m)s),"
                " matched AS ("
                "   SELECT matched_person_id AS person_id, picture_id FROM face_groups"
                "   WHERE model = %(m)s AND matched_person_id IS NOT NULL AND state = 'matched')"
                " SELECT pe.id, pe.name, pe.created_at,"
                "   (SELECT count(*) FROM faces f WHERE f.person_id = pe.id AND f.model = %(m)s),"
                "   (SELECT count(DISTINCT picture_id) FROM named n WHERE n.person_id = pe.id),"
                "   (SELECT count(DISTINCT m.picture_id) FROM matched m WHERE m.person_id = pe.id AND NOT EXISTS"
                "      (SELECT 1 FROM named n WHERE n.person_id = pe.id AND n.picture_id = m.picture_id)),"
                "   (SELECT array_agg(id ORDER BY crop IS NULL, id) FROM (SELECT f.id, f.crop FROM faces f"
                "      WHERE f.person_id = pe.id AND f.model = %(m)s ORDER BY f.crop IS NULL, f.id LIMIT %(first)s) y)"
                " FROM people pe ORDER BY lower(pe.name), pe.name",
                {"m": self.model, "first": first},
            )
            return [
                Person(int(i), n, int(samples), at, int(named), int(matched), [int(f) for f in ids or []])
                for i, n, at, samples, named, matched, ids in cur.fetchall()
            ]

    def person(self, name: str) -> Person:
        """One person with each of their faces (samples and named library faces), oldest first."""
        pid = self.person_id(name)
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT f.id, pic.picture, f.box, f.created_at, f.crop IS NOT NULL,"
                " CASE WHEN pic.indexed_at IS NOT NULL THEN 'library' ELSE pic.source END"
                " FROM faces f JOIN pictures pic ON pic.id = f.picture_id"
                " WHERE f.person_id = %s AND f.model = %s ORDER BY f.id",
                (pid, self.model),
            )
            faces = [SampleFace(int(i), pic, row_box(b), at, src, crop) for i, pic, b, at, crop, src in cur.fetchall()]
            cur.execute("SELECT created_at FROM people WHERE id = %s", (pid,))
            (created,) = cur.fetchone()
        return Person(pid, name, len(faces), created, faces=faces)

    def names(self) -> list[str]:
        """Every registered name."""
        with self.conn.transaction() as cur:
            cur.execute("SELECT name FROM people ORDER BY name")
            return [r[0] for r in cur.fetchall()]

    def face_owner(self, face_ids: Sequence[int]) -> dict[int, int]:
        """Face id -> person id, for the given faces that belong to someone."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT id, person_id FROM faces WHERE id = ANY(%s) AND person_id IS NOT NULL", (list(face_ids),)
            )
            return {int(f): int(p) for f, p in cur.fetchall()}

    # -- changes to who is who (journalled) -------------------------------

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
            rec = Recorder(cur)
            person_id, created = _person_for_update(cur, rec, name, create)
            added, attached, unused = 0, 0, []
            for s in ordered:
                picture_id = _upsert_picture(cur, rec, s)
                found, mine, spare_crop = _reuse_stored_face(cur, rec, picture_id, person_id, s)
                if spare_crop is not None:
                    unused.append(spare_crop)
                if found:
                    attached += not mine
                    continue
                cur.execute(
                    "INSERT INTO faces (picture_id, person_id, model, box, landmarks, score, embedding, crop)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                    (picture_id, person_id, *face_values(s.model, s.face, s.embedding), s.crop),
                )
                rec.inserted("faces", [cur.fetchone()])
                added += 1
            entry = None
            if not rec.empty:
                verb = "registered" if created else "added to"
                what = f"{added + attached} sample{'s' if added + attached != 1 else ''}"
                entry = rec.write("register", f"{verb} {name!r}: {what}", [person_id])
            return StoredSamples(person_id, added + attached, unused, created, len(ordered) - added - attached, entry)

        try:
            return self.conn.retrying(store)
        except psycopg2.errors.CheckViolation:
            raise InvalidNameError(f"invalid name {name!r}") from None

    def attach(self, face_ids: Sequence[int], name: str, summary: str, create: bool = True) -> Attached:
        """Attach faces to person `name` (created if new), skipping faces the user
        said are not them. The same detection's rows of other models follow."""

        def work(cur: psycopg2.extensions.cursor) -> Attached:
            rec = Recorder(cur)
            person_id, created = _person_for_update(cur, rec, name, create)
            params = {"p": person_id, "ids": list(face_ids)}
            cur.execute(
                "SELECT count(*) FROM face_not_person WHERE face_id = ANY(%(ids)s) AND person_id = %(p)s", params
            )
            refused = int(cur.fetchone()[0])
            rec.updating("faces", ROWS_TO_ATTACH, params)
            scope_groups(cur, rec, _IDS_OF.format(ROWS_TO_ATTACH), params)
            cur.execute(sql.SQL("UPDATE faces SET person_id = %(p)s WHERE {}").format(ROWS_TO_ATTACH), params)
            cur.execute("SELECT count(*) FROM faces WHERE id = ANY(%(ids)s) AND person_id = %(p)s", params)
            attached = int(cur.fetchone()[0])
            entry = rec.write("name", summary, [person_id]) if not rec.empty else None
            return Attached(person_id, attached, refused, created, entry)

        return self.conn.retrying(work)

    def detach(self, face_ids: Sequence[int]) -> dict[int, str]:
        """ "Not this person" for named faces: detach each (and its other-model rows)
        and remember the refusal. Returns face id -> the name it had."""

        def work(cur: psycopg2.extensions.cursor) -> dict[int, str]:
            rec = Recorder(cur)
            cur.execute(
                "SELECT f.id, f.person_id, p.name FROM faces f JOIN people p ON p.id = f.person_id"
                " WHERE f.id = ANY(%s) ORDER BY f.id",
                (list(face_ids),),
            )
            rows = cur.fetchall()
            for face_id, person_id, _ in rows:
                _unname(cur, rec, face_id, person_id)
            if rows:
                names = sorted({n for _, _, n in rows})
                faces = ", ".join(str(f) for f, _, _ in rows)
                what = f"faces {faces} are" if len(rows) > 1 else f"face {faces} is"
                rec.write("split", f"{what} not {' / '.join(map(repr, names))}", [p for _, p, _ in rows])
            return {int(f): str(n) for f, _, n in rows}

        return self.conn.retrying(work)

    def merge(self, keep: str, drop: str) -> int:
        """Move every face of person `drop` to `keep` and delete `drop`. Returns faces moved."""

        def work(cur: psycopg2.extensions.cursor) -> int:
            rec = Recorder(cur)
            keep_id = _existing_person(cur, keep)
            drop_id = _existing_person(cur, drop)
            cur.execute("SELECT count(DISTINCT (picture_id, box)) FROM faces WHERE person_id = %s", (drop_id,))
            moved = int(cur.fetchone()[0])
            rec.updating("faces", "person_id = %s", (drop_id,))
            # Library faces shown as `drop` (not samples) lose that match when `drop` goes.
            scope_groups(cur, rec, sql.SQL("SELECT face_id FROM face_groups WHERE matched_person_id = %s"), (drop_id,))
            cur.execute("UPDATE faces SET person_id = %s WHERE person_id = %s", (keep_id, drop_id))
            rec.deleting("face_not_person", "person_id = %s", (drop_id,))
            rec.deleting("people", "id = %s", (drop_id,))
            cur.execute("DELETE FROM people WHERE id = %s", (drop_id,))
            rec.write(
                "merge", f"merged {drop!r} into {keep!r} ({moved} face{'s' if moved != 1 else ''})", [keep_id, drop_id]
            )
            return moved

        return self.conn.retrying(work)

    def remove_samples(self, face_ids: Sequence[int]) -> dict[int, str]:
        """Remove faces from their person without deleting the person. A registration
        sample is deleted (all its model rows; its crop stays on disk, kept by the
        journal so `undo` can put it back); a face of an indexed library photo goes
        back to the library as "not this person". Returns face id -> the name it had."""

        def work(cur: psycopg2.extensions.cursor) -> dict[int, str]:
            rec = Recorder(cur)
            cur.execute(
                "SELECT f.id, f.person_id, p.name, pic.id, pic.indexed_at IS NOT NULL FROM faces f"
                " JOIN people p ON p.id = f.person_id JOIN pictures pic ON pic.id = f.picture_id"
                " WHERE f.id = ANY(%s) ORDER BY f.id FOR UPDATE OF f",
                (list(face_ids),),
            )
            rows = cur.fetchall()
            files: list[str] = []
            for face_id, person_id, _, picture_id, indexed in rows:
                same = ROWS_OF_FACE
                if indexed:
                    _unname(cur, rec, face_id, person_id)
                    continue
                cur.execute(sql.SQL("SELECT crop FROM faces WHERE crop IS NOT NULL AND {}").format(same), (face_id,))
                files += [r[0] for r in cur.fetchall()]
                rec.deleting("face_links", _LINKS_OF_ROWS.format(same=same), (face_id, face_id))
                rec.deleting("face_not_person", _REFUSALS_OF_ROWS.format(same=same), (face_id,))
                rec.deleting("faces", same, (face_id,))
                cur.execute(sql.SQL("DELETE FROM faces WHERE {}").format(same), (face_id,))
                rec.deleting("pictures", _FACELESS_SAMPLE_PICTURE, (picture_id, picture_id))
                cur.execute(
                    sql.SQL("SELECT picture FROM pictures WHERE source = 'capture' AND {}").format(
                        _FACELESS_SAMPLE_PICTURE
                    ),
                    (picture_id, picture_id),
                )
                files += [r[0] for r in cur.fetchall()]
                cur.execute(
                    sql.SQL("DELETE FROM pictures WHERE {}").format(_FACELESS_SAMPLE_PICTURE), (picture_id, picture_id)
                )
            if rows:
                names = sorted({n for _, _, n, _, _ in rows})
                label = ", ".join(str(r[0]) for r in rows)
                what = f"sample{'s' if len(rows) > 1 else ''} {label}"
                rec.write(
                    "remove-sample", f"removed {what} of {' / '.join(map(repr, names))}", [r[1] for r in rows], files
                )
            return {int(r[0]): str(r[2]) for r in rows}

        return self.conn.retrying(work)

    def rename(self, old: str, new: str) -> None:
        """Rename; `PersonNotFoundError` / `PersonExistsError` as appropriate."""

        def work(cur: psycopg2.extensions.cursor) -> None:
            rec = Recorder(cur)
            rec.updating("people", "name = %s", (old,))
            cur.execute("UPDATE people SET name = %s WHERE name = %s RETURNING id", (new, old))
            row = cur.fetchone()
            if row is None:
                raise PersonNotFoundError(f"no registered person named {old!r}")
            rec.write("rename", f"renamed {old!r} to {new!r}", [int(row[0])])

        try:
            self.conn.retrying(work)
        except psycopg2.errors.UniqueViolation:
            raise PersonExistsError(f"a person named {new!r} already exists") from None

    def delete(self, name: str) -> list[str]:
        """Delete `name`, every face of theirs (all models), and the sample pictures
        left with no face: an erasure, so the journal records it without a copy
        and forgets what earlier entries held about them. Returns the files
        (crops, captures) that belonged only to them, for the caller to remove."""
        with self.conn.transaction() as cur:
            pid = _existing_person(cur, name)
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
            files += scrub(cur, pid)
            write_irreversible(cur, "delete", "deleted a person (an erasure: cannot be undone)", [pid])
        return files

    def forget_crops(self, names: Sequence[str]) -> None:
        """Faces whose crop file is gone keep their embedding and lose the crop's name."""
        with self.conn.transaction() as cur:
            cur.execute("UPDATE faces SET crop = NULL WHERE crop = ANY(%s)", (list(names),))

    def referenced_files(self, names: Sequence[str]) -> set[str]:
        """The `names` (crop paths relative to the data directory, or capture
        pictures' absolute paths) that a stored face or picture, or a journal
        entry that can still be undone, refers to."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT crop FROM faces WHERE crop = ANY(%(names)s)"
                " UNION SELECT picture FROM pictures WHERE source = 'capture' AND picture = ANY(%(names)s)"
                " UNION SELECT f FROM journal j, unnest(j.files) AS f WHERE f = ANY(%(names)s)"
                " AND j.changes IS NOT NULL AND NOT EXISTS (SELECT 1 FROM journal u WHERE u.reverts = j.id)",
                {"names": list(names)},
            )
            return {row[0] for row in cur.fetchall()}

    # -- search -------------------------------------------------------------

    def nearest(self, vectors: Sequence[np.ndarray], k: int = 20) -> list[list[Candidate]]:
        """For each query vector, the nearest registered people (best sample each), nearest first.

        One round trip for all vectors; each looks at its `k` nearest samples
        through the `faces_<model>_people_hnsw` index.
        """
        if not len(vectors):
            return []
        results: list[dict[int, Candidate]] = [{} for _ in vectors]
        with self.conn.transaction() as cur:
            set_search(cur, max(40, 2 * k))
            cur.execute(_nearest_people_query(self.dim), knn_params(self.model, vectors, k))
            for ord_, person_id, name, distance in cur.fetchall():
                best = results[ord_ - 1]
                if person_id not in best:  # rows come nearest first
                    best[person_id] = Candidate(int(person_id), name, float(distance))
        return [sorted(r.values(), key=lambda c: c.distance) for r in results]

    def explain_nearest(self, vectors: Sequence[np.ndarray]) -> str:
        """The plan of the query `nearest` runs (for tests and troubleshooting)."""
        with self.conn.transaction() as cur:
            cur.execute(sql.SQL("EXPLAIN ") + _nearest_people_query(self.dim), knn_params(self.model, vectors, 20))
            return "\n".join(r[0] for r in cur.fetchall())

    def vectors(self, person_id: int) -> list[np.ndarray]:
        """Every embedding attached to a person (samples and named faces)."""
        with self.conn.transaction() as cur:
            cur.execute("SELECT embedding FROM faces WHERE person_id = %s AND model = %s", (person_id, self.model))
            return [vector(r[0]) for r in cur.fetchall()]

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """(person id of each sample, the samples' vectors): every face attached to a person."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT person_id, embedding FROM faces WHERE person_id IS NOT NULL AND model = %s", (self.model,)
            )
            rows = cur.fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        return np.array([int(r[0]) for r in rows], np.int64), np.stack([vector(r[1]) for r in rows])

    def names_of(self, person_ids: Sequence[int]) -> dict[int, str]:
        """person id -> name, for these people."""
        with self.conn.transaction() as cur:
            cur.execute("SELECT id, name FROM people WHERE id = ANY(%s)", (list({int(p) for p in person_ids}),))
            return {int(i): n for i, n in cur.fetchall()}


def _unname(cur: psycopg2.extensions.cursor, rec: Recorder, face_id: int, person_id: int) -> None:
    """A library face is not `person_id` after all: it is unnamed (with its rows of
    other models) and remembered as "not this person", journalled; it goes back to the People view."""
    cur.execute(
        "INSERT INTO face_not_person (face_id, person_id) VALUES (%s, %s) ON CONFLICT DO NOTHING"
        " RETURNING face_id, person_id",
        (face_id, person_id),
    )
    rec.inserted("face_not_person", cur.fetchall())
    rec.updating("faces", ROWS_OF_FACE, (face_id,))
    scope_groups(cur, rec, _IDS_OF.format(ROWS_OF_FACE), (face_id,))
    cur.execute(_UNNAME, (face_id,))


def _existing_person(cur: psycopg2.extensions.cursor, name: str) -> int:
    cur.execute("SELECT id FROM people WHERE name = %s FOR UPDATE", (name,))
    row = cur.fetchone()
    if row is None:
        raise PersonNotFoundError(f"no registered person named {name!r}")
    return int(row[0])


def _person_for_update(cur: psycopg2.extensions.cursor, rec: Recorder, name: str, create: bool) -> tuple[int, bool]:
    """The id of `name` (locked), created if missing and `create`; and whether it was created."""
    cur.execute("SELECT id FROM people WHERE name = %s FOR UPDATE", (name,))
    row = cur.fetchone()
    if row is not None:
        return int(row[0]), False
    if not create:
        raise PersonNotFoundError(f"no registered person named {name!r}")
    cur.execute(
        "INSERT INTO people (name) VALUES (%s) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name"
        " RETURNING id, xmax = 0",
        (name,),
    )
    person_id, fresh = cur.fetchone()
    if fresh:
        rec.inserted("people", [(person_id,)])
    return int(person_id), bool(fresh)


def _upsert_picture(cur: psycopg2.extensions.cursor, rec: Recorder, s: Sample) -> int:
    cur.execute("SELECT id, sha256 IS NOT DISTINCT FROM %s FROM pictures WHERE picture = %s", (s.sha256, s.picture))
    row = cur.fetchone()
    if row is not None:
        picture_id, same = row
        if not same:
            rec.updating("pictures", "id = %s", (picture_id,))
            cur.execute("UPDATE pictures SET sha256 = %s WHERE id = %s", (s.sha256, picture_id))
        return int(picture_id)
    cur.execute(
        "INSERT INTO pictures (picture, source, sha256, size, mtime, width, height)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (picture) DO UPDATE SET sha256 = EXCLUDED.sha256"
        " RETURNING id, xmax = 0",
        (s.picture, s.source, s.sha256, s.size, s.mtime, s.width, s.height),
    )
    picture_id, fresh = cur.fetchone()
    if fresh:
        rec.inserted("pictures", [(picture_id,)])
    return int(picture_id)


def _reuse_stored_face(
    cur: psycopg2.extensions.cursor, rec: Recorder, picture_id: int, person_id: int, s: Sample
) -> tuple[bool, bool, str | None]:
    """If the picture already holds this face (same model, a box overlapping by
    IoU >= 0.5) as a sample of this person, or unnamed in the photo library,
    use that face (attached to the person; given this sample's crop if it
    has none) instead of storing a twin. Returns (done, it was already this
    person's, this sample's crop if it was not needed: the face kept the crop
    it had, which rows of other models may share)."""
    cur.execute(
        "SELECT id, box, crop, person_id FROM faces WHERE picture_id = %s AND model = %s AND NOT small"
        " AND (person_id = %s OR person_id IS NULL) ORDER BY person_id NULLS LAST, id",
        (picture_id, s.model, person_id),
    )
    for face_id, box, crop, owner in cur.fetchall():
        if row_box(box).iou(s.face.box) >= 0.5:
            spare = s.crop if crop is not None and crop != s.crop else None
            if owner == person_id and crop is not None:
                return True, True, spare
            rec.updating("faces", "id = %s", (face_id,))
            rec.scope("face_groups", "face_id", [face_id])
            cur.execute(
                "UPDATE faces SET person_id = %s, crop = COALESCE(crop, %s) WHERE id = %s",
                (person_id, s.crop, face_id),
            )
            return True, owner == person_id, spare
    return False, False, None
