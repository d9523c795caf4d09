"""The journal of changes to who is who: `history` lists them, `undo` reverts the last one.

Every registration, naming, merge, split, sample removal and rename is
recorded as it happens (`facerec.db.journal`); `undo` reverts the newest one
not yet reverted, exactly (the same rows as before), and can be repeated to
go further back. Deleting a person is an erasure and cannot be undone.
"""

from __future__ import annotations

from dataclasses import dataclass

from facerec.types import JournalEntry
from facerec.usecases.context import Context
from facerec.usecases.crops import remove_data_files

__all__ = ["History", "Undone", "history", "undo"]


@dataclass(frozen=True)
class History:
    """The newest changes first."""

    entries: list[JournalEntry]


@dataclass(frozen=True)
class Undone:
    """The change `undo` reverted, and the stored images it left unused (removed)."""

    entry: JournalEntry
    files_removed: int


def history(ctx: Context, limit: int = 20) -> History:
    return History(ctx.db.journal.history(limit))


def undo(ctx: Context) -> Undone:
    """Revert the newest change not yet reverted (`NothingToUndoError` if none,
    `UndoError` if the data it touched changed since in a way that prevents it)."""
    done = ctx.db.journal.undo()
    return Undone(done.entry, remove_data_files(ctx, done.unused_files))
