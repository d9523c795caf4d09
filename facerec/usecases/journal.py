"""The journal of changes to who is who: `history` lists them, `undo` reverts the
last one (or one by its number), `redo` puts back what the last undo reverted.

Every registration, naming, merge, split, sample removal and rename is
recorded as it happens (`facerec.db.journal`); `undo` reverts the newest one
still in effect, exactly (the same rows as before), and can be repeated to go
further back. Deleting a person is an erasure and cannot be undone: `undo`
then refuses and names the change before it (`undo N` reverts that one), so
it never reverts an older change without saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facerec.types import JournalEntry
from facerec.usecases.context import Context
from facerec.usecases.metadata.export import restore_export
from facerec.usecases.people.crops import remove_data_files

__all__ = ["History", "Undone", "history", "next_undo", "redo", "undo"]


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


def next_undo(ctx: Context, entry_id: int | None = None) -> JournalEntry:
    """The change `undo` would revert (to show it and ask first), or the error it would raise."""
    return ctx.db.journal.next_undo(entry_id)


def undo(ctx: Context, entry_id: int | None = None) -> Undone:
    """Revert the newest change still in effect, or change `entry_id` (`NothingToUndoError`
    if none; `UndoError` if it cannot be undone: an erasure, a later change to the same
    rows, or data that changed since). The stored images it leaves unused are removed."""
    restore_export(ctx, ctx.db.journal.next_undo(entry_id).id)  # an `xmp export`: its old sidecars back first
    done = ctx.db.journal.undo(entry_id)
    return Undone(done.entry, remove_data_files(ctx, done.unused_files))


def redo(ctx: Context) -> Undone:
    """Put back the change the last undo reverted (undoable again). The face crops that
    undo removed stay removed: the samples come back, their crops are forgotten."""
    done = ctx.db.journal.redo()
    missing = [f for f in done.files_back if not _exists(ctx, f)]
    if missing:
        ctx.db.people.forget_crops(missing)
    return Undone(done.entry, remove_data_files(ctx, done.unused_files))


def _exists(ctx: Context, name: str) -> bool:
    path = Path(name)
    return (path if path.is_absolute() else ctx.settings.data_dir / path).exists()
