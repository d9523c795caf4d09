"""What to change in a file's XMP fields so it holds facerec's face regions.

`plan` is pure (fields in, keys to delete and values to set out): test a change to
how regions are merged here, on fields, without writing any file. It keeps other
tools' regions, their applied dimensions and every other property; it replaces only
regions carrying facerec's mark (`facerec:Source`), writes each face as a MWG region,
a Microsoft region and a name in `Iptc4xmpExt:PersonInImage`, and skips a face
another tool already tagged with the same name at the same place.
`facerec.metadata.region_write` applies the plan to a sidecar or a photo.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from facerec.metadata import xmp
from facerec.metadata.geometry import Geometry, Rect, box_from_stored, stored_from_box
from facerec.metadata.region_fields import (
    BAG,
    MARK,
    MARK_VALUE,
    MP,
    MP_LIST,
    MWG,
    MWG_DIMENSIONS,
    MWG_LIST,
    PEOPLE,
    SAME_FACE,
    STRUCT,
    Item,
    is_face,
    items,
    mp_own,
    mp_rect,
    mwg_own,
    mwg_rect,
    name_of,
)
from facerec.metadata.xmp import Fields, Value
from facerec.types import Box

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """Keys to take out, values to set, and the counts `RegionWrite` reports."""

    delete: list[str]
    values: dict[str, Value]
    written: int
    replaced: int
    kept: int


def _fraction(value: float) -> str:
    return f"{value:.6f}"


def _same_rect(a: Rect, b: Rect) -> bool:
    return max(abs(p - q) for p, q in zip(a, b)) < 1e-4


def plan(fields: Fields, faces: list[tuple[str, Box]], geometry: Geometry) -> Plan:
    """What to take out of `fields` and what to set, to hold `faces` as facerec's regions."""
    mwg_items = list(items(fields, MWG_LIST).values())
    own = [item for item in mwg_items if mwg_own(item)]
    others = [item for item in mwg_items if not mwg_own(item)]
    mp_others = _mp_others(fields, own)
    new = _not_tagged_yet(fields, others, faces, geometry)

    # The dimensions other tools' regions were applied to stay theirs; facerec's regions
    # are fractions, right for any size. Without other regions: the photo's stored size.
    keep_dimensions = bool(others) and MWG_DIMENSIONS + "/stDim:w" in fields
    delete = [
        key
        for key in fields
        if key.startswith((MWG_LIST, MP_LIST))
        or (key.startswith(MWG_DIMENSIONS) and not keep_dimensions)
        or key == PEOPLE
        or key.startswith(PEOPLE + "[")
    ]
    values: dict[str, Value] = {}
    if others or new:
        values.update(_mwg_values(fields, others, new, geometry, keep_dimensions))
    elif MWG in fields and not _rest(fields, MWG, delete):
        delete.append(MWG)
    if mp_others or new:
        values.update(_mp_values(fields, mp_others, new, geometry))
    elif MP in fields and not _rest(fields, MP, delete):
        delete.append(MP)
    people = _people(fields, own, others, mp_others, [name for name, _ in faces])
    if people:
        values[PEOPLE] = BAG
        for i, name in enumerate(people, 1):
            values[f"{PEOPLE}[{i}]"] = name
    return Plan(delete, values, len(new), len(own), len(others) + len(mp_others))


def _mp_others(fields: Fields, own: list[Item]) -> list[Item]:
    """Microsoft regions to keep: those neither marked as facerec's nor at exactly the
    place of one of facerec's MWG regions (`own`)."""
    own_rects = [rect for rect in (mwg_rect(item, fields) for item in own) if rect is not None]
    return [
        item
        for item in items(fields, MP_LIST).values()
        if not mp_own(item) and not any(_same_rect(r, rect) for r in own_rects if (rect := mp_rect(item)))
    ]


def _not_tagged_yet(
    fields: Fields, others: list[Item], faces: list[tuple[str, Box]], geometry: Geometry
) -> list[tuple[str, Box]]:
    """`faces` less those another tool already has, with the same name at the same place."""
    present = [
        (name.casefold(), box)
        for item in others
        if is_face(item) and (name := name_of(item, "/mwg-rs:Name")) and (rect := mwg_rect(item, fields))
        if (box := box_from_stored(rect, geometry)) is not None
    ]
    new = [
        (name, box)
        for name, box in faces
        if not any(n == name.casefold() and box.iou(b) >= SAME_FACE for n, b in present)
    ]
    if len(new) < len(faces):
        log.info(
            "%d face(s) already tagged with the same name by another tool; not written twice", len(faces) - len(new)
        )
    return new


def _mwg_values(
    fields: Fields, others: list[Item], new: list[tuple[str, Box]], geometry: Geometry, keep_dimensions: bool
) -> dict[str, Value]:
    """The MWG region list: other tools' regions as they were, then the `new` faces, marked."""
    values: dict[str, Value] = {}
    if MWG not in fields:
        values[MWG] = STRUCT
    if not keep_dimensions:
        values[MWG_DIMENSIONS] = STRUCT
        values[MWG_DIMENSIONS + "/stDim:w"] = str(geometry.stored_width)
        values[MWG_DIMENSIONS + "/stDim:h"] = str(geometry.stored_height)
        values[MWG_DIMENSIONS + "/stDim:unit"] = "pixel"
    values[MWG_LIST] = BAG
    for i, item in enumerate(others, 1):
        values.update(_copied(item, f"{MWG_LIST}[{i}]"))
    for i, (name, box) in enumerate(new, len(others) + 1):
        left, top, right, bottom = stored_from_box(box, geometry)
        p = f"{MWG_LIST}[{i}]"
        values[p] = STRUCT
        values[p + "/mwg-rs:Name"] = name
        values[p + "/mwg-rs:Type"] = "Face"
        values[p + "/mwg-rs:Area"] = STRUCT
        values[p + "/mwg-rs:Area/stArea:x"] = _fraction((left + right) / 2)
        values[p + "/mwg-rs:Area/stArea:y"] = _fraction((top + bottom) / 2)
        values[p + "/mwg-rs:Area/stArea:w"] = _fraction(right - left)
        values[p + "/mwg-rs:Area/stArea:h"] = _fraction(bottom - top)
        values[p + "/mwg-rs:Area/stArea:unit"] = "normalized"
        values[p + "/mwg-rs:Extensions"] = STRUCT
        values[p + f"/mwg-rs:Extensions/{MARK}"] = MARK_VALUE
    return values


def _mp_values(
    fields: Fields, mp_others: list[Item], new: list[tuple[str, Box]], geometry: Geometry
) -> dict[str, Value]:
    """The Microsoft region list: other tools' regions as they were, then the `new` faces, marked."""
    values: dict[str, Value] = {}
    if MP not in fields:
        values[MP] = STRUCT
    values[MP_LIST] = BAG
    for i, item in enumerate(mp_others, 1):
        values.update(_copied(item, f"{MP_LIST}[{i}]"))
    for i, (name, box) in enumerate(new, len(mp_others) + 1):
        left, top, right, bottom = stored_from_box(box, geometry)
        p = f"{MP_LIST}[{i}]"
        values[p] = STRUCT
        values[p + "/MPReg:Rectangle"] = ", ".join(_fraction(v) for v in (left, top, right - left, bottom - top))
        values[p + "/MPReg:PersonDisplayName"] = name
        values[p + f"/{MARK}"] = MARK_VALUE
    return values


def _rest(fields: Fields, parent: str, deleted: list[str]) -> list[str]:
    """Keys under `parent` that stay."""
    gone = set(deleted)
    return [k for k in fields if k.startswith(parent + "/") and k not in gone]


def _copied(item: Item, prefix: str) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for path, field in item.items():
        out.update(xmp.array_values(prefix + path, field))
    return out


def _people(
    fields: Fields,
    own: list[Item],
    others: list[Item],
    mp_others: list[Item],
    names: list[str],
) -> list[str]:
    """`Iptc4xmpExt:PersonInImage`: what it held, less the names only facerec's old
    regions carried, plus the names written now."""
    field = fields.get(PEOPLE)
    held = [n for n in field.value if n.strip()] if field is not None and isinstance(field.value, list) else []
    if field is not None and isinstance(field.value, str) and field.text and not field.text.startswith("type="):
        held = [field.text]
    carried = {n for item in others if (n := name_of(item, "/mwg-rs:Name"))}
    carried |= {n for item in mp_others if (n := name_of(item, "/MPReg:PersonDisplayName"))}
    dropped = {n for item in own if (n := name_of(item, "/mwg-rs:Name"))} - carried - set(names)
    out = [n for n in held if n not in dropped]
    for name in names:
        if name not in out:
            out.append(name)
    return out
