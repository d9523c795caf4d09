"""Read-only queries the browser pages need and no store answers yet: library
statistics, where a face's pixels are (for thumbnails), the faces of each
registered person. Used by `facerec.usecases.library`, `.browse` and
`.thumbnails`, never by the web layer itself. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from facerec.db.connection import Connection
from facerec.db.rows import box as row_box
from facerec.types import Box


@dataclass(frozen=True)
class LibraryStats:
    """Counts over the whole database for one model. `last_indexed`: when a
    photo was last stored by `index` (None before the first run)."""

    photos: int
    faces: int
    unnamed_faces: int
    named_faces: int
    groups: int
    """Groups of unnamed faces big enough to be listed (as last found)."""
    people: int
    samples: int
    last_indexed: datetime | None


@dataclass(frozen=True)
class FolderStats:
    """One folder of indexed photos (the photos directly in it, not in its subfolders)."""

    folder: str
    photos: int
    faces: int
    last_indexed: datetime | None


@dataclass(frozen=True)
class FaceSource:
    """Where a stored face's pixels are: its picture (key, content hash, size) and its box there."""

    face_id: int
    picture: str
    sha256: str | None
    width: int | None
    height: int | None
    box: Box
    source: str  # 'file' or 'capture'


@dataclass(frozen=True)
class PersonFaceRow:
    """A face attached to a registered person. `sample`: a registration sample
    (it has a crop); otherwise a library face the user named."""

    face_id: int
    picture: str
    box: Box
    sample: bool
    indexed: bool


@dataclass(frozen=True)
class PersonFaces:
    """A registered person's number of faces (of one model) and the first few of them."""

    name: str
    faces: int
    photos: int
    first: list[int]


class WebQueries:
    """The queries above, over a `Connection`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def library_stats(self, model: str, min_group: int) -> LibraryStats:
        """`groups`: groups of unnamed faces with at least `min_group` faces."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT count(*) FILTER (WHERE indexed_at IS NOT NULL), max(indexed_at) FROM pictures",
            )
            photos, last = cur.fetchone()
            cur.execute(
                "SELECT count(*), count(*) FILTER (WHERE f.person_id IS NULL),"
                " count(*) FILTER (WHERE f.person_id IS NOT NULL)"
                " FROM faces f JOIN pictures p ON p.id = f.picture_id"
                " WHERE f.model = %s AND p.indexed_at IS NOT NULL",
                (model,),
            )
            faces, unnamed, named = cur.fetchone()
            cur.execute(
                "SELECT count(*) FROM group_sizes WHERE model = %s AND size >= %s",
                (model, min_group),
            )
            (groups,) = cur.fetchone()
            cur.execute(
                "SELECT (SELECT count(*) FROM people),"
                " (SELECT count(*) FROM faces WHERE model = %s AND person_id IS NOT NULL)",
                (model,),
            )
            people, samples = cur.fetchone()
        return LibraryStats(
            int(photos), int(faces), int(unnamed), int(named), int(groups), int(people), int(samples), last
        )

    def folders(self, model: str, limit: int) -> list[FolderStats]:
        """The folders holding indexed photos, most photos first (at most `limit`)."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT regexp_replace(p.picture, '/[^/]*$', '') AS folder, count(DISTINCT p.id),"
                " count(f.id), max(p.indexed_at)"
                " FROM pictures p LEFT JOIN faces f ON f.picture_id = p.id AND f.model = %s"
                " WHERE p.indexed_at IS NOT NULL GROUP BY folder ORDER BY count(DISTINCT p.id) DESC, folder"
                " LIMIT %s",
                (model, limit),
            )
            return [FolderStats(d or "/", int(n), int(f), t) for d, n, f, t in cur.fetchall()]

    def face_sources(self, face_ids: Sequence[int]) -> dict[int, FaceSource]:
        """The picture and box of each face that exists (missing ids are left out)."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT f.id, p.picture, p.sha256, p.width, p.height, f.box, p.source"
                " FROM faces f JOIN pictures p ON p.id = f.picture_id WHERE f.id = ANY(%s)",
                (list(face_ids),),
            )
            rows = cur.fetchall()
        return {int(i): FaceSource(int(i), pic, sha, w, h, row_box(b), src) for i, pic, sha, w, h, b, src in rows}

    def existing_faces(self, face_ids: Sequence[int]) -> set[int]:
        """Which of `face_ids` are still stored."""
        with self.conn.transaction() as cur:
            cur.execute("SELECT id FROM faces WHERE id = ANY(%s)", (list(face_ids),))
            return {int(r[0]) for r in cur.fetchall()}

    def people_faces(self, model: str, first: int) -> list[PersonFaces]:
        """Every registered person, most faces first: their faces of `model`, the
        library photos they are named in, and their `first` faces (samples first)."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT pe.name, count(f.id), count(DISTINCT p.id) FILTER (WHERE p.indexed_at IS NOT NULL),"
                " (array_agg(f.id ORDER BY (f.crop IS NULL), f.id) FILTER (WHERE f.id IS NOT NULL))[1:%s]"
                " FROM people pe LEFT JOIN faces f ON f.person_id = pe.id AND f.model = %s"
                " LEFT JOIN pictures p ON p.id = f.picture_id"
                " GROUP BY pe.id ORDER BY count(f.id) DESC, pe.name",
                (first, model),
            )
            return [PersonFaces(n, int(c), int(ph), [int(i) for i in ids or []]) for n, c, ph, ids in cur.fetchall()]

    def person_faces(self, person_id: int, model: str) -> list[PersonFaceRow]:
        """Every face of `model` attached to a person: samples first, then by id."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT f.id, p.picture, f.box, f.crop IS NOT NULL, p.indexed_at IS NOT NULL"
                " FROM faces f JOIN pictures p ON p.id = f.picture_id"
                " WHERE f.person_id = %s AND f.model = %s ORDER BY (f.crop IS NULL), f.id",
                (person_id, model),
            )
            return [PersonFaceRow(int(i), pic, row_box(b), s, ix) for i, pic, b, s, ix in cur.fetchall()]
