"""`stats`: what the database holds, how big it is, and where it lives."""

from __future__ import annotations

from dataclasses import dataclass

from facerec.db.connection import describe_url
from facerec.usecases.context import Context

__all__ = ["Stats", "stats"]


@dataclass(frozen=True)
class Stats:
    """Indexed photos and their faces, registered people and their samples, groups
    of unnamed faces (of at least two, as of the last `people`), for the embedder
    in use; the database's size in bytes and where it is (the embedded server's
    folder, or `user@host:port/db` of `DATABASE_URL`, never its password)."""

    photos: int
    faces: int
    people: int
    samples: int
    groups: int
    size_bytes: int
    location: str
    embedded: bool

    def as_json(self) -> dict[str, object]:
        return {
            "photos": self.photos,
            "faces": self.faces,
            "people": self.people,
            "samples": self.samples,
            "groups": self.groups,
            "database_bytes": self.size_bytes,
            "database": self.location,
            "embedded": self.embedded,
        }


def stats(ctx: Context) -> Stats:
    counts = ctx.db.library.stats(ctx.spec.name)
    url = ctx.settings.database_url
    location = describe_url(url) if url else str(ctx.settings.pgdata)
    return Stats(
        counts.photos,
        counts.faces,
        counts.people,
        counts.samples,
        counts.groups,
        counts.size_bytes,
        location,
        embedded=not url,
    )
