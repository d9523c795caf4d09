"""The journal: every change to who is who, and how to revert it exactly.

A change is recorded by a `Recorder` (`facerec.db.recorder`) inside the transaction that makes it:
before rows are updated or deleted their whole state is copied (`to_jsonb`),
and the keys of inserted rows are noted. `undo` reverts the newest entry not
yet reverted, in one transaction: inserted rows are deleted, deleted rows are
put back with their ids, updated rows get their earlier state back. A row
that is gone since (a photo re-indexed, pruned) is not brought back by an
update. If the database changed since in a way that makes the old state
impossible (a name taken since, a person deleted since), undo refuses and
changes nothing.

Deleting a person is an erasure: it is journalled without a copy, cannot be
undone, and scrubs every earlier entry about that person (see sql/005).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg2.errors
import psycopg2.extensions
from psycopg2 import sql
from psycopg2.extras import Json

from facerec.db.connection import Connection
from facerec.db.recorder import IDENTITY, INSERT_ORDER, KEYS
from facerec.errors import NothingToUndoError, UndoError
from facerec.types import JournalEntry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reverted:
    """What `undo` or `redo` did: the entry reverted (or put back), the new entry,
    stored images no row refers to any more, and those the rows put back refer to."""

    entry: JournalEntry
    undo_id: int
    unused_files: list[str]
    files_back: list[str] = field(default_factory=list)


class JournalStore:
    """The journal over a `Connection`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def history(self, limit: int = 20) -> list[JournalEntry]:
        """The newest entries first."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT j.id, j.at, j.action, j.summary, u.id, j.reverts, j.changes IS NOT NULL, j.people"
                " FROM journal j LEFT JOIN journal u ON u.reverts = j.id"
                " ORDER BY j.id DESC LIMIT %s",
                (limit,),
            )
            return [
                JournalEntry(i, at, a, s, u, r, bool(c and u is None and a != "undo"), list(p))
                for i, at, a, s, u, r, c, p in cur.fetchall()
            ]

    def next_undo(self, entry_id: int | None = None) -> JournalEntry:
        """The change `undo` (or `undo entry_id`) would revert, after the checks that
        would make it refuse (see `undo`); nothing is changed."""

        def work(cur: psycopg2.extensions.cursor) -> JournalEntry:
            row = _undo_target(cur, entry_id, lock=False)
            return JournalEntry(row[0], row[1], row[2], row[3], None, None, True, list(row[5]))

        return self.conn.retrying(work)

    def undo(self, entry_id: int | None = None) -> Reverted:
        """Revert the newest change still in effect, or change `entry_id`.

        The newest change is never passed over: when it cannot be undone (an
        erasure), this refuses and names the change before it, to be undone by
        its number. A change given by number is refused while a later change in
        effect touched the same rows (undo that one first). The undo is itself
        an entry, with what it reverted recorded, so `redo` can put it back."""

        def work(cur: psycopg2.extensions.cursor) -> Reverted:
            cur.execute("SELECT pg_advisory_xact_lock(7425002)")  # one undo or redo at a time
            entry_id_, at, action, summary, changes, people, files = _undo_target(cur, entry_id, lock=True)
            undo_id, unused = _revert_recorded(
                cur, changes, files, "undo", f"undo of #{entry_id_}: {summary}", people, entry_id_
            )
            entry = JournalEntry(entry_id_, at, action, summary, undo_id, None, False, list(people))
            return Reverted(entry, undo_id, unused)

        return self.conn.retrying(work)

    def redo(self) -> Reverted:
        """Put back the change the newest undo reverted, as long as no other change
        was made since that undo (`NothingToUndoError` otherwise). Undoable again."""

        def work(cur: psycopg2.extensions.cursor) -> Reverted:
            cur.execute("SELECT pg_advisory_xact_lock(7425002)")
            cur.execute(
                "SELECT j.id, j.changes, j.people, j.reverts, o.at, o.action, o.summary FROM journal j"
                " JOIN journal o ON o.id = j.reverts"
                " WHERE j.action = 'undo' AND j.changes IS NOT NULL"
                "   AND NOT EXISTS (SELECT 1 FROM journal u WHERE u.reverts = j.id)"
                " AND NOT EXISTS (SELECT 1 FROM journal n WHERE n.id > j.id AND n.action NOT IN ('undo', 'redo')"
                "   AND NOT EXISTS (SELECT 1 FROM journal u WHERE u.reverts = n.id))"
                " ORDER BY j.id DESC LIMIT 1 FOR UPDATE OF j"
            )
            row = cur.fetchone()
            if row is None:
                raise NothingToUndoError("nothing to redo: no undo since the last change")
            undo_id, changes, people, original, at, action, summary = row
            redo_id, unused = _revert_recorded(
                cur, changes, [], "redo", f"redo of #{original}: {summary}", people, undo_id
            )
            entry = JournalEntry(original, at, action, summary, None, None, True, list(people))
            back = [r["crop"] for r in changes.get("deleted", {}).get("faces", []) if r.get("crop")]
            back += [
                r["picture"] for r in changes.get("deleted", {}).get("pictures", []) if r.get("source") == "capture"
            ]
            return Reverted(entry, redo_id, unused, sorted(set(back)))

        return self.conn.retrying(work)

    def kept_files(self, names: Sequence[str]) -> set[str]:
        """The `names` that a journal entry keeps alive (so the change can be undone)."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT DISTINCT f FROM journal, unnest(files) AS f WHERE f = ANY(%s) AND changes IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM journal u WHERE u.reverts = journal.id)",
                (list(names),),
            )
            return {r[0] for r in cur.fetchall()}


# An entry `j` is in effect when nothing reverted it (no undo, no redo of an undo):
# NOT EXISTS (SELECT 1 FROM journal u WHERE u.reverts = j.id). Written out in each
# query below: SQL here is never assembled from pieces.
_NEWEST = (
    "SELECT j.id, j.at, j.action, j.summary, j.changes, j.people, j.files FROM journal j"
    " WHERE j.action <> 'undo' AND NOT EXISTS (SELECT 1 FROM journal u WHERE u.reverts = j.id)"
    " ORDER BY j.id DESC LIMIT 1"
)
_NEWEST_LOCKED = (
    "SELECT j.id, j.at, j.action, j.summary, j.changes, j.people, j.files FROM journal j"
    " WHERE j.action <> 'undo' AND NOT EXISTS (SELECT 1 FROM journal u WHERE u.reverts = j.id)"
    " ORDER BY j.id DESC LIMIT 1 FOR UPDATE"
)
_ONE = (
    "SELECT j.id, j.at, j.action, j.summary, j.changes, j.people, j.files,"
    " NOT EXISTS (SELECT 1 FROM journal u WHERE u.reverts = j.id) FROM journal j WHERE j.id = %s"
)
_ONE_LOCKED = (
    "SELECT j.id, j.at, j.action, j.summary, j.changes, j.people, j.files,"
    " NOT EXISTS (SELECT 1 FROM journal u WHERE u.reverts = j.id) FROM journal j WHERE j.id = %s FOR UPDATE"
)


def _undo_target(cur: psycopg2.extensions.cursor, entry_id: int | None, lock: bool) -> tuple[Any, ...]:
    """The row (id, at, action, summary, changes, people, files) `undo` reverts, or
    the error that says why it will not (see `JournalStore.undo`)."""
    if entry_id is None:
        cur.execute(_NEWEST_LOCKED if lock else _NEWEST)
        row = cur.fetchone()
        if row is None:
            raise NothingToUndoError("nothing to undo")
        if row[4] is None:
            cur.execute(
                "SELECT j.id, j.summary FROM journal j WHERE j.action <> 'undo' AND j.changes IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM journal u WHERE u.reverts = j.id) AND j.id < %s"
                " ORDER BY j.id DESC LIMIT 1",
                (row[0],),
            )
            before = cur.fetchone()
            then = (
                f"; 'undo {before[0]}' reverts the change before it: {before[1]}" if before else "; nothing before it"
            )
            raise UndoError(f"the last change, #{row[0]} ({row[3]}), cannot be undone: it was an erasure{then}")
        return tuple(row)
    cur.execute(_ONE_LOCKED if lock else _ONE, (entry_id,))
    row = cur.fetchone()
    if row is None:
        raise NothingToUndoError(f"no change #{entry_id}; 'history' lists them")
    if row[2] == "undo":
        raise UndoError(f"#{entry_id} is an undo; 'redo' puts back what the last undo reverted")
    if not row[7]:
        raise UndoError(f"#{entry_id} ({row[3]}) is undone already")
    if row[4] is None:
        raise UndoError(f"#{entry_id} ({row[3]}) cannot be undone: it was an erasure")
    cur.execute(
        "SELECT j.id, j.summary, j.changes FROM journal j WHERE j.id > %s AND j.changes IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM journal u WHERE u.reverts = j.id) ORDER BY j.id",
        (entry_id,),
    )
    mine = _keys(row[4])
    for later_id, later_summary, later_changes in cur.fetchall():
        if mine & _keys(later_changes):
            raise UndoError(
                f"cannot undo #{entry_id} ({row[3]}) before #{later_id} ({later_summary}), "
                f"which changed the same faces or people since: undo #{later_id} first"
            )
    return tuple(row[:7])


def _keys(changes: dict[str, Any]) -> set[tuple[Any, ...]]:
    """Every row a change touched, as (table, key...) (for telling whether two changes overlap)."""
    out: set[tuple[Any, ...]] = set()
    for table, keys in changes.get("inserted", {}).items():
        out |= {(table, *k) for k in keys}
    for kind in ("deleted", "updated"):
        for table, rows in changes.get(kind, {}).items():
            out |= {(table, *(r[k] for k in KEYS[table])) for r in rows}
    for scope in changes.get("scoped", []):
        out |= {(scope["table"], scope["column"], v) for v in scope["values"]}
    return out


def _revert_recorded(
    cur: psycopg2.extensions.cursor,
    changes: dict[str, Any],
    files: Sequence[str],
    action: str,
    summary: str,
    people: Sequence[int],
    reverts: int,
) -> tuple[int, list[str]]:
    """Revert `changes` (an entry's, or an undo's), recording the rows as they are now
    so the revert can be reverted too; append the entry. Returns its id and the
    stored images no row refers to any more."""
    try:
        cur.execute("SAVEPOINT revert")
        touched = _current_files(cur, changes)
        before = _inverse(cur, changes)
        _revert(cur, changes)
        cur.execute("RELEASE SAVEPOINT revert")
    except (psycopg2.errors.UniqueViolation, psycopg2.errors.ForeignKeyViolation) as exc:
        cur.execute("ROLLBACK TO SAVEPOINT revert")
        detail = (exc.diag.message_detail or str(exc)).strip().splitlines()[0]
        raise UndoError(f"cannot {action} #{reverts} ({summary}): the data changed since ({detail})") from None
    unused = _unreferenced(cur, touched + list(files or []))
    cur.execute(
        "INSERT INTO journal (action, summary, people, changes, reverts) VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (action, summary, list(people), Json(before), reverts),
    )
    return int(cur.fetchone()[0]), unused


def _inverse(cur: psycopg2.extensions.cursor, changes: dict[str, Any]) -> dict[str, Any]:
    """What reverting `changes` will do, as a change of its own (rows as they are now):
    what it deletes comes back, what it puts back goes again, what it updates gets
    today's values back."""
    out: dict[str, Any] = {"inserted": {}, "deleted": {}, "updated": {}}

    def rows_now(table: str, keys: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        found = []
        query = sql.SQL("SELECT to_jsonb(t) FROM {} t WHERE ").format(sql.Identifier(table)) + _where_key(table)
        for key in keys:
            cur.execute(query, list(key))
            found += [r[0] for r in cur.fetchall()]
        return found

    for table, keys in changes.get("inserted", {}).items():
        out["deleted"][table] = rows_now(table, keys)
    for table, rows in changes.get("deleted", {}).items():
        out["inserted"][table] = [[r[k] for k in KEYS[table]] for r in rows]
    for table, rows in changes.get("updated", {}).items():
        out["updated"][table] = rows_now(table, [[r[k] for k in KEYS[table]] for r in rows])
    scoped = []
    for scope in changes.get("scoped", []):
        query = sql.SQL("SELECT to_jsonb(t) FROM {t} t WHERE {c} = ANY(%s)").format(
            t=sql.Identifier(scope["table"]), c=sql.Identifier(scope["column"])
        )
        cur.execute(query, (scope["values"],))
        scoped.append({**scope, "rows": [r[0] for r in cur.fetchall()]})
    out["scoped"] = scoped
    return out


def _current_files(cur: psycopg2.extensions.cursor, changes: dict[str, Any]) -> list[str]:
    """The stored images the rows a change inserted or updated refer to now (undoing it may leave them unused)."""
    ids = [k[0] for k in changes.get("inserted", {}).get("faces", [])]
    ids += [r["id"] for r in changes.get("updated", {}).get("faces", [])]
    pictures = [k[0] for k in changes.get("inserted", {}).get("pictures", [])]
    cur.execute(
        "SELECT crop FROM faces WHERE id = ANY(%s) AND crop IS NOT NULL"
        " UNION SELECT picture FROM pictures WHERE id = ANY(%s) AND source = 'capture'",
        (ids, pictures),
    )
    return [r[0] for r in cur.fetchall()]


def _unreferenced(cur: psycopg2.extensions.cursor, files: Sequence[str]) -> list[str]:
    if not files:
        return []
    cur.execute(
        "SELECT crop FROM faces WHERE crop = ANY(%(f)s)"
        " UNION SELECT picture FROM pictures WHERE source = 'capture' AND picture = ANY(%(f)s)",
        {"f": list(files)},
    )
    used = {r[0] for r in cur.fetchall()}
    return sorted({f for f in files if f not in used})


def _columns(cur: psycopg2.extensions.cursor, table: str) -> list[str]:
    cur.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
        " ORDER BY attnum",
        (table,),
    )
    return [r[0] for r in cur.fetchall()]


def _where_key(table: str) -> sql.Composed:
    return sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in KEYS[table])


def _revert(cur: psycopg2.extensions.cursor, changes: dict[str, Any]) -> None:
    """Put the rows back as they were. The order keeps every foreign key valid and
    never lets a cascade delete a row that is being restored: inserted faces and
    links go first, deleted rows come back, updated rows get their old state,
    then the trigger-maintained rows kept by scope, and inserted people and
    pictures go last (no face points at them any more)."""
    inserted = changes.get("inserted", {})
    deleted = changes.get("deleted", {})
    updated = changes.get("updated", {})
    owners = ("people", "pictures")
    for table in reversed(INSERT_ORDER):
        if table not in owners:
            _delete(cur, table, inserted.get(table, []))
    for table in INSERT_ORDER:
        rows = deleted.get(table, [])
        if not rows:
            continue
        overriding = sql.SQL(" OVERRIDING SYSTEM VALUE" if table in IDENTITY else "")
        query = sql.SQL("INSERT INTO {t}{o} SELECT * FROM jsonb_populate_record(NULL::{t}, %s)").format(
            t=sql.Identifier(table), o=overriding
        )
        for row in rows:
            cur.execute(query, (Json(row),))
    for table in INSERT_ORDER:
        rows = updated.get(table, [])
        if not rows:
            continue
        columns = [c for c in _columns(cur, table) if c not in KEYS[table]]
        query = sql.SQL(
            "UPDATE {t} x SET ({cols}) = (SELECT {rcols} FROM jsonb_populate_record(NULL::{t}, %s) r) WHERE "
        ).format(
            t=sql.Identifier(table),
            cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
            rcols=sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(c)) for c in columns),
        )
        where = sql.SQL(" AND ").join(sql.SQL("x.{} = %s").format(sql.Identifier(k)) for k in KEYS[table])
        for row in rows:
            cur.execute(query + where, (Json(row), *[row[k] for k in KEYS[table]]))
    for scope in changes.get("scoped", []):  # after the rows whose triggers changed them are back
        table, column = sql.Identifier(scope["table"]), sql.Identifier(scope["column"])
        cur.execute(sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(table, column), (scope["values"],))
        insert = sql.SQL("INSERT INTO {t} SELECT * FROM jsonb_populate_record(NULL::{t}, %s)").format(t=table)
        for row in scope["rows"]:
            cur.execute(insert, (Json(row),))
    for table in ("pictures", "people"):
        _delete(cur, table, inserted.get(table, []))


def _delete(cur: psycopg2.extensions.cursor, table: str, keys: Sequence[Sequence[Any]]) -> None:
    for key in keys:
        cur.execute(sql.SQL("DELETE FROM {} WHERE ").format(sql.Identifier(table)) + _where_key(table), key)
