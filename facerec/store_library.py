"""SQL for the photo library: indexed pictures, face search, and people groups.

Like `facerec.store` (which it builds on: same connection, same
transactions), this is the only place these tables are queried.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import psycopg2.extensions
from psycopg2 import sql
from psycopg2.extras import execute_values

from facerec.store import Store, face_values
from facerec.types import Box, EmbeddedFace

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


@dataclass(frozen=True)
class FaceHit:
    """A stored face found by a search."""

    face_id: int
    picture: str
    box: Box
    distance: float
    person: str | None = None


@dataclass(frozen=True)
class FaceRow:
    """A stored face, as the people commands show it."""

    face_id: int
    picture: str
    box: Box
    cluster_id: int | None
    person: str | None


def _box(values: Sequence[int]) -> Box:
    x, y, w, h = (int(v) for v in values)
    return Box(x, y, w, h)


def _vec(value: object) -> np.ndarray:
    to_numpy = getattr(value, "to_numpy", None)
    return np.asarray(to_numpy() if to_numpy else value, np.float32)


def _overlaps(box: Box, others: Iterable[Box], iou: float = 0.5) -> bool:
    return any(box.iou(o) >= iou for o in others)


class LibraryStore:
    """Library queries over a `Store`'s connection."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- indexing -----------------------------------------------------------

    def pictures(self) -> dict[str, PictureState]:
        """Every photo file the database knows (library or registration), by key."""
        with self.store.transaction() as cur:
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
        return self.store.retrying(lambda cur: sum(self._save_photo(cur, photo) for photo in ordered))

    @staticmethod
    def _save_photo(cur: psycopg2.extensions.cursor, photo: IndexedPhoto) -> int:
        cur.execute(
            "INSERT INTO pictures (picture, source, sha256, size, mtime, width, height, indexed_at)"
            " VALUES (%s, 'file', %s, %s, %s, %s, %s, now())"
            " ON CONFLICT (picture) DO UPDATE SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size,"
            " mtime = EXCLUDED.mtime, width = EXCLUDED.width, height = EXCLUDED.height, indexed_at = now()"
            " RETURNING id",
            (photo.picture, photo.sha256, photo.size, photo.mtime, photo.width, photo.height),
        )
        picture_id = int(cur.fetchone()[0])
        models = {f.model for f in photo.faces}
        cur.execute(
            "DELETE FROM faces WHERE picture_id = %s AND person_id IS NULL AND model = ANY(%s)",
            (picture_id, list(models) or [""]),
        )
        cur.execute("SELECT box FROM faces WHERE picture_id = %s AND person_id IS NOT NULL", (picture_id,))
        kept = [_box(r[0]) for r in cur.fetchall()]
        rows = [
            (picture_id, *face_values(f.model, f.face, f.embedding))
            for f in photo.faces
            if not _overlaps(f.face.box, kept)
        ]
        if rows:
            execute_values(
                cur,
                "INSERT INTO faces (picture_id, model, box, landmarks, score, embedding) VALUES %s",
                rows,
                template="(%s, %s, %s, %s, %s, %s)",
            )
        return len(rows)

    def touch(self, picture_id: int, size: int, mtime: float) -> None:
        """Same content, new size/mtime facts (a `touch`, a copy with preserved bytes)."""
        query = "UPDATE pictures SET size = %s, mtime = %s WHERE id = %s"
        self.store.retrying(lambda cur: cur.execute(query, (size, mtime, picture_id)))

    def move(self, picture_id: int, new_key: str, size: int, mtime: float) -> None:
        """A file moved or renamed: only its path changes; its faces stay as they are."""

        def move(cur: psycopg2.extensions.cursor) -> None:
            cur.execute("DELETE FROM pictures WHERE picture = %s AND id <> %s", (new_key, picture_id))
            cur.execute(
                "UPDATE pictures SET picture = %s, size = %s, mtime = %s WHERE id = %s",
                (new_key, size, mtime, picture_id),
            )

        self.store.retrying(move)

    def copy(self, source_id: int, new_key: str, size: int, mtime: float) -> int:
        """A second file with the same bytes: copy the picture's faces instead of
        analysing it again. Returns the faces copied."""

        def copy(cur: psycopg2.extensions.cursor) -> int:
            cur.execute(
                "INSERT INTO pictures (picture, source, sha256, size, mtime, width, height, indexed_at)"
                " SELECT %s, 'file', sha256, %s, %s, width, height, now() FROM pictures WHERE id = %s"
                " ON CONFLICT (picture) DO UPDATE SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size,"
                " mtime = EXCLUDED.mtime, indexed_at = now()"
                " RETURNING id",
                (new_key, size, mtime, source_id),
            )
            new_id = int(cur.fetchone()[0])
            cur.execute("DELETE FROM faces WHERE picture_id = %s AND person_id IS NULL", (new_id,))
            cur.execute(
                "INSERT INTO faces (picture_id, person_id, model, box, landmarks, score, embedding)"
                " SELECT %s, person_id, model, box, landmarks, score, embedding FROM faces WHERE picture_id = %s",
                (new_id, source_id),
            )
            return int(cur.rowcount)

        return self.store.retrying(copy)

    def indexed_under(self, roots: Sequence[str]) -> list[str]:
        """Keys of library pictures inside any of the folders `roots` (absolute, no trailing slash)."""
        out: list[str] = []
        with self.store.transaction() as cur:
            for root in roots:
                cur.execute(
                    "SELECT picture FROM pictures WHERE indexed_at IS NOT NULL AND starts_with(picture, %s)",
                    (root.rstrip("/") + "/",),
                )
                out += [r[0] for r in cur.fetchall()]
        return out

    def prune(self, keys: Sequence[str]) -> int:
        """Forget library pictures whose files are gone; returns how many.

        Their unnamed faces go. A picture that also holds a person's
        registration sample keeps that sample (it only leaves the library).
        """
        if not keys:
            return 0
        with self.store.transaction() as cur:
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

    def search(self, model: str, dim: int, vectors: Sequence[np.ndarray], max_distance: float) -> list[list[FaceHit]]:
        """For each vector, every face in the library within `max_distance`, nearest first.

        Reads the HNSW index in growing batches (with pgvector's iterative
        scan, so filtering never starves the result) until the farthest face
        read is beyond `max_distance`.
        """
        results: list[list[FaceHit]] = [[] for _ in vectors]
        pending = list(range(len(vectors)))
        k = 64
        while pending:
            rows = self._search_batch(model, dim, [vectors[i] for i in pending], k)
            still = []
            for j, i in enumerate(pending):
                raw = rows[j]
                results[i] = [hit for hit, indexed in raw if indexed and hit.distance <= max_distance]
                if len(raw) == k and raw[-1][0].distance <= max_distance and k < MAX_CANDIDATES:
                    still.append(i)
            pending = still
            k *= 4
        return results

    def _search_batch(
        self, model: str, dim: int, vectors: Sequence[np.ndarray], k: int
    ) -> list[list[tuple[FaceHit, bool]]]:
        vt = sql.SQL("vector({})").format(sql.Literal(dim))
        query = sql.SQL(
            "SELECT q.ord, m.id, pic.picture, m.box, m.distance, pe.name, pic.indexed_at IS NOT NULL"
            " FROM unnest(%(vectors)s::vector[]) WITH ORDINALITY AS q(v, ord)"
            " CROSS JOIN LATERAL ("
            "   SELECT f.id, f.picture_id, f.box, f.person_id, f.embedding::{vt} <=> q.v::{vt} AS distance"
            "   FROM faces f WHERE f.model = %(model)s"
            "   ORDER BY f.embedding::{vt} <=> q.v::{vt} LIMIT %(k)s"
            " ) m JOIN pictures pic ON pic.id = m.picture_id"
            " LEFT JOIN people pe ON pe.id = m.person_id"
            " ORDER BY q.ord, m.distance"
        ).format(vt=vt)
        out: list[list[tuple[FaceHit, bool]]] = [[] for _ in vectors]
        with self.store.transaction() as cur:
            cur.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(min(1000, max(40, k))),))
            cur.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
            cur.execute(query, {"vectors": [np.asarray(v, np.float32) for v in vectors], "model": model, "k": k})
            for ord_, face_id, picture, box, distance, person, indexed in cur.fetchall():
                out[ord_ - 1].append((FaceHit(int(face_id), picture, _box(box), float(distance), person), indexed))
        for hits in out:  # relaxed order: nearly sorted; make it exact
            hits.sort(key=lambda h: h[0].distance)
        return out

    def face_vectors(self, face_ids: Sequence[int]) -> list[np.ndarray]:
        """The embeddings of the given faces, in the same order."""
        with self.store.transaction() as cur:
            cur.execute("SELECT id, embedding FROM faces WHERE id = ANY(%s)", (list(face_ids),))
            by_id = {int(i): _vec(e) for i, e in cur.fetchall()}
        return [by_id[i] for i in face_ids]

    def person_vectors(self, person_id: int, model: str) -> list[np.ndarray]:
        """Every embedding attached to a person (samples and named faces)."""
        with self.store.transaction() as cur:
            cur.execute("SELECT embedding FROM faces WHERE person_id = %s AND model = %s", (person_id, model))
            return [_vec(r[0]) for r in cur.fetchall()]

    # -- people groups ------------------------------------------------------

    def unnamed_faces(self, model: str) -> tuple[list[int], list[int], np.ndarray]:
        """Ids, picture ids and embeddings of library faces not attached to anyone."""
        with self.store.transaction() as cur:
            cur.execute(
                "SELECT f.id, f.picture_id, f.embedding FROM faces f JOIN pictures p ON p.id = f.picture_id"
                " WHERE f.model = %s AND f.person_id IS NULL AND p.indexed_at IS NOT NULL ORDER BY f.id",
                (model,),
            )
            rows = cur.fetchall()
        ids = [int(r[0]) for r in rows]
        pictures = [int(r[1]) for r in rows]
        vectors = np.stack([_vec(r[2]) for r in rows]) if rows else np.zeros((0, 0), np.float32)
        return ids, pictures, vectors

    def links(self) -> list[tuple[int, int, str]]:
        """Every (face_a, face_b, 'same' | 'different') the user has stated."""
        with self.store.transaction() as cur:
            cur.execute("SELECT face_a, face_b, kind FROM face_links")
            return [(int(a), int(b), k) for a, b, k in cur.fetchall()]

    def not_person(self) -> set[tuple[int, int]]:
        """Every (face_id, person_id) the user has said does not go together."""
        with self.store.transaction() as cur:
            cur.execute("SELECT face_id, person_id FROM face_not_person")
            return {(int(a), int(b)) for a, b in cur.fetchall()}

    def set_clusters(self, model: str, assignment: dict[int, int]) -> None:
        """Replace the stored groups of `model`'s unnamed faces with `assignment` (face id -> group id)."""
        with self.store.transaction() as cur:
            cur.execute("UPDATE faces SET cluster_id = NULL WHERE model = %s AND cluster_id IS NOT NULL", (model,))
            if assignment:
                execute_values(
                    cur,
                    "UPDATE faces f SET cluster_id = v.cluster FROM (VALUES %s) AS v(id, cluster) WHERE f.id = v.id",
                    list(assignment.items()),
                    page_size=5000,
                )

    def set_group(self, old: int, new: int) -> None:
        """Move every face of group `old` into group `new`."""
        with self.store.transaction() as cur:
            cur.execute("UPDATE faces SET cluster_id = %s WHERE cluster_id = %s", (new, old))

    def groups(self, model: str) -> dict[int, list[FaceRow]]:
        """The stored groups of unnamed faces: group id -> faces."""
        out: dict[int, list[FaceRow]] = {}
        for row in self._faces("f.model = %s AND f.cluster_id IS NOT NULL AND f.person_id IS NULL", (model,)):
            assert row.cluster_id is not None
            out.setdefault(row.cluster_id, []).append(row)
        return out

    def face(self, face_id: int) -> FaceRow | None:
        rows = self._faces("f.id = %s", (face_id,))
        return rows[0] if rows else None

    def _faces(self, where: str, params: tuple[object, ...]) -> list[FaceRow]:
        """Faces matching `where`, a fixed condition from this module (values go in `params`)."""
        query = sql.SQL(
            "SELECT f.id, p.picture, f.box, f.cluster_id, pe.name FROM faces f"
            " JOIN pictures p ON p.id = f.picture_id LEFT JOIN people pe ON pe.id = f.person_id"
            " WHERE {} ORDER BY f.id"
        ).format(sql.SQL(where))
        with self.store.transaction() as cur:
            cur.execute(query, params)
            return [FaceRow(int(i), pic, _box(b), c, n) for i, pic, b, c, n in cur.fetchall()]

    def attach(self, face_ids: Sequence[int], name: str) -> int:
        """Attach faces to person `name` (created if new), skipping faces the user
        said are not them. The same detection's rows of other models follow.
        Returns the faces attached."""
        with self.store.transaction() as cur:
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

    def link(self, a: int, b: int, kind: str) -> None:
        """Remember that faces `a` and `b` are the same person or different people."""
        lo, hi = min(a, b), max(a, b)
        with self.store.transaction() as cur:
            cur.execute(
                "INSERT INTO face_links (face_a, face_b, kind) VALUES (%s, %s, %s)"
                " ON CONFLICT (face_a, face_b) DO UPDATE SET kind = EXCLUDED.kind",
                (lo, hi, kind),
            )

    def separate(self, face_id: int, others: Sequence[int]) -> None:
        """Split one face from a group: 'different' links to the group's other faces."""
        pairs = [(min(face_id, o), max(face_id, o), "different") for o in others if o != face_id]
        with self.store.transaction() as cur:
            if pairs:
                execute_values(
                    cur,
                    "INSERT INTO face_links (face_a, face_b, kind) VALUES %s"
                    " ON CONFLICT (face_a, face_b) DO UPDATE SET kind = EXCLUDED.kind",
                    pairs,
                )
            cur.execute("UPDATE faces SET cluster_id = id WHERE id = %s", (face_id,))

    def detach(self, face_id: int) -> str | None:
        """ "Not this person" for a named face: detach it (and its other-model rows) and
        remember the refusal. Returns the person's name, or None if it had none."""
        with self.store.transaction() as cur:
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
        with self.store.transaction() as cur:
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
        with self.store.transaction() as cur:
            cur.execute(
                "SELECT pe.name, count(DISTINCT p.id) FILTER (WHERE p.indexed_at IS NOT NULL) FROM people pe"
                " LEFT JOIN faces f ON f.person_id = pe.id LEFT JOIN pictures p ON p.id = f.picture_id"
                " GROUP BY pe.name ORDER BY pe.name"
            )
            return [(n, int(c)) for n, c in cur.fetchall()]
