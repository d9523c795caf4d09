"""Recording a change to who is who, inside the transaction that makes it (see
`facerec.db.journal` for undo and redo): before rows are updated or deleted their
whole state is copied (`to_jsonb`), the keys of inserted rows are noted, and the
entry is written with them. A person's deletion is an erasure: journalled without a
copy, and every earlier entry about them scrubbed (`write_irreversible`, `scrub`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TypeAlias

import psycopg2.errors
import psycopg2.extensions
from psycopg2 import sql
from psycopg2.extras import Json

log = logging.getLogger(__name__)

KEYS: dict[str, tuple[str, ...]] = {
    "people": ("id",),
    "pictures": ("id",),
    "faces": ("id",),
    "face_links": ("face_a", "face_b"),
    "face_not_person": ("face_id", "person_id"),
    "hidden_groups": ("model", "group_id"),
}
"""The tables the journal covers and their keys."""

INSERT_ORDER = ("people", "pictures", "faces", "face_links", "face_not_person", "hidden_groups")
"""Rows are put back in this order (a face needs its picture and person); deleted in the reverse."""

IDENTITY = {"people", "pictures", "faces"}
"""Tables whose ids PostgreSQL generates: putting a row back keeps its old id."""


Where: TypeAlias = "str | sql.Composable"
"""A condition: fixed SQL text of the caller (values always go in the parameters)."""
Params: TypeAlias = "Sequence[object] | dict[str, object]"


class Recorder:
    """Collects what one change does, inside its transaction (`cur`).

    Call `updating` / `deleting` before the UPDATE / DELETE with the same
    condition (a fixed SQL text of the caller, values in `params`), and
    `inserted` with the keys of new rows. The first state seen of a row is
    the one kept: a row updated twice is restored to what it was before the
    first update; a row inserted and then deleted leaves no trace.
    """

    def __init__(self, cur: psycopg2.extensions.cursor) -> None:
        self.cur = cur
        self._rows: dict[str, dict[tuple[Any, ...], tuple[str, dict[str, Any] | None]]] = {t: {} for t in KEYS}
        self._scopes: dict[tuple[str, str], dict[object, list[dict[str, Any]]]] = {}

    def _select(self, table: str, where: Where, params: Params) -> list[dict[str, Any]]:
        condition = sql.SQL(where) if isinstance(where, str) else where
        query = sql.SQL("SELECT to_jsonb(t) FROM {} t WHERE {}").format(sql.Identifier(table), condition)
        self.cur.execute(query, params)
        return [r[0] for r in self.cur.fetchall()]

    def _key(self, table: str, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[k] for k in KEYS[table])

    def updating(self, table: str, where: Where, params: Params = ()) -> None:
        for row in self._select(table, where, params):
            self._rows[table].setdefault(self._key(table, row), ("updated", row))

    def deleting(self, table: str, where: Where, params: Params = ()) -> None:
        rows = self._rows[table]
        for row in self._select(table, where, params):
            key = self._key(table, row)
            state, before = rows.get(key, ("", None))
            if state == "inserted":
                del rows[key]
            else:
                rows[key] = ("deleted", before if state == "updated" else row)

    def scope(self, table: str, column: str, values: Sequence[object]) -> None:
        """Keep the whole state of `table`'s rows whose `column` is one of `values`,
        present or absent, as it is now: undo puts exactly these rows back. For
        rows that triggers change as a side effect (the People view's
        `face_groups` follows `faces.person_id`), which no `updating` sees."""
        known = self._scopes.setdefault((table, column), {})
        fresh = [v for v in dict.fromkeys(values) if v not in known]
        if not fresh:
            return
        query = sql.SQL("SELECT {c}, to_jsonb(t) FROM {t} t WHERE {c} = ANY(%s)").format(
            t=sql.Identifier(table), c=sql.Identifier(column)
        )
        self.cur.execute(query, (list(fresh),))
        rows: dict[object, list[dict[str, Any]]] = {v: [] for v in fresh}
        for value, row in self.cur.fetchall():
            rows.setdefault(value, []).append(row)
        known.update(rows)

    def inserted(self, table: str, keys: Sequence[tuple[Any, ...]]) -> None:
        for key in keys:
            self._rows[table].setdefault(tuple(key), ("inserted", None))

    @property
    def empty(self) -> bool:
        return not any(self._rows.values()) and not any(self._scopes.values())

    def changes(self) -> dict[str, Any]:
        out: dict[str, Any] = {"inserted": {}, "deleted": {}, "updated": {}}
        for table, rows in self._rows.items():
            for key, (state, row) in rows.items():
                if state == "inserted":
                    out["inserted"].setdefault(table, []).append(list(key))
                else:
                    out[state].setdefault(table, []).append(row)
        out["scoped"] = [
            {"table": table, "column": column, "values": list(rows), "rows": [r for v in rows.values() for r in v]}
            for (table, column), rows in self._scopes.items()
            if rows
        ]
        return out

    def write(self, action: str, summary: str, people: Sequence[int], files: Sequence[str] = ()) -> int:
        """Append the journal entry for this change; returns its id."""
        self.cur.execute(
            "INSERT INTO journal (action, summary, people, changes, files) VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (action, summary, sorted(set(people)), Json(self.changes()), list(files)),
        )
        return int(self.cur.fetchone()[0])


def scope_groups(cur: psycopg2.extensions.cursor, rec: Recorder, ids_query: sql.Composable, params: object) -> None:
    """Keep the People-view rows (`face_groups`) of the faces `ids_query` selects as
    they are now: the triggers that follow `faces.person_id` change them, and undo
    must put them back exactly."""
    cur.execute(ids_query, params)
    rec.scope("face_groups", "face_id", [r[0] for r in cur.fetchall()])


def write_irreversible(cur: psycopg2.extensions.cursor, action: str, summary: str, people: Sequence[int]) -> int:
    """Append an entry that cannot be undone (an erasure)."""
    cur.execute(
        "INSERT INTO journal (action, summary, people, changes) VALUES (%s, %s, %s, NULL) RETURNING id",
        (action, summary, sorted(set(people))),
    )
    return int(cur.fetchone()[0])


def scrub(cur: psycopg2.extensions.cursor, person_id: int) -> list[str]:
    """Erase what earlier entries hold about a person (their rows, their name in the
    summaries); returns the files those entries kept alive, for the caller to remove."""
    cur.execute(
        "UPDATE journal SET changes = NULL, summary = '(about a person since erased)', files = '{}'"
        " WHERE %s = ANY(people) AND action NOT IN ('undo', 'redo')"
        " RETURNING files",
        (person_id,),
    )
    files = [f for (kept,) in cur.fetchall() for f in kept]
    cur.execute(
        "UPDATE journal SET summary = '(' || action || ' of a change about a person since erased)', changes = NULL"
        " WHERE %s = ANY(people) AND action IN ('undo', 'redo')",
        (person_id,),
    )
    return files
