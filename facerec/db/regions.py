"""Names that travel with the photos: what facerec read from photo metadata (face
regions, Takeout, Picasa) and what it wrote (`xmp export`), see sql/010.

`RegionStore(conn, model)` is built by the use cases from the bound stores'
connection (`ctx.db.library.conn`); every change to who is who goes through
`PeopleStore.attach` (journalled) or `unname` here (journalled too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import psycopg2.extensions
from psycopg2 import sql
from psycopg2.extras import Json, execute_values

from facerec.db.connection import Connection
from facerec.db.recorder import Recorder, scope_groups
from facerec.db.rows import box as row_box
from facerec.db.rows import face_values, vector
from facerec.types import Box, EmbeddedFace


@dataclass(frozen=True)
class RegionPicture:
    """A library picture and what was read of its metadata last time (None: never)."""

    id: int
    picture: str
    sha256: str | None
    read_sha256: str | None
    sidecars: list[list[str | None]] | None


@dataclass(frozen=True)
class StoredFace:
    """A face of a picture, for this model: its box, its person's name, its vector."""

    id: int
    box: Box
    person: str | None
    embedding: np.ndarray


@dataclass(frozen=True)
class NameRecord:
    """One name a file gave a picture, and what became of it (see sql/010)."""

    name: str
    box: Box | None
    origin: str
    state: str
    face_id: int | None = None
    problem: str | None = None


@dataclass(frozen=True)
class NamedFace:
    """A named face of a photo file, for `xmp export`."""

    picture: str
    person_id: int
    name: str
    box: Box


@dataclass(frozen=True)
class SidecarWrite:
    """A file one export wrote: `previous` is the copy of its old bytes (None: it was new)."""

    path: str
    photo: str
    previous: str | None
    sha256: str


_ROWS_OF_FACES = sql.SQL(
    "id IN (SELECT f2.id FROM faces f2 JOIN faces f1 ON f2.picture_id = f1.picture_id AND f2.box = f1.box"
    " WHERE f1.id = ANY(%(ids)s) AND f1.person_id IS NOT NULL)"
)
_IDS_OF_ROWS = sql.SQL(
    "SELECT id FROM faces WHERE id IN (SELECT f2.id FROM faces f2 JOIN faces f1 ON f2.picture_id = f1.picture_id"
    " AND f2.box = f1.box WHERE f1.id = ANY(%(ids)s) AND f1.person_id IS NOT NULL)"
)


class RegionStore:
    """The tables of sql/010 over a `Connection`, for one embedder `model`."""

    def __init__(self, conn: Connection, model: str) -> None:
        self.conn = conn
        self.model = model

    # -- reading names from files ---------------------------------------------------

    def pictures_under(self, roots: Sequence[str], files: Sequence[str]) -> list[RegionPicture]:
        """Library pictures inside the folders `roots` or equal to one of `files`."""
        prefixes = [r.rstrip("/") + "/" for r in roots]
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT p.id, p.picture, p.sha256, r.sha256, r.sidecars FROM pictures p"
                " LEFT JOIN region_files r ON r.picture_id = p.id"
                " WHERE p.indexed_at IS NOT NULL AND p.source = 'file'"
                " AND (p.picture = ANY(%s) OR p.picture ^@ ANY(%s))"
                " ORDER BY p.picture",
                (list(files), prefixes),
            )
            return [RegionPicture(int(i), p, s, rs, sc) for i, p, s, rs, sc in cur.fetchall()]

    def picture_id(self, picture: str) -> int | None:
        """The id of a library picture by its key (None: not indexed)."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT id FROM pictures WHERE picture = %s AND indexed_at IS NOT NULL AND source = 'file'", (picture,)
            )
            row = cur.fetchone()
        return None if row is None else int(row[0])

    def faces(self, picture_id: int) -> list[StoredFace]:
        """The picture's faces of this model that can carry a name (not those too small
        to recognise), left to right."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT f.id, f.box, pe.name, f.embedding FROM faces f LEFT JOIN people pe ON pe.id = f.person_id"
                " WHERE f.picture_id = %s AND f.model = %s AND NOT f.small ORDER BY f.box[1], f.id",
                (picture_id, self.model),
            )
            return [StoredFace(int(i), row_box(b), n, vector(e)) for i, b, n, e in cur.fetchall()]

    def hinted(self, name: str) -> list[tuple[int, str]]:
        """The library pictures (id, key) a file said show `name` where no face could be
        given the name (a hint: "is this X?" asks about them)."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT DISTINCT p.id, p.picture FROM region_names r JOIN pictures p ON p.id = r.picture_id"
                " WHERE r.state = 'hint' AND r.name = %s AND p.indexed_at IS NOT NULL ORDER BY p.picture",
                (name,),
            )
            return [(int(i), pic) for i, pic in cur.fetchall()]

    def records(self, picture_id: int, origin_kind: str) -> list[NameRecord]:
        """The names read for a picture before, from files of one kind: 'xmp'
        (its sidecars and own XMP), 'takeout' or 'picasa'."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT name, box, origin, state, face_id, problem FROM region_names"
                " WHERE picture_id = %s AND split_part(origin, ':', 1) = %s ORDER BY id",
                (picture_id, origin_kind),
            )
            rows = cur.fetchall()
        return [NameRecord(n, None if b is None else row_box(b), o, s, f, p) for n, b, o, s, f, p in rows]

    def replace_records(
        self,
        picture_id: int,
        origin_kind: str,
        records: Sequence[NameRecord],
        sha256: str | None = None,
        sidecars: Sequence[tuple[str, str | None]] | None = None,
    ) -> None:
        """Put `records` in place of the picture's names of `origin_kind`; with
        `sidecars`, remember the photo's hash and its sidecars' states as read."""

        def work(cur: psycopg2.extensions.cursor) -> None:
            cur.execute(
                "DELETE FROM region_names WHERE picture_id = %s AND split_part(origin, ':', 1) = %s",
                (picture_id, origin_kind),
            )
            rows = [
                (picture_id, r.face_id, r.name, r.box and r.box.as_list(), r.origin, r.state, r.problem)
                for r in records
            ]
            if rows:
                execute_values(
                    cur,
                    "INSERT INTO region_names (picture_id, face_id, name, box, origin, state, problem) VALUES %s",
                    rows,
                )
            if sidecars is not None:
                cur.execute(
                    "INSERT INTO region_files (picture_id, sha256, sidecars, read_at) VALUES (%s, %s, %s, now())"
                    " ON CONFLICT (picture_id) DO UPDATE SET sha256 = EXCLUDED.sha256,"
                    " sidecars = EXCLUDED.sidecars, read_at = now()",
                    (picture_id, sha256, Json([list(s) for s in sidecars])),
                )

        self.conn.retrying(work)

    def add_face(self, picture_id: int, face: EmbeddedFace) -> int:
        """Store a face the detector missed (found from a named region); returns its id."""

        def work(cur: psycopg2.extensions.cursor) -> int:
            cur.execute(
                "INSERT INTO faces (picture_id, model, box, landmarks, score, embedding)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (picture_id, *face_values(face.model, face.face, face.embedding)),
            )
            return int(cur.fetchone()[0])

        return self.conn.retrying(work)

    def unname(self, face_ids: Sequence[int], summary: str) -> int:
        """Take the name off faces a file named and no longer does (journalled, no
        "not this person": the file only stopped saying it). Returns the faces unnamed."""

        def work(cur: psycopg2.extensions.cursor) -> int:
            rec = Recorder(cur)
            params: dict[str, object] = {"ids": list(face_ids)}
            cur.execute(
                "SELECT DISTINCT person_id FROM faces WHERE id = ANY(%(ids)s) AND person_id IS NOT NULL", params
            )
            people = [int(r[0]) for r in cur.fetchall()]
            rec.updating("faces", _ROWS_OF_FACES, params)
            scope_groups(cur, rec, _IDS_OF_ROWS, params)
            cur.execute(sql.SQL("UPDATE faces SET person_id = NULL WHERE {}").format(_ROWS_OF_FACES), params)
            done = int(cur.rowcount)
            if not rec.empty:
                rec.write("name", summary, people)
            return done

        return self.conn.retrying(work)

    def open_names(self, states: Sequence[str]) -> list[tuple[str, str, str, str | None]]:
        """(picture, name, state, problem) of the names in one of `states`, by picture."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT p.picture, r.name, r.state, r.problem FROM region_names r"
                " JOIN pictures p ON p.id = r.picture_id WHERE r.state = ANY(%s) ORDER BY p.picture, r.id",
                (list(states),),
            )
            return [(p, n, s, q) for p, n, s, q in cur.fetchall()]

    # -- writing names into files ------------------------------------------------------

    def named_faces(self, person: str | None = None) -> list[NamedFace]:
        """Named faces of photo files (library or registration photos), by picture; with
        `person`, only the pictures where that person is (but every named face of them)."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT p.picture, f.person_id, pe.name, f.box FROM faces f JOIN pictures p ON p.id = f.picture_id"
                " JOIN people pe ON pe.id = f.person_id WHERE p.source = 'file' AND f.model = %(m)s"
                " AND (%(n)s::text IS NULL OR p.id IN (SELECT f2.picture_id FROM faces f2"
                "   JOIN people p2 ON p2.id = f2.person_id WHERE p2.name = %(n)s))"
                " ORDER BY p.picture, f.box[1], f.id",
                {"m": self.model, "n": person},
            )
            return [NamedFace(p, int(i), n, row_box(b)) for p, i, n, b in cur.fetchall()]

    def record_export(self, summary: str, people: Sequence[int], writes: Sequence[SidecarWrite]) -> int:
        """Journal an export (the files it wrote, for `undo`); returns the entry's id."""

        def work(cur: psycopg2.extensions.cursor) -> int:
            files = [w.previous for w in writes if w.previous]
            entry = Recorder(cur).write("xmp export", summary, people, files)
            execute_values(
                cur,
                "INSERT INTO sidecar_writes (journal_id, path, photo, previous, sha256) VALUES %s",
                [(entry, w.path, w.photo, w.previous, w.sha256) for w in writes],
            )
            return entry

        return self.conn.retrying(work)

    def export_writes(self, journal_id: int) -> list[SidecarWrite]:
        """The files the export `journal_id` wrote (empty: the entry is no export)."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT path, photo, previous, sha256 FROM sidecar_writes WHERE journal_id = %s ORDER BY path",
                (journal_id,),
            )
            return [SidecarWrite(p, ph, pr, s) for p, ph, pr, s in cur.fetchall()]
