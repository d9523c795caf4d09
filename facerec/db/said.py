"""What the user said about faces, kept so that every later grouping obeys it:
two faces are the same person or different people (`face_links`: a merge, a
split, a suggestion answered no), a face is not a registered person
(`face_not_person`: "not this person", "is this X?" answered no), and a group
is hidden from the People view (`hidden_groups`). Each statement is journalled
in the transaction that records it (see `facerec.db.journal`)."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg2.extensions
from psycopg2 import sql

from facerec.db.connection import Connection
from facerec.db.recorder import Recorder, scope_groups


class SaidStore:
    """What the user said, over a `Connection`, for one embedder's People view (`model`)."""

    def __init__(self, conn: Connection, model: str) -> None:
        self.conn = conn
        self.model = model

    # -- reading -------------------------------------------------------------------

    def links(self) -> list[tuple[int, int, str]]:
        """Every (face_a, face_b, 'same' | 'different') the user has stated."""
        with self.conn.transaction() as cur:
            cur.execute("SELECT face_a, face_b, kind FROM face_links")
            return [(int(a), int(b), k) for a, b, k in cur.fetchall()]

    def refusals(self) -> set[tuple[int, int]]:
        """Every (face_id, person_id) the user said does not go together."""
        with self.conn.transaction() as cur:
            cur.execute("SELECT face_id, person_id FROM face_not_person")
            return {(int(a), int(b)) for a, b in cur.fetchall()}

    def refused_groups(self) -> set[tuple[int, int]]:
        """(group id, person id) wherever a face of the group was said not to be that person."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT DISTINCT g.group_id, n.person_id FROM face_not_person n"
                " JOIN face_groups g ON g.face_id = n.face_id WHERE g.model = %s AND g.group_id IS NOT NULL",
                (self.model,),
            )
            return {(int(g), int(p)) for g, p in cur.fetchall()}

    def groups_kept_apart(self, group_ids: Sequence[int]) -> set[tuple[int, int]]:
        """Pairs (smaller id, larger id) of these groups that cannot be one person:
        they share a photo, or the user said a face of one is not a face of the other."""
        pairs = (
            "SELECT DISTINCT least(a.group_id, b.group_id), greatest(a.group_id, b.group_id)"
            " FROM face_groups a JOIN face_groups b ON b.picture_id = a.picture_id"
            " WHERE a.model = %(model)s AND b.model = %(model)s AND a.group_id = ANY(%(ids)s)"
            " AND b.group_id = ANY(%(ids)s) AND a.group_id <> b.group_id"
            " UNION SELECT least(a.group_id, b.group_id), greatest(a.group_id, b.group_id)"
            " FROM face_links l JOIN face_groups a ON a.face_id = l.face_a JOIN face_groups b ON b.face_id = l.face_b"
            " WHERE l.kind = 'different' AND a.group_id = ANY(%(ids)s) AND b.group_id = ANY(%(ids)s)"
            " AND a.group_id <> b.group_id"
        )
        with self.conn.transaction() as cur:
            cur.execute(pairs, {"model": self.model, "ids": list(group_ids)})
            return {(int(x), int(y)) for x, y in cur.fetchall()}

    def is_hidden(self, group_id: int) -> bool:
        with self.conn.transaction() as cur:
            cur.execute("SELECT 1 FROM hidden_groups WHERE model = %s AND group_id = %s", (self.model, group_id))
            return cur.fetchone() is not None

    def hidden_count(self, min_faces: int) -> int:
        """How many groups of at least `min_faces` faces the user hid."""
        with self.conn.transaction() as cur:
            cur.execute(
                "SELECT count(*) FROM hidden_groups h JOIN group_sizes s USING (model, group_id)"
                " WHERE h.model = %s AND s.size >= %s",
                (self.model, min_faces),
            )
            return int(cur.fetchone()[0])

    # -- writing (journalled) ----------------------------------------------------------

    def hide(self, group_ids: Sequence[int], summary: str) -> list[int]:
        """Hide these groups from the People view (journalled); returns those not hidden before."""

        def work(cur: psycopg2.extensions.cursor) -> list[int]:
            rec = Recorder(cur)
            cur.execute(
                "INSERT INTO hidden_groups (model, group_id) SELECT %s, unnest(%s::bigint[])"
                " ON CONFLICT DO NOTHING RETURNING group_id",
                (self.model, list(dict.fromkeys(group_ids))),
            )
            added = sorted(int(r[0]) for r in cur.fetchall())
            rec.inserted("hidden_groups", [(self.model, g) for g in added])
            if added:
                rec.write("hide", summary, [])
            return added

        return self.conn.retrying(work)

    def unhide(self, group_ids: Sequence[int], summary: str) -> list[int]:
        """Show these hidden groups again (journalled); returns those that were hidden."""

        def work(cur: psycopg2.extensions.cursor) -> list[int]:
            rec = Recorder(cur)
            where = "model = %s AND group_id = ANY(%s::bigint[])"
            params = (self.model, list(dict.fromkeys(group_ids)))
            rec.deleting("hidden_groups", where, params)
            cur.execute(sql.SQL("DELETE FROM hidden_groups WHERE {} RETURNING group_id").format(sql.SQL(where)), params)
            removed = sorted(int(r[0]) for r in cur.fetchall())
            if removed:
                rec.write("unhide", summary, [])
            return removed

        return self.conn.retrying(work)

    def merge_groups(self, keep: int, drop: int) -> int:
        """Groups `keep` and `drop` are one person: a 'same' link between them (so later
        groupings keep them together) and `drop`'s faces move into `keep`. Returns faces moved."""

        def work(cur: psycopg2.extensions.cursor) -> int:
            rec = Recorder(cur)
            _link(cur, rec, keep, drop, "same")
            cur.execute("SELECT count(*) FROM face_groups WHERE group_id = %s", (drop,))
            moved = int(cur.fetchone()[0])
            scope_groups(cur, rec, sql.SQL("SELECT face_id FROM face_groups WHERE group_id = %s"), (drop,))
            cur.execute("UPDATE face_groups SET group_id = %s WHERE group_id = %s", (keep, drop))
            rec.write("merge", f"merged group {drop} into group {keep} ({moved} face{'s' * (moved != 1)} moved)", [])
            return moved

        return self.conn.retrying(work)

    def split_from_group(self, face_ids: Sequence[int], group_members: Sequence[int], group: int) -> int | None:
        """Take faces out of a group: 'different' links from each to the group's other
        faces, and each becomes a group of its own (its id is its face id). When the
        group's own id is one of those faces, the faces that stay take the smallest
        of their ids as the group's new id (hidden, if the group was). Returns that
        new id, or None when the group keeps its id."""

        def work(cur: psycopg2.extensions.cursor) -> int | None:
            rec = Recorder(cur)
            out = sorted(set(face_ids))
            stay = [o for o in group_members if o not in out]
            pairs = sorted({(min(f, o), max(f, o)) for f in out for o in stay})
            for lo, hi in pairs:
                _link(cur, rec, lo, hi, "different")
            renamed = min(stay) if group in out and stay else None
            rec.scope("face_groups", "face_id", out + (stay if renamed is not None else []))
            if renamed is not None:
                cur.execute(
                    "UPDATE face_groups SET group_id = %s WHERE face_id = ANY(%s) AND group_id = %s",
                    (renamed, stay, group),
                )
                rec.deleting("hidden_groups", "group_id = %s", (group,))
                cur.execute(
                    "INSERT INTO hidden_groups (model, group_id, hidden_at)"
                    " SELECT model, %s, hidden_at FROM hidden_groups WHERE group_id = %s RETURNING model, group_id",
                    (renamed, group),
                )
                rec.inserted("hidden_groups", cur.fetchall())
                cur.execute("DELETE FROM hidden_groups WHERE group_id = %s", (group,))
            cur.execute(
                "UPDATE face_groups SET state = 'grouped', group_id = face_id, matched_person_id = NULL"
                " WHERE face_id = ANY(%s)",
                (out,),
            )
            label = ", ".join(map(str, out))
            now = f"; the group is now group {renamed}" if renamed is not None else ""
            rec.write("split", f"face{'s' if len(out) > 1 else ''} {label} taken out of group {group}{now}", [])
            return renamed

        return self.conn.retrying(work)

    def refuse(self, face_ids: Sequence[int], person_id: int, summary: str) -> int:
        """ "Not this person" for unnamed faces (a suggestion answered no): they are never
        matched to, nor suggested as, that person again. Returns the refusals added."""

        def work(cur: psycopg2.extensions.cursor) -> int:
            rec = Recorder(cur)
            added = []
            for face_id in dict.fromkeys(face_ids):
                cur.execute(
                    "INSERT INTO face_not_person (face_id, person_id) VALUES (%s, %s) ON CONFLICT DO NOTHING"
                    " RETURNING face_id, person_id",
                    (face_id, person_id),
                )
                added += cur.fetchall()
            rec.inserted("face_not_person", added)
            if added:
                rec.write("split", summary, [person_id])
            return len(added)

        return self.conn.retrying(work)

    def keep_apart(self, a: int, b: int, summary: str) -> None:
        """Faces `a` and `b` (of two groups) are different people: a 'different' link."""

        def work(cur: psycopg2.extensions.cursor) -> None:
            rec = Recorder(cur)
            _link(cur, rec, a, b, "different")
            rec.write("split", summary, [])

        self.conn.retrying(work)


def _link(cur: psycopg2.extensions.cursor, rec: Recorder, a: int, b: int, kind: str) -> None:
    """Faces `a` and `b` are the same person or different people (`kind`), journalled;
    a link of the other kind between them is replaced."""
    lo, hi = min(a, b), max(a, b)
    rec.updating("face_links", "face_a = %s AND face_b = %s", (lo, hi))
    cur.execute(
        "INSERT INTO face_links (face_a, face_b, kind) VALUES (%s, %s, %s)"
        " ON CONFLICT (face_a, face_b) DO UPDATE SET kind = EXCLUDED.kind RETURNING xmax = 0",
        (lo, hi, kind),
    )
    if cur.fetchone()[0]:
        rec.inserted("face_links", [(lo, hi)])
