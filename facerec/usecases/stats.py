"""`stats`: what the database holds, how big it is, and where it lives."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from facerec.db.connection import describe_url
from facerec.db.library import LibraryStats
from facerec.usecases.context import Context

__all__ = ["Stats", "stats"]


@dataclass(frozen=True)
class Stats:
    """The counts (indexed photos and their faces, registered people and their
    samples, for the embedder in use; groups of at least two unnamed faces, as of
    the last `people`; the size in bytes) and where the database is: the
    embedded server's folder, or `user@host:port/db` of `DATABASE_URL` (never
    its password)."""

    counts: LibraryStats
    location: str
    embedded: bool

    def as_json(self) -> dict[str, object]:
        return {**dataclasses.asdict(self.counts), "database": self.location, "embedded": self.embedded}


def stats(ctx: Context) -> Stats:
    url = ctx.settings.database_url
    location = describe_url(url) if url else str(ctx.settings.pgdata)
    return Stats(ctx.db.library.stats(ctx.spec.name, ctx.settings.people_min_faces), location, embedded=not url)
