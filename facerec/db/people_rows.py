"""The people store's row-level steps (`facerec.db.people`): what a sample is, what
adding samples and attaching faces did, the rows of one detected face (one per
model), and the journalled steps shared by its writes (unname a face, lock or
create a person, upsert a sample's picture, reuse a stored face)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import psycopg2.errors
import psycopg2.extensions
from psycopg2 import sql

from facerec.db.recorder import Recorder, scope_groups
from facerec.db.rows import box as row_box
from facerec.errors import PersonNotFoundError
from facerec.types import Face


@dataclass(frozen=True)
class Sample:
    """One face to store as a registration sample of a person."""

    picture: str
    source: str  # 'file' or 'capture'
    sha256: str | None
    width: int
    height: int
    face: Face
    embedding: np.ndarray
    model: str
    crop: str | None = None
    size: int | None = None
    mtime: float | None = None


@dataclass(frozen=True)
class StoredSamples:
    """What `add_samples` did: the person, the faces added (not counting samples
    already stored), the new crop files no face refers to (samples already
    stored), and the journal entry (None when nothing changed)."""

    person_id: int
    added: int
    unused_files: list[str]
    created: bool = False
    already_stored: int = 0
    entry: int | None = None


@dataclass(frozen=True)
class Attached:
    """Faces attached to a person: how many detections (not rows: a face embedded by two
    models is one face), how many were skipped because the user said they are not
    that person, and the journal entry."""

    person_id: int
    faces: int
    refused: int
    created: bool
    entry: int | None


ROWS_OF_FACE = sql.SQL(
    "id IN (SELECT f2.id FROM faces f2 JOIN faces f1 ON f2.picture_id = f1.picture_id AND f2.box = f1.box"
    " WHERE f1.id = %s)"
)
"""The rows of one detected face (parameter: a face id): the same picture and box, one row per model."""

ROWS_TO_ATTACH = sql.SQL(
    "id IN (SELECT f2.id FROM faces f2 JOIN faces f1 ON f2.picture_id = f1.picture_id AND f2.box = f1.box"
    " WHERE f1.id = ANY(%(ids)s) AND NOT f1.small"
    " AND NOT EXISTS (SELECT 1 FROM face_not_person n WHERE n.face_id = f1.id AND n.person_id = %(p)s))"
)
"""The rows of faces `ids` (every model), except those the user said are not person `p` and small ones."""


UNNAME = sql.SQL("UPDATE faces SET person_id = NULL WHERE {}").format(ROWS_OF_FACE)
IDS_OF = sql.SQL("SELECT id FROM faces WHERE {}")
LINKS_OF_ROWS = sql.SQL(
    "face_a IN (SELECT id FROM faces WHERE {same}) OR face_b IN (SELECT id FROM faces WHERE {same})"
)
REFUSALS_OF_ROWS = sql.SQL("face_id IN (SELECT id FROM faces WHERE {same})")
FACELESS_SAMPLE_PICTURE = sql.SQL(
    "id = %s AND indexed_at IS NULL AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.picture_id = %s)"
)
"""A registration picture (not in the library) left with no face (parameters: its id, twice)."""


def unname(cur: psycopg2.extensions.cursor, rec: Recorder, face_id: int, person_id: int) -> None:
    """A library face is not `person_id` after all: it is unnamed (with its rows of
    other models) and remembered as "not this person", journalled; it goes back to the People view."""
    cur.execute(
        "INSERT INTO face_not_person (face_id, person_id) VALUES (%s, %s) ON CONFLICT DO NOTHING"
        " RETURNING face_id, person_id",
        (face_id, person_id),
    )
    rec.inserted("face_not_person", cur.fetchall())
    rec.updating("faces", ROWS_OF_FACE, (face_id,))
    scope_groups(cur, rec, IDS_OF.format(ROWS_OF_FACE), (face_id,))
    cur.execute(UNNAME, (face_id,))


def existing_person(cur: psycopg2.extensions.cursor, name: str) -> int:
    cur.execute("SELECT id FROM people WHERE name = %s FOR UPDATE", (name,))
    row = cur.fetchone()
    if row is None:
        raise PersonNotFoundError(f"no registered person named {name!r}")
    return int(row[0])


def person_for_update(cur: psycopg2.extensions.cursor, rec: Recorder, name: str, create: bool) -> tuple[int, bool]:
    """The id of `name` (locked), created if missing and `create`; and whether it was created."""
    cur.execute("SELECT id FROM people WHERE name = %s FOR UPDATE", (name,))
    row = cur.fetchone()
    if row is not None:
        return int(row[0]), False
    if not create:
        raise PersonNotFoundError(f"no registered person named {name!r}")
    cur.execute(
        "INSERT INTO people (name) VALUES (%s) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name"
        " RETURNING id, xmax = 0",
        (name,),
    )
    person_id, fresh = cur.fetchone()
    if fresh:
        rec.inserted("people", [(person_id,)])
    return int(person_id), bool(fresh)


def upsert_picture(cur: psycopg2.extensions.cursor, rec: Recorder, s: Sample) -> int:
    cur.execute("SELECT id, sha256 IS NOT DISTINCT FROM %s FROM pictures WHERE picture = %s", (s.sha256, s.picture))
    row = cur.fetchone()
    if row is not None:
        picture_id, same = row
        if not same:
            rec.updating("pictures", "id = %s", (picture_id,))
            cur.execute("UPDATE pictures SET sha256 = %s WHERE id = %s", (s.sha256, picture_id))
        return int(picture_id)
    cur.execute(
        "INSERT INTO pictures (picture, source, sha256, size, mtime, width, height)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (picture) DO UPDATE SET sha256 = EXCLUDED.sha256"
        " RETURNING id, xmax = 0",
        (s.picture, s.source, s.sha256, s.size, s.mtime, s.width, s.height),
    )
    picture_id, fresh = cur.fetchone()
    if fresh:
        rec.inserted("pictures", [(picture_id,)])
    return int(picture_id)


def reuse_stored_face(
    cur: psycopg2.extensions.cursor, rec: Recorder, picture_id: int, person_id: int, s: Sample
) -> tuple[bool, bool, str | None]:
    """If the picture already holds this face (same model, a box overlapping by
    IoU >= 0.5) as a sample of this person, or unnamed in the photo library,
    use that face (attached to the person; given this sample's crop if it
    has none) instead of storing a twin. Returns (done, it was already this
    person's, this sample's crop if it was not needed: the face kept the crop
    it had, which rows of other models may share)."""
    cur.execute(
        "SELECT id, box, crop, person_id FROM faces WHERE picture_id = %s AND model = %s AND NOT small"
        " AND (person_id = %s OR person_id IS NULL) ORDER BY person_id NULLS LAST, id",
        (picture_id, s.model, person_id),
    )
    for face_id, box, crop, owner in cur.fetchall():
        if row_box(box).iou(s.face.box) >= 0.5:
            spare = s.crop if crop is not None and crop != s.crop else None
            if owner == person_id and crop is not None:
                return True, True, spare
            rec.updating("faces", "id = %s", (face_id,))
            rec.scope("face_groups", "face_id", [face_id])
            cur.execute(
                "UPDATE faces SET person_id = %s, crop = COALESCE(crop, %s) WHERE id = %s",
                (person_id, s.crop, face_id),
            )
            return True, owner == person_id, spare
    return False, False, None
