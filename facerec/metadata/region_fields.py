"""Where face regions sit in XMP fields, and how to read one region's name and box.

Two layouts: MWG (`mwg-rs:Regions`, digiKam, Lightroom, Picasa, darktable, ACDSee,
exiftool, Immich) and Microsoft's (`MP:RegionInfo/MPRI:Regions`, Windows Photo
Gallery). Both reading (`facerec.metadata.regions`) and writing
(`facerec.metadata.region_plan`) go through these keys and helpers, so a change to
how a region is recognised (its type, facerec's mark, its rectangle) is made here
once. Rectangles are fractions of the stored image; `facerec.metadata.geometry`
turns them into boxes of the upright photo.
"""

from __future__ import annotations

import re

from facerec.metadata import xmp
from facerec.metadata.geometry import Rect
from facerec.metadata.xmp import Field, Fields

MWG = "Xmp.mwg-rs.Regions"
MWG_DIMENSIONS = MWG + "/mwg-rs:AppliedToDimensions"
MWG_LIST = MWG + "/mwg-rs:RegionList"
MP = "Xmp.MP.RegionInfo"
MP_LIST = MP + "/MPRI:Regions"
PEOPLE = "Xmp.iptcExt.PersonInImage"
MARK = f"{xmp.PREFIX}:Source"
MARK_VALUE = "facerec"

SAME_FACE = 0.5
"""Two regions whose boxes overlap by at least this IoU are taken as the same face."""

STRUCT = 'type="Struct"'
BAG = 'type="Bag"'

Item = dict[str, Field]
"""One member of a region array: path inside the item -> field."""

_ITEM = re.compile(r"\[(\d+)\](.*)", re.DOTALL)


def items(fields: Fields, prefix: str) -> dict[int, Item]:
    """The members of the array `prefix`: index -> {path inside the item: field}."""
    found: dict[int, Item] = {}
    for key, field in fields.items():
        if key.startswith(prefix + "["):
            match = _ITEM.match(key, len(prefix))
            if match:
                found.setdefault(int(match.group(1)), {})[match.group(2)] = field
    return dict(sorted(found.items()))


def _number(item: Item, path: str) -> float | None:
    field = item.get(path)
    if field is None or not field.text:
        return None
    try:
        return float(field.text)
    except ValueError:
        return None


def name_of(item: Item, path: str) -> str | None:
    """The text at `path` in `item` (a name, a type), or None when absent or empty."""
    field = item.get(path)
    return (field.text or None) if field is not None else None


def mwg_rect(item: Item, fields: Fields) -> Rect | None:
    """A MWG region's rectangle as fractions of the stored image (centre and size in
    the file), or None for a point, a circle or a malformed area."""
    x, y = _number(item, "/mwg-rs:Area/stArea:x"), _number(item, "/mwg-rs:Area/stArea:y")
    w, h = _number(item, "/mwg-rs:Area/stArea:w"), _number(item, "/mwg-rs:Area/stArea:h")
    if x is None or y is None or w is None or h is None or w <= 0 or h <= 0:
        return None
    unit = name_of(item, "/mwg-rs:Area/stArea:unit") or "normalized"
    if unit.lower() == "pixel":  # not MWG's rule, but some writers do it
        dims = fields.get(MWG_DIMENSIONS + "/stDim:w"), fields.get(MWG_DIMENSIONS + "/stDim:h")
        try:
            dw, dh = (float(d.text) for d in dims if d is not None)
        except ValueError:
            return None
        if dw <= 0 or dh <= 0:
            return None
        x, y, w, h = x / dw, y / dh, w / dw, h / dh
    return x - w / 2, y - h / 2, x + w / 2, y + h / 2


def mp_rect(item: Item) -> Rect | None:
    """A Microsoft region's rectangle ("x, y, w, h", top-left corner) as fractions."""
    field = item.get("/MPReg:Rectangle")
    if field is None:
        return None
    try:
        x, y, w, h = (float(part) for part in field.text.split(","))
    except ValueError:
        return None
    if w <= 0 or h <= 0:
        return None
    return x, y, x + w, y + h


def is_face(item: Item) -> bool:
    """Whether a MWG region is a face (its type is Face, or it has none)."""
    kind = name_of(item, "/mwg-rs:Type")
    return kind is None or kind.lower() == "face"


def mwg_own(item: Item) -> bool:
    """Whether a MWG region carries facerec's mark (facerec wrote it)."""
    return f"/mwg-rs:Extensions/{MARK}" in item


def mp_own(item: Item) -> bool:
    """Whether a Microsoft region carries facerec's mark (facerec wrote it)."""
    return f"/{MARK}" in item
