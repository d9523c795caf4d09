"""The photo library at a glance: photos, faces, people and groups, the
indexed folders, and when `index` last stored a photo."""

from __future__ import annotations

from dataclasses import dataclass

from facerec.db.web_queries import FolderStats, LibraryStats, WebQueries
from facerec.usecases.context import Context

__all__ = ["LibraryOverview", "library_overview"]

MAX_FOLDERS = 200
"""The overview lists at most this many folders (those with the most photos)."""


@dataclass(frozen=True)
class LibraryOverview:
    """Counts for the embedder in use, and the folders of indexed photos, most photos first."""

    model: str
    stats: LibraryStats
    folders: list[FolderStats]


def library_overview(ctx: Context, max_folders: int = MAX_FOLDERS) -> LibraryOverview:
    queries = WebQueries(ctx.db.conn)
    stats = queries.library_stats(ctx.spec.name, ctx.settings.people_min_faces)
    return LibraryOverview(ctx.spec.name, stats, queries.folders(ctx.spec.name, max_folders))
