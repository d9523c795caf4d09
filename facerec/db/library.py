"""The photo library: indexed pictures and their faces, searching them, groups
of unnamed faces ("people"), and re-embedding stored faces with another model."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import psycopg2.extensions
from psycopg2 import sql
from psycopg2.extras import execute_values

from facerec.db.connection import Connection
from facerec.db.migrate import MIGRATION_LOCK
from facerec.db.rows import box as row_box
from facerec.db.rows import face as row_face
from facerec.db.rows import face_values, vector
from facerec.db.vectors import knn_params, knn_query, set_search
from facerec.types import Box, EmbeddedFace, Face, FaceHit, FaceRow

MAX_CANDIDATES = 100_000
"""Upper bound on faces one search reads (a person in 100k photos is a lot)."""


@dataclass(frozen=True)
class PictureState:
    """What the database knows about one picture file."""

    id: int
    picture: str
    sha256: str | None
    size: int | None
    mtime: float | None
    indexed: bool


@dataclass(frozen=True)
class IndexedPhoto:
    """One analysed photo, ready to store: its file facts and every face."""

    picture: str
    sha256: str
    size: int
    mtime: float
    width: int
    height: int
    faces: list[EmbeddedFace]
    sharpness: tuple[float | None, ...] = ()
    """Each face's sharpness (`facerec.vision.quality.sharpness`), in the order of `faces`; () if not measured."""
    small: tuple[bool, ...] = ()
    """Each face: too small to recognise (stored and shown, never grouped, named or matched); () if none is."""
    turn: int = 0
    """Degrees clockwise (0, 90, 180, 270) that show the photo upright; the boxes are not turned."""
    kind: str = "photo"
    """'photo' or 'video' (a clip: `sha256` is its `clip_hash`, each face one face track)."""
    duration: float | None = None
    """A clip's length in seconds."""
    times: tuple[ClipTime, ...] = ()
    """A clip's faces: each one's time, in the order of `faces`."""


@dataclass(frozen=True)
class ClipTime:
    """When a face of a clip is on screen: `t_seconds`, its best frame (where its
    box is); `spans`, the (start, end) stretches in seconds it was seen."""

    t_seconds: float
    spans: tuple[tuple[float, float], ...] = ()

    def flat(self) -> list[float]:
        return [t for span in self.spans for t in span]


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
    turn: int = 0
    """Degrees clockwise that show the picture upright (its boxes are in the unturned pixels)."""
    small: bool = False
    """Too small to recognise."""

    t_seconds: float | None = None
    """For a face of a video clip: the time of the frame the box is in."""


@dataclass(frozen=True)
class PictureFace:
    """One face of a picture as a photo view draws it: its box (in the picture's own
    pixels), whether it is too small to recognise, and who it is named as, if anyone."""

    face_id: int
    box: Box
    small: bool
    name: str | None


def _overlaps(box: Box, others: Iterable[Box], iou: float = 0.5) -> bool:
    return any(box.iou(o) >= iou for o in others)


def _time_values(t: ClipTime | None) -> tuple[float | None, list[float] | None]:
    return (None, None) if t is None else (t.t_seconds, t.flat())


def _clip_time(t: float, spans: Sequence[float] | None) -> ClipTime:
    flat = [float(x) for x in spans or ()]
    return ClipTime(float(t), tuple(zip(flat[0::2], flat[1::2])))


def _search_query(dim: int) -> sql.Composed:
    """Each query vector's nearest faces (any face of the model), with their picture and name."""
    return knn_query(
        dim,
        "m.id, pic.picture, m.box, m.distance, pe.name, pic.indexed_at IS NOT NULL",
        "JOIN pictures pic ON pic.id = m.picture_id LEFT JOIN people pe ON pe.id = m.person_id",
    )


class LibraryStore:
    """Indexed pictures and their faces over a `Connection`, for one embedder (`model`,
    vectors of `dim` numbers)."""

    def __init__(self, conn: Connection, model: str, dim: int) -> None:
        self.conn = conn
        self.model = model
        self.dim = dim

    # -- indexing -----------------------------------------------------------

    def pictures(self) -> dict[str, PictureState]:
        """Every photo file the database knows (library or registration), by key."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT id, picture, sha256, size, mtime, indexed_at IS NOT NULL FROM pictures WHERE source = 'file'"
            )
            return {row[1]: PictureState(*row) for row in cur.fetchall()}

    def save_photos(self, photos: Sequence[IndexedPhoto]) -> int:
        """Store analysed photos, all in one transaction; returns the faces written.

        A photo indexed before (changed file) has its unnamed faces of this
        model replaced. Faces already attached to a person in that picture (a
        registration sample from the same file) are kept, and a detection
        overlapping one of them is not stored twice. Photos are written in key
        order, so two runs over the same folder lock rows in the same order
        (no deadlock); a transaction aborted anyway, or cut by a server
        restart, is run again (`Store.retrying`).
        """
        ordered = sorted(photos, key=lambda p: p.picture)
        return self.conn.retrying(lambda cur: sum(self._save_photo(cur, photo) for photo in ordered))

    @staticmethod
    def _save_photo(cur: psycopg2.extensions.cursor, photo: IndexedPhoto) -> int:
        cur.execute(
            "INSERT INTO pictures (picture, source, sha256, size, mtime, width, height, turn, indexed_at, kind,"
            " duration) VALUES (%s, 'file', %s, %s, %s, %s, %s, %s, now(), %s, %s)"
            " ON CONFLICT (picture) DO UPDATE SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size,"
            " mtime = EXCLUDED.mtime, width = EXCLUDED.width, height = EXCLUDED.height, turn = EXCLUDED.turn,"
            " indexed_at = now(), kind = EXCLUDED.kind, duration = EXCLUDED.duration"
            " RETURNING id",
            (
                photo.picture,
                photo.sha256,
                photo.size,
                photo.mtime,
                photo.width,
                photo.height,
                photo.turn,
                photo.kind,
                photo.duration,
            ),
        )
        picture_id = int(cur.fetchone()[0])
        models = {f.model for f in photo.faces}
        cur.execute(
            "DELETE FROM faces WHERE picture_id = %s AND person_id IS NULL AND model = ANY(%s)",
            (picture_id, list(models) or [""]),
        )
        cur.execute("SELECT box FROM faces WHERE picture_id = %s AND person_id IS NOT NULL", (picture_id,))
        kept = [row_box(r[0]) for r in cur.fetchall()]
        sharp = photo.sharpness or (None,) * len(photo.faces)
        small = photo.small or (False,) * len(photo.faces)
        times: Sequence[ClipTime | None] = photo.times or (None,) * len(photo.faces)
        rows = [
            (picture_id, *face_values(f.model, f.face, f.embedding), s, tiny, *_time_values(t))
            for f, s, tiny, t in zip(photo.faces, sharp, small, times)
            if t is not None or not _overlaps(f.face.box, kept)  # a clip's faces are at different times
        ]
        if rows:
            execute_values(
                cur,
                "INSERT INTO faces (picture_id, model, box, landmarks, score, embedding, sharpness, small,"
                " t_seconds, spans) VALUES %s",
                rows,
                template="(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            )
        return len(rows)

    def touch(self, picture_id: int, size: int, mtime: float) -> None:
        """Same content, new size/mtime facts (a `touch`, a copy with preserved bytes)."""
        query = "UPDATE pictures SET size = %s, mtime = %s WHERE id = %s"
        self.conn.retrying(lambda cur: cur.execute(query, (size, mtime, picture_id)))

    def move(self, picture_id: int, new_key: str, size: int, mtime: float) -> None:
        """A file moved or renamed: only its path changes; its faces stay as they are."""

        def move(cur: psycopg2.extensions.cursor) -> None:
            cur.execute("DELETE FROM pictures WHERE picture = %s AND id <> %s", (new_key, picture_id))
            cur.execute(
                "UPDATE pictures SET picture = %s, size = %s, mtime = %s WHERE id = %s",
                (new_key, size, mtime, picture_id),
            )

        self.conn.retrying(move)

    def copy(self, source_id: int, new_key: str, size: int, mtime: float) -> int:
        """A second file with the same bytes: copy the picture's faces instead of
        analysing it again. Returns the faces copied."""

        def copy(cur: psycopg2.extensions.cursor) -> int:
            cur.execute(
                "INSERT INTO pictures (picture, source, sha256, size, mtime, width, height, turn, indexed_at,"
                " kind, duration)"
                " SELECT %s, 'file', sha256, %s, %s, width, height, turn, now(), kind, duration FROM pictures"
                " WHERE id = %s"
                " ON CONFLICT (picture) DO UPDATE SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size,"
                " mtime = EXCLUDED.mtime, turn = EXCLUDED.turn, indexed_at = now(), kind = EXCLUDED.kind,"
                " duration = EXCLUDED.duration"
                " RETURNING id",
                (new_key, size, mtime, source_id),
            )
            new_id = int(cur.fetchone()[0])
            cur.execute("DELETE FROM faces WHERE picture_id = %s AND person_id IS NULL", (new_id,))
            cur.execute(
                "INSERT INTO faces (picture_id, person_id, model, box, landmarks, score, embedding, sharpness,"
                " small, t_seconds, spans)"
                " SELECT %s, person_id, model, box, landmarks, score, embedding, sharpness, small, t_seconds, spans"
                " FROM faces WHERE picture_id = %s",
                (new_id, source_id),
            )
            return int(cur.rowcount)

        return self.conn.retrying(copy)

    def indexed_under(self, roots: Sequence[str]) -> list[str]:
        """Keys of library pictures inside any of the folders `roots` (absolute, no trailing slash)."""
        out: list[str] = []
        with self.conn.transaction() as cur:
            for root in roots:
                cur.execute(
                    "SELECT picture FROM pictures WHERE indexed_at IS NOT NULL AND starts_with(picture, %s)",
                    (root.rstrip("/") + "/",),
                )
                out += [r[0] for r in cur.fetchall()]
        return out

    def indexed_folders(self) -> list[str]:
        """The folders that directly hold indexed library pictures, sorted (what `facerec watch` watches by default)."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT DISTINCT regexp_replace(picture, '/[^/]*$', '') FROM pictures"
                " WHERE source = 'file' AND indexed_at IS NOT NULL ORDER BY 1"
            )
            return [r[0] or "/" for r in cur.fetchall()]

    def prune(self, keys: Sequence[str]) -> int:
        """Forget library pictures whose files are gone; returns how many.

        Their unnamed faces go. A picture that also holds a person's
        registration sample keeps that sample (it only leaves the library).
        """
        if not keys:
            return 0
        with self.conn.transaction() as cur:
            cur.execute(
                "DELETE FROM faces f USING pictures p WHERE f.picture_id = p.id AND p.picture = ANY(%s)"
                " AND p.indexed_at IS NOT NULL AND f.person_id IS NULL",
                (list(keys),),
            )
            cur.execute(
                "DELETE FROM pictures p WHERE p.picture = ANY(%s) AND p.indexed_at IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.picture_id = p.id)",
                (list(keys),),
            )
            removed = cur.rowcount
            cur.execute(
                "UPDATE pictures SET indexed_at = NULL WHERE picture = ANY(%s) AND indexed_at IS NOT NULL",
                (list(keys),),
            )
            return removed + cur.rowcount

    # -- search -------------------------------------------------------------

    def search(self, vectors: Sequence[np.ndarray], max_distance: float) -> list[list[FaceHit]]:
        """For each vector, every face in the library within `max_distance`, nearest first.

        Reads the HNSW index in growing batches (with pgvector's iterative
        scan, so filtering never starves the result) until the farthest face
        read is beyond `max_distance`.
        """
        results: list[list[FaceHit]] = [[] for _ in vectors]
        pending = list(range(len(vectors)))
        k = 64
        while pending:
            rows = self._search_batch([vectors[i] for i in pending], k)
            still = []
            for j, i in enumerate(pending):
                raw = rows[j]
                results[i] = [hit for hit, indexed in raw if indexed and hit.distance <= max_distance]
                if len(raw) == k and raw[-1][0].distance <= max_distance and k < MAX_CANDIDATES:
                    still.append(i)
            pending = still
            k *= 4
        return results

    def _search_batch(self, vectors: Sequence[np.ndarray], k: int) -> list[list[tuple[FaceHit, bool]]]:
        out: list[list[tuple[FaceHit, bool]]] = [[] for _ in vectors]
        with self.conn.transaction() as cur:
            set_search(cur, min(1000, max(40, k)), iterative=True)
            cur.execute(_search_query(self.dim), knn_params(self.model, vectors, k))
            for ord_, face_id, picture, box, distance, person, indexed in cur.fetchall():
                out[ord_ - 1].append((FaceHit(int(face_id), picture, row_box(box), float(distance), person), indexed))
        for hits in out:  # relaxed order: nearly sorted; make it exact
            hits.sort(key=lambda h: h[0].distance)
        return out

    def face_vectors(self, face_ids: Sequence[int]) -> list[np.ndarray]:
        """The embeddings of the given faces, in the same order."""
        with self.conn.transaction() as cur:
            cur.execute("SELECT id, embedding FROM faces WHERE id = ANY(%s)", (list(face_ids),))
            by_id = {int(i): vector(e) for i, e in cur.fetchall()}
        return [by_id[i] for i in face_ids]

    def face(self, face_id: int) -> FaceRow | None:
        """One stored face: its picture, box, group (if grouped) and person (if named)."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT f.id, p.picture, f.box, g.group_id, pe.name FROM faces f"
                " JOIN pictures p ON p.id = f.picture_id LEFT JOIN people pe ON pe.id = f.person_id"
                " LEFT JOIN face_groups g ON g.face_id = f.id WHERE f.id = %s",
                (face_id,),
            )
            row = cur.fetchone()
        if row is None:
            return None
        i, pic, b, c, n = row
        return FaceRow(int(i), pic, row_box(b), None if c is None else int(c), n)

    def face_sources(self, face_ids: Sequence[int]) -> dict[int, FaceSource]:
        """Where each face's pixels are (missing ids are left out): for thumbnails."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT f.id, p.picture, p.sha256, p.width, p.height, f.box, p.source, p.turn, f.small, f.t_seconds"
                " FROM faces f JOIN pictures p ON p.id = f.picture_id WHERE f.id = ANY(%s)",
                (list(face_ids),),
            )
            rows = cur.fetchall()
        return {
            int(i): FaceSource(
                int(i), pic, sha, w, h, row_box(b), src, int(turn), bool(tiny), None if t is None else float(t)
            )
            for i, pic, sha, w, h, b, src, turn, tiny, t in rows
        }

    def picture_faces(self, face_id: int) -> list[PictureFace]:
        """Every face of this model in the picture that face `face_id` is in (one row
        per detection), left to right: what a view of that photo draws."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT f.id, f.box, f.small, pe.name FROM faces f JOIN faces o ON o.picture_id = f.picture_id"
                " LEFT JOIN people pe ON pe.id = f.person_id WHERE o.id = %s AND f.model = %s ORDER BY f.id",
                (face_id, self.model),
            )
            rows = cur.fetchall()
        faces = [PictureFace(int(i), row_box(b), bool(tiny), name) for i, b, tiny, name in rows]
        return sorted(faces, key=lambda f: (f.box.x, f.box.y, f.face_id))

    def turns(self, pictures: Sequence[str]) -> dict[str, int]:
        """The turn (degrees clockwise) that shows each of these pictures upright; 0 for one not stored."""
        with self.conn.transaction() as cur:
            cur.execute("SELECT picture, turn FROM pictures WHERE picture = ANY(%s)", (list(pictures),))
            found = {pic: int(t) for pic, t in cur.fetchall()}
        return {p: found.get(p, 0) for p in pictures}

    def face_times(self, face_ids: Sequence[int]) -> dict[int, ClipTime]:
        """When each face of a video clip among `face_ids` is on screen (faces of photos are left out)."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT id, t_seconds, spans FROM faces WHERE id = ANY(%s) AND t_seconds IS NOT NULL",
                (list(face_ids),),
            )
            rows = cur.fetchall()
        return {int(i): _clip_time(t, spans) for i, t, spans in rows}

    def clip_of_face(self, face_id: int) -> tuple[str, ClipTime] | None:
        """The video file (its key) a face was found in and when, or None if it is not a face of an indexed clip."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT p.picture, f.t_seconds, f.spans FROM faces f JOIN pictures p ON p.id = f.picture_id"
                " WHERE f.id = %s AND p.kind = 'video' AND f.t_seconds IS NOT NULL",
                (face_id,),
            )
            row = cur.fetchone()
        return None if row is None else (row[0], _clip_time(row[1], row[2]))

    def existing_faces(self, face_ids: Sequence[int]) -> set[int]:
        """Which of `face_ids` are still stored."""
        with self.conn.transaction() as cur:
            cur.execute("SELECT id FROM faces WHERE id = ANY(%s)", (list(face_ids),))
            return {int(r[0]) for r in cur.fetchall()}

    # -- re-embedding with another model (`reembed`) -------------------------

    def faces_to_reembed(self, after_id: int, limit: int) -> list[StoredFace]:
        """Stored faces that have no `model` vector yet, one per detected face (a
        face is its picture and box; the row of the lowest id stands for it),
        by id, after `after_id`. Page with the last id returned."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT f.id, f.person_id, f.box, f.landmarks, f.score, f.crop, pic.picture, pic.source, pic.sha256,"
                " f.t_seconds FROM faces f JOIN pictures pic ON pic.id = f.picture_id"
                " WHERE f.model <> %(model)s AND f.id > %(after)s"
                " AND NOT EXISTS (SELECT 1 FROM faces g WHERE g.picture_id = f.picture_id AND g.box = f.box"
                "   AND (g.model = %(model)s OR g.id < f.id))"
                " ORDER BY f.id LIMIT %(limit)s",
                {"model": self.model, "after": after_id, "limit": limit},
            )
            rows = cur.fetchall()
        return [
            StoredFace(
                id=int(i),
                person_id=None if pid is None else int(pid),
                face=row_face(box, score, landmarks),
                crop=crop,
                picture=picture,
                source=source,
                sha256=sha256,
                t_seconds=None if t is None else float(t),
            )
            for i, pid, box, landmarks, score, crop, picture, source, sha256, t in rows
        ]

    def add_reembedded(self, vectors: Sequence[tuple[int, np.ndarray]]) -> int:
        """For each (stored face id, vector), a new `model` row copying that face's
        picture, person, box, landmarks, score and crop; all in one transaction.
        A face that already has a `model` vector is left alone (so running
        twice, or twice at once, adds nothing). Returns the rows added."""
        added = 0
        with self.conn.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (MIGRATION_LOCK, self.model))
            for face_id, vector in vectors:
                cur.execute(
                    "INSERT INTO faces (picture_id, person_id, model, box, landmarks, score, embedding, crop,"
                    " sharpness, small, t_seconds, spans) SELECT f.picture_id, f.person_id, %(model)s, f.box,"
                    " f.landmarks, f.score, %(v)s, f.crop, f.sharpness, f.small, f.t_seconds, f.spans"
                    " FROM faces f WHERE f.id = %(id)s AND NOT EXISTS ("
                    "   SELECT 1 FROM faces g WHERE g.picture_id = f.picture_id AND g.box = f.box"
                    "   AND g.model = %(model)s)",
                    {"model": self.model, "v": np.asarray(vector, np.float32), "id": face_id},
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
    t_seconds: float | None = None
    """A face of a video clip: the time of the frame its box is in."""
