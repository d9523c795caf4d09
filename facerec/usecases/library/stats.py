"""`stats`: what the database holds, how big it is, and where it lives: one use
case for the `stats` command, the menu's title line and the web page's Library
screen, so they never disagree."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from facerec.db.connection import describe_url
from facerec.db.stats import Counts, FolderCounts
from facerec.usecases.context import Context

__all__ = ["Stats", "stats"]

MAX_FOLDERS = 200
"""The Library screen lists at most this many folders (those with the most photos)."""


@dataclass(frozen=True)
class Stats:
    """The counts (see `facerec.db.stats.Counts`; groups of at least
    `FACEREC_PEOPLE_MIN_FACES` faces, as the People view lists them) for the
    embedder `model`, where the database is (the embedded server's folder, or
    `user@host:port/db` of `DATABASE_URL`, never its password) and, when asked
    for, the folders of indexed photos, most photos first."""

    counts: Counts
    model: str
    location: str
    embedded: bool
    folders: list[FolderCounts] = dataclasses.field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        counts = dataclasses.asdict(self.counts)
        counts["last_indexed"] = self.counts.last_indexed.isoformat() if self.counts.last_indexed else None
        return {**counts, "model": self.model, "database": self.location, "embedded": self.embedded}


def stats(ctx: Context, folders: int = 0) -> Stats:
    """Every count at once, and the first `folders` folders of indexed photos."""
    url = ctx.settings.database_url
    location = describe_url(url) if url else str(ctx.settings.pgdata)
    counts = ctx.db.stats.counts(ctx.settings.people_min_faces)
    listed = ctx.db.stats.folders(folders) if folders else []
    return Stats(counts, ctx.spec.name, location, not url, listed)
