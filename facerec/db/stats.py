"""What the database holds, in one query: the numbers `stats`, the menu's title
line and the web page's Library screen show (each defined once, here), and the
folders of indexed photos."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from facerec.db.connection import Connection


@dataclass(frozen=True)
class Counts:
    """For one embedder: indexed photos and their faces (unnamed and named),
    registered people and their samples (every face named as them: registration
    samples and named library faces), groups of unnamed faces of at least the
    listed size (as last found, hidden ones included), the database's size in
    bytes, and when `index` last stored a photo (None before the first run)."""

    photos: int
    faces: int
    unnamed_faces: int
    named_faces: int
    people: int
    samples: int
    groups: int
    size_bytes: int
    last_indexed: datetime | None
    small_faces: int = 0
    """Of `unnamed_faces`, those too small to recognise (shown, never grouped or matched)."""


@dataclass(frozen=True)
class FolderCounts:
    """One folder of indexed photos (the photos directly in it, not in its subfolders)."""

    folder: str
    photos: int
    faces: int
    last_indexed: datetime | None


class StatsStore:
    """The counts over a `Connection`, for one embedder (`model`)."""

    def __init__(self, conn: Connection, model: str) -> None:
        self.conn = conn
        self.model = model

    def version(self) -> tuple[int, int, int]:
        """Changes whenever an answer about the library can: the newest journal entry
        (every change of who is who), the newest face and the number of faces (index,
        prune, registration). Cheap: two index lookups and an index-only count."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT (SELECT coalesce(max(id), 0) FROM journal), (SELECT coalesce(max(id), 0) FROM faces),"
                " (SELECT count(*) FROM faces)"
            )
            journal, face, faces = cur.fetchone()
            return int(journal), int(face), int(faces)

    def counts(self, min_group: int) -> Counts:
        """Every count at once (groups: those of at least `min_group` faces)."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT"
                " (SELECT count(*) FROM pictures WHERE indexed_at IS NOT NULL),"
                " (SELECT max(indexed_at) FROM pictures),"
                " (SELECT count(*) FROM faces f JOIN pictures p ON p.id = f.picture_id"
                "   WHERE f.model = %(m)s AND p.indexed_at IS NOT NULL),"
                " (SELECT count(*) FROM faces f JOIN pictures p ON p.id = f.picture_id"
                "   WHERE f.model = %(m)s AND p.indexed_at IS NOT NULL AND f.person_id IS NULL),"
                " (SELECT count(*) FROM faces f JOIN pictures p ON p.id = f.picture_id"
                "   WHERE f.model = %(m)s AND p.indexed_at IS NOT NULL AND f.small),"
                " (SELECT count(*) FROM people),"
                " (SELECT count(*) FROM faces WHERE model = %(m)s AND person_id IS NOT NULL),"
                " (SELECT count(*) FROM group_sizes WHERE model = %(m)s AND size >= %(min)s),"
                " pg_database_size(current_database())",
                {"m": self.model, "min": min_group},
            )
            photos, last, faces, unnamed, small, people, samples, groups, size = cur.fetchone()
        return Counts(
            int(photos),
            int(faces),
            int(unnamed),
            int(faces) - int(unnamed),
            int(people),
            int(samples),
            int(groups),
            int(size),
            last,
            int(small),
        )

    def folders(self, limit: int) -> list[FolderCounts]:
        """The folders holding indexed photos, most photos first (at most `limit`)."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT regexp_replace(p.picture, '/[^/]*$', '') AS folder, count(DISTINCT p.id),"
                " count(f.id), max(p.indexed_at)"
                " FROM pictures p LEFT JOIN faces f ON f.picture_id = p.id AND f.model = %s"
                " WHERE p.indexed_at IS NOT NULL GROUP BY folder ORDER BY count(DISTINCT p.id) DESC, folder"
                " LIMIT %s",
                (self.model, limit),
            )
            return [FolderCounts(d or "/", int(n), int(f), t) for d, n, f, t in cur.fetchall()]
