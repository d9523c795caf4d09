"""The People groups: where each unnamed library face stands (`face_groups`,
sql/006), read in bulk for a regroup, written back in one transaction, and
listed a page at a time.

A full regroup reads every unnamed face of a model with one binary COPY per
100,000 faces (a few seconds at 1M faces, where parsing text vectors took
minutes) and writes only the rows whose state changed.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import psycopg2.extensions
from psycopg2 import sql

from facerec.db.connection import Connection
from facerec.db.rows import box as row_box
from facerec.db.rows import vector
from facerec.db.vectors import knn_params, knn_query, set_search
from facerec.types import FaceRow

STATES = ("new", "grouped", "matched", "gated")
"""`face_groups.state` values; `FaceTable.state` holds their index in this tuple."""
NEW, GROUPED, MATCHED, GATED = range(4)

GROUPING_LOCK = 7_425_013
"""pg_advisory_xact_lock key: one process at a time writes a model's groups."""

READ_CHUNK = 100_000
"""Faces per COPY when reading them all: bounds the client's buffer (about 60 MB)."""


@dataclass(frozen=True)
class FaceTable:
    """Column arrays of unnamed faces, in face id order. `sharpness` is NaN
    where it was not measured; `group` and `matched` are 0 where unset (face
    and person ids start at 1)."""

    ids: np.ndarray  # int64
    pictures: np.ndarray  # int64
    width: np.ndarray  # int32, box width in pixels
    height: np.ndarray  # int32
    score: np.ndarray  # float32, detector confidence
    sharpness: np.ndarray  # float32
    state: np.ndarray  # int8, index into STATES
    group: np.ndarray  # int64
    matched: np.ndarray  # int64
    vectors: np.ndarray  # float32 (n, dim)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def empty(cls, dim: int) -> FaceTable:
        i8, i4, f4 = np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32)
        return cls(i8, i8, i4, i4, f4, f4, np.zeros(0, np.int8), i8, i8, np.zeros((0, dim), np.float32))

    @classmethod
    def concat(cls, parts: Sequence[FaceTable], dim: int) -> FaceTable:
        if not parts:
            return cls.empty(dim)
        if len(parts) == 1:
            return parts[0]
        columns = {name: np.concatenate([getattr(p, name) for p in parts]) for name in cls.__dataclass_fields__}
        return cls(**columns)


@dataclass(frozen=True)
class Neighbour:
    """A stored face near a query face, and where it stands."""

    face_id: int
    picture_id: int
    distance: float
    state: int | None  # None: a named face (no face_groups row)
    group: int | None


@dataclass(frozen=True)
class GroupSummary:
    """One listed group: its id, its number of faces, and its first faces."""

    id: int
    size: int
    faces: list[FaceRow]


def _table_dtype(dim: int) -> np.dtype:
    """One row of the binary COPY `_read_query` produces: every field fixed-size and never NULL."""
    return np.dtype([
        ("nfields", ">i2"),
        ("id_len", ">i4"), ("id", ">i8"),
        ("picture_len", ">i4"), ("picture", ">i8"),
        ("width_len", ">i4"), ("width", ">i4"),
        ("height_len", ">i4"), ("height", ">i4"),
        ("score_len", ">i4"), ("score", ">f4"),
        ("sharpness_len", ">i4"), ("sharpness", ">f4"),
        ("state_len", ">i4"), ("state", ">i2"),
        ("group_len", ">i4"), ("group", ">i8"),
        ("matched_len", ">i4"), ("matched", ">i8"),
        ("vector_len", ">i4"), ("vector_dim", ">i2"), ("vector_unused", ">i2"), ("vector", ">f4", (dim,)),
    ])  # fmt: skip


_COPY_HEADER = 11 + 4 + 4  # signature, flags, header extension length (0)


def _parse_copy(data: bytes, dim: int) -> FaceTable:
    """A `FaceTable` from binary COPY data (header, fixed-size tuples, trailer)."""
    dtype = _table_dtype(dim)
    body = data[_COPY_HEADER : len(data) - 2]
    rows = np.frombuffer(body, dtype) if body else np.zeros(0, dtype)
    return FaceTable(
        ids=rows["id"].astype(np.int64),
        pictures=rows["picture"].astype(np.int64),
        width=rows["width"].astype(np.int32),
        height=rows["height"].astype(np.int32),
        score=rows["score"].astype(np.float32),
        sharpness=rows["sharpness"].astype(np.float32),
        state=rows["state"].astype(np.int8),
        group=rows["group"].astype(np.int64),
        matched=rows["matched"].astype(np.int64),
        vectors=rows["vector"].astype(np.float32).reshape(len(rows), dim),
    )


def _read_query(dim: int, where: str) -> sql.Composed:
    """COPY of unnamed faces matching `where` (fixed SQL of this module; values as %(name)s)."""
    vt = sql.SQL("vector({})").format(sql.Literal(dim))
    return sql.SQL(
        "COPY (SELECT g.face_id, g.picture_id, f.box[3], f.box[4], f.score, coalesce(f.sharpness, 'NaN'),"
        " (CASE g.state WHEN 'new' THEN 0 WHEN 'grouped' THEN 1 WHEN 'matched' THEN 2 ELSE 3 END)::int2,"
        " coalesce(g.group_id, 0), coalesce(g.matched_person_id, 0), f.embedding::{vt}"
        " FROM face_groups g JOIN faces f ON f.id = g.face_id"
        " WHERE g.model = %(model)s AND g.face_id > %(after)s AND {where}"
        " ORDER BY g.face_id LIMIT %(limit)s) TO STDOUT (FORMAT binary)"
    ).format(vt=vt, where=sql.SQL(where))


_TODO = "(g.state = 'new' OR (g.state = 'matched' AND g.matched_person_id IS NULL))"
"""Faces not looked at yet (the condition of the face_groups_todo index)."""


def _neighbours_query(dim: int) -> sql.Composed:
    return knn_query(
        dim,
        "m.id, m.picture_id, m.distance, g.state, g.group_id",
        "LEFT JOIN face_groups g ON g.face_id = m.id",
    )


class GroupStore:
    """Queries of the People groups over a `Connection`."""

    def __init__(self, conn: Connection, model: str, dim: int) -> None:
        self.conn = conn
        self.model = model
        self.dim = dim

    # -- reading faces ------------------------------------------------------

    def faces(self, todo_only: bool = False, limit: int | None = None) -> FaceTable:
        """Unnamed library faces of `model` with their vectors and state, by id:
        all of them, or only those not looked at yet (`todo_only`), at most `limit`."""
        parts: list[FaceTable] = []
        after = 0
        where = _TODO if todo_only else "true"
        left = limit if limit is not None else None
        while left is None or left > 0:
            chunk = READ_CHUNK if left is None else min(READ_CHUNK, left)
            with self.conn.transaction() as cur:
                query = cur.mogrify(_read_query(self.dim, where), {"model": self.model, "after": after, "limit": chunk})
                buffer = io.BytesIO()
                cur.copy_expert(query.decode(), buffer, size=1 << 20)
            part = _parse_copy(buffer.getvalue(), self.dim)
            del buffer
            if len(part):
                parts.append(part)
                after = int(part.ids[-1])
            if left is not None:
                left -= len(part)
            if len(part) < chunk:
                break
        return FaceTable.concat(parts, self.dim)

    def todo_count(self) -> int:
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT count(*) FROM face_groups g WHERE g.model = %s"
                " AND (g.state = 'new' OR (g.state = 'matched' AND g.matched_person_id IS NULL))",
                (self.model,),
            )
            return int(cur.fetchone()[0])

    def grouped_count(self) -> int:
        with self.conn.transaction() as cur:
            cur.execute("SELECT count(*) FROM face_groups WHERE model = %s AND group_id IS NOT NULL", (self.model,))
            return int(cur.fetchone()[0])

    def neighbours(self, vectors: Sequence[np.ndarray], k: int) -> list[list[Neighbour]]:
        """For each vector, its `k` nearest stored faces of `model` (any face:
        named, grouped or not) through the HNSW index, in one round trip, nearest first."""
        out: list[list[Neighbour]] = [[] for _ in vectors]
        if not len(vectors):
            return out
        with self.conn.transaction() as cur:
            set_search(cur, max(40, 2 * k))
            cur.execute(_neighbours_query(self.dim), knn_params(self.model, vectors, k))
            for ord_, face_id, picture_id, distance, state, group in cur.fetchall():
                code = None if state is None else STATES.index(state)
                out[ord_ - 1].append(
                    Neighbour(
                        int(face_id), int(picture_id), float(distance), code, None if group is None else int(group)
                    )
                )
        return out

    def groups_of_pictures(self, picture_ids: Sequence[int]) -> dict[int, set[int]]:
        """picture id -> the groups that already hold a face of that picture."""
        out: dict[int, set[int]] = {}
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT picture_id, group_id FROM face_groups WHERE model = %s AND group_id IS NOT NULL"
                " AND picture_id = ANY(%s)",
                (self.model, list({int(p) for p in picture_ids})),
            )
            for picture, group in cur.fetchall():
                out.setdefault(int(picture), set()).add(int(group))
        return out

    def group_of_faces(self, face_ids: Sequence[int]) -> dict[int, int]:
        """face id -> its group, for the faces that are in one."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT face_id, group_id FROM face_groups WHERE face_id = ANY(%s) AND group_id IS NOT NULL",
                (list({int(f) for f in face_ids}),),
            )
            return {int(f): int(g) for f, g in cur.fetchall()}

    def used_group_ids(self, ids: Sequence[int]) -> set[int]:
        """Those of `ids` that are the id of a stored group."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT DISTINCT group_id FROM face_groups WHERE model = %s AND group_id = ANY(%s)",
                (self.model, list({int(i) for i in ids})),
            )
            return {int(r[0]) for r in cur.fetchall()}

    def matching_digest(self) -> str:
        """A digest of every (sample, person) of `model` and every "not this person"
        answer: it changes when a registration, naming, merge or split changes whom
        a library face can match."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT coalesce(string_agg(id || ':' || person_id, ',' ORDER BY id), '') FROM faces"
                " WHERE person_id IS NOT NULL AND model = %s",
                (self.model,),
            )
            samples = cur.fetchone()[0]
            cur.execute(
                "SELECT coalesce(string_agg(face_id || ':' || person_id, ',' ORDER BY face_id, person_id), '')"
                " FROM face_not_person"
            )
            refused = cur.fetchone()[0]
        return hashlib.sha256(f"{samples}|{refused}".encode()).hexdigest()

    def stored_digest(self) -> str | None:
        with self.conn.transaction() as cur:
            cur.execute("SELECT people_digest FROM grouping_state WHERE model = %s", (self.model,))
            row = cur.fetchone()
        return None if row is None else str(row[0])

    # -- writing ---------------------------------------------------------------

    def save(
        self,
        face_ids: np.ndarray,
        state: np.ndarray,
        group: np.ndarray,
        matched: np.ndarray,
        digest: str | None = None,
        regrouped: bool = False,
    ) -> int:
        """Set these faces' state, group (0: none) and matched person (0: none),
        all in one transaction (with `digest`, remembered as the people the
        matches were computed against). Faces named or deleted meanwhile are
        left alone. Returns the rows changed.

        `regrouped` (a full regroup, where groups may split, merge and change
        ids): hidden groups follow their faces, not their ids: afterwards a group
        is hidden when more than half of its faces were in hidden groups before."""

        def write(cur: psycopg2.extensions.cursor) -> int:
            cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (GROUPING_LOCK, self.model))
            changed = 0
            if regrouped:
                cur.execute(
                    "CREATE TEMP TABLE hidden_faces ON COMMIT DROP AS SELECT g.face_id FROM face_groups g"
                    " JOIN hidden_groups h ON h.model = g.model AND h.group_id = g.group_id"
                    " WHERE g.model = %s AND g.state = 'grouped'",
                    (self.model,),
                )
            if len(face_ids):
                cur.execute(
                    "CREATE TEMP TABLE new_face_groups (face_id bigint, state text, group_id bigint,"
                    " matched bigint) ON COMMIT DROP"
                )
                names = np.array(STATES)[state]
                text = "".join(
                    f"{f}\t{s}\t{g or chr(92) + 'N'}\t{m or chr(92) + 'N'}\n"
                    for f, s, g, m in zip(face_ids.tolist(), names.tolist(), group.tolist(), matched.tolist())
                )
                cur.copy_expert("COPY new_face_groups FROM STDIN", io.StringIO(text), size=1 << 20)
                cur.execute(
                    "UPDATE face_groups g SET state = n.state, group_id = n.group_id, matched_person_id = n.matched"
                    " FROM new_face_groups n WHERE g.face_id = n.face_id AND g.model = %s"
                    " AND (g.state, g.group_id, g.matched_person_id) IS DISTINCT FROM (n.state, n.group_id, n.matched)",
                    (self.model,),
                )
                changed = cur.rowcount
            if regrouped:
                _hide_where_hidden_faces_went(cur, self.model)
            if digest is not None:
                cur.execute(
                    "INSERT INTO grouping_state (model, people_digest) VALUES (%s, %s)"
                    " ON CONFLICT (model) DO UPDATE SET people_digest = EXCLUDED.people_digest, updated_at = now()",
                    (self.model, digest),
                )
            return changed

        return self.conn.retrying(write)

    # -- listing ------------------------------------------------------------------

    def page(
        self, min_faces: int, offset: int, limit: int | None, samples: int, hidden: bool = False
    ) -> tuple[int, list[GroupSummary]]:
        """(how many groups have at least `min_faces` faces, the page of them from
        `offset`: largest first, each with its size and first `samples` faces).
        The groups the user hid are left out, or (`hidden`) are the only ones."""
        where = sql.SQL(
            "FROM group_sizes s WHERE s.model = %(model)s AND s.size >= %(min)s AND {} ("
            "SELECT 1 FROM hidden_groups h WHERE h.model = s.model AND h.group_id = s.group_id)"
        ).format(sql.SQL("EXISTS" if hidden else "NOT EXISTS"))
        params = {"model": self.model, "min": min_faces, "offset": offset, "limit": limit}
        with self.conn.transaction() as cur:
            page = sql.SQL(
                "SELECT s.group_id, s.size {} ORDER BY s.size DESC, s.group_id OFFSET %(offset)s LIMIT %(limit)s"
            )
            cur.execute(page.format(where), params)
            rows = cur.fetchall()
            cur.execute(sql.SQL("SELECT count(*) {}").format(where), params)
            total = int(cur.fetchone()[0])
        ids = [int(r[0]) for r in rows]
        faces = self._group_faces(ids, samples)
        return total, [GroupSummary(int(g), int(n), faces.get(int(g), [])) for g, n in rows]

    def _group_faces(self, group_ids: Sequence[int], per_group: int | None) -> dict[int, list[FaceRow]]:
        if not group_ids:
            return {}
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT s.face_id, p.picture, f.box, s.group_id, f.t_seconds, coalesce(f.spans[1], f.t_seconds)"
                " FROM ("
                "   SELECT face_id, group_id, row_number() OVER (PARTITION BY group_id ORDER BY face_id) AS rn"
                "   FROM face_groups WHERE model = %(model)s AND group_id = ANY(%(ids)s)) s"
                " JOIN faces f ON f.id = s.face_id JOIN pictures p ON p.id = f.picture_id"
                " WHERE %(n)s::int IS NULL OR s.rn <= %(n)s ORDER BY s.group_id, s.face_id",
                {"model": self.model, "ids": list(group_ids), "n": per_group},
            )
            out: dict[int, list[FaceRow]] = {}
            for face_id, picture, box, group, t, on in cur.fetchall():
                times = (None, None) if t is None else (float(t), float(on))
                out.setdefault(int(group), []).append(
                    FaceRow(int(face_id), picture, row_box(box), int(group), None, *times)
                )
        return out

    def samples_of(self, group_ids: Sequence[int], per_group: int) -> dict[int, list[FaceRow]]:
        """The first `per_group` faces of each of these groups."""
        return self._group_faces(group_ids, per_group)

    def group(self, group_id: int) -> list[FaceRow]:
        """Every face of one group, by id (empty if there is no such group)."""
        return self._group_faces([group_id], None).get(group_id, [])

    def all_groups(self) -> dict[int, list[FaceRow]]:
        """Every stored group with all its faces (reads them all: for small libraries and tests)."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT DISTINCT group_id FROM face_groups WHERE model = %s AND group_id IS NOT NULL", (self.model,)
            )
            ids = [int(r[0]) for r in cur.fetchall()]
        return self._group_faces(ids, None)

    def has_group(self, group_id: int) -> bool:
        with self.conn.transaction() as cur:
            cur.execute("SELECT 1 FROM face_groups WHERE model = %s AND group_id = %s LIMIT 1", (self.model, group_id))
            return cur.fetchone() is not None

    def means(self, min_faces: int, limit: int) -> list[tuple[int, int, np.ndarray]]:
        """(group id, size, mean of its vectors) of the `limit` largest groups of at least
        `min_faces` faces that are not hidden."""
        vt = sql.SQL("vector({})").format(sql.Literal(self.dim))
        query = sql.SQL(
            "WITH top AS (SELECT group_id, size AS n FROM group_sizes s WHERE model = %(model)s"
            "   AND size >= %(min)s AND NOT EXISTS (SELECT 1 FROM hidden_groups h"
            "   WHERE h.model = s.model AND h.group_id = s.group_id)"
            "   ORDER BY size DESC, group_id LIMIT %(limit)s)"
            " SELECT t.group_id, t.n, avg(f.embedding::{vt}) FROM top t"
            " JOIN face_groups g ON g.group_id = t.group_id AND g.model = %(model)s JOIN faces f ON f.id = g.face_id"
            " GROUP BY t.group_id, t.n ORDER BY t.n DESC, t.group_id"
        ).format(vt=vt)
        with self.conn.transaction() as cur:
            cur.execute(query, {"model": self.model, "min": min_faces, "limit": limit})
            return [(int(g), int(n), vector(v)) for g, n, v in cur.fetchall()]

    def mapping(self) -> GroupsMapping:
        return GroupsMapping(self)


class GroupsMapping(Mapping[int, list[FaceRow]]):
    """The stored groups as a read-only mapping, group id -> its faces. Looking
    one group up (`get`, `in`, `[]`) reads only that group; iterating reads them all."""

    def __init__(self, store: GroupStore) -> None:
        self._store = store

    def __getitem__(self, group_id: int) -> list[FaceRow]:
        faces = self._store.group(int(group_id)) if isinstance(group_id, int) else []
        if not faces:
            raise KeyError(group_id)
        return faces

    def __contains__(self, group_id: object) -> bool:
        return isinstance(group_id, int) and self._store.has_group(group_id)

    def __iter__(self) -> Iterator[int]:
        return iter(self._store.all_groups())

    def __len__(self) -> int:
        return len(self._store.all_groups())


def _hide_where_hidden_faces_went(cur: psycopg2.extensions.cursor, model: str) -> None:
    """After a regroup: the hidden groups are those most of whose faces were hidden
    (`hidden_faces`, made before the groups changed), whatever their ids now."""
    cur.execute(
        "CREATE TEMP TABLE now_hidden ON COMMIT DROP AS"
        " SELECT g.group_id, min(h.hidden_at) AS hidden_at FROM face_groups g"
        " LEFT JOIN hidden_faces f ON f.face_id = g.face_id"
        " LEFT JOIN hidden_groups h ON h.model = g.model AND h.group_id = g.group_id"
        " WHERE g.model = %(m)s AND g.group_id IN (SELECT g2.group_id FROM face_groups g2"
        "   JOIN hidden_faces f2 ON f2.face_id = g2.face_id WHERE g2.group_id IS NOT NULL)"
        " GROUP BY g.group_id HAVING count(f.face_id) * 2 > count(*)",
        {"m": model},
    )
    cur.execute("DELETE FROM hidden_groups WHERE model = %s", (model,))
    cur.execute(
        "INSERT INTO hidden_groups (model, group_id, hidden_at)"
        " SELECT %s, group_id, coalesce(hidden_at, now()) FROM now_hidden",
        (model,),
    )
