"""Names from a Google Takeout export of Google Photos.

Takeout puts a JSON file beside each photo; its `people` lists the names tagged in
the photo (`[{"name": "Ada"}]`), without boxes. The JSON's name follows the photo's:

- `IMG_1.jpg.json` (exports before 2024) or `IMG_1.jpg.supplemental-metadata.json`;
- cut to 51 characters with `.json`, so the suffix shrinks first
  (`IMG_20200920_131207_123.jpg.supplemental-me.json`, `...jpg.s.json`, `...jp.json`);
- a second photo of the same name, `IMG_1(1).jpg`, has `IMG_1.jpg(1).json` or
  `IMG_1.jpg.supplemental-metadata(1).json`: the counter moves behind;
- an edited copy (`IMG_1-edited.jpg`, `-bearbeitet`, `-modifié`, ...) has no JSON of
  its own and shares the original's.

The JSON's `title` is the photo's original file name, which finds the photo when the
file name was cut too.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from facerec.errors import MetadataError

log = logging.getLogger(__name__)

SUPPLEMENTAL = "supplemental-metadata"
EDITED = ("-edited", "-bearbeitet", "-modifié", "-modificato", "-editado", "-bewerkt", "-edytowane", "-編集済み")
"""The edited-copy suffixes of the languages Takeout is known to use."""

PHOTO_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".heif", ".avif"}
)
MIN_CUT = 30
"""Only a file name at least this long is taken for one Takeout cut short."""
_COUNTER = re.compile(r"^(.*)\((\d+)\)$")


@dataclass(frozen=True)
class TakeoutPhoto:
    """A photo of the export and the names Google Photos had tagged in it (no boxes)."""

    photo: Path
    names: list[str] = field(default_factory=list)


def read_takeout(folder: Path) -> list[TakeoutPhoto]:
    """Every photo under `folder` (a Takeout export, unpacked) with at least one name,
    in path order. A JSON that cannot be read, or whose photo is missing, is skipped
    with a warning; a `folder` that does not exist raises `MetadataError`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MetadataError(f"{folder}: no such folder")
    found: dict[Path, list[str]] = {}
    for path in sorted(folder.rglob("*.json")):
        meta = _load(path)
        if meta is None:
            continue
        names = _names(meta.get("people"))
        if not names:
            continue
        title = meta.get("title")
        if isinstance(title, str) and Path(title).suffix and Path(title).suffix.lower() not in PHOTO_SUFFIXES:
            log.debug("%s: names for %s, which is not a photo (a video?); skipped", path, title)
            continue
        photo = _photo_for(path, title if isinstance(title, str) else None)
        if photo is None:
            log.warning("%s: names %s, but no photo of it was found beside it", path, ", ".join(names))
            continue
        for target in [photo, *_edited_copies(photo)]:
            known = found.setdefault(target, [])
            known += [n for n in names if n not in known]
    return [TakeoutPhoto(photo, names) for photo, names in sorted(found.items())]


def _load(path: Path) -> dict[str, object] | None:
    try:
        with path.open(encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("%s: cannot be read as Takeout JSON (%s); skipped", path, exc)
        return None
    return meta if isinstance(meta, dict) else None


def _names(people: object) -> list[str]:
    names: list[str] = []
    if isinstance(people, list):
        for person in people:
            name = person.get("name") if isinstance(person, dict) else None
            if isinstance(name, str) and name.strip() and name.strip() not in names:
                names.append(name.strip())
    return names


def _with_counter(name: str, counter: str | None) -> str:
    """`IMG_1.jpg` and counter 1 -> `IMG_1(1).jpg`."""
    if not counter:
        return name
    stem, dot, ext = name.rpartition(".")
    return f"{stem}({counter}).{ext}" if dot else f"{name}({counter})"


def _candidates(json_path: Path, title: str | None) -> Iterable[str]:
    """Photo names the JSON `json_path` can belong to, most likely first."""
    base = json_path.name[: -len(".json")]
    counter = None
    match = _COUNTER.match(base)
    if match:
        base, counter = match.group(1), match.group(2)
    stem, dot, suffix = base.rpartition(".")
    if dot and suffix and SUPPLEMENTAL.startswith(suffix.lower()) and "." in stem:
        base = stem  # IMG_1.jpg.supplemental-meta -> IMG_1.jpg
    yield _with_counter(base, counter)
    if title:
        yield _with_counter(title, counter)
    yield base


def _photo_for(json_path: Path, title: str | None) -> Path | None:
    folder = json_path.parent
    for name in _candidates(json_path, title):
        candidate = folder / name
        if candidate.is_file() and candidate.suffix.lower() in PHOTO_SUFFIXES:
            return candidate
    # Names cut short (Takeout cuts long file names, the photo's too): a long-named photo
    # whose name is the start of the JSON's or the title's, with the title's extension.
    base = next(iter(_candidates(json_path, None)))
    ext = Path(title).suffix.lower() if title else ""
    starts = {base.rsplit(".", 1)[0] if "." in base else base}
    if title:
        starts.add(Path(title).stem)
    matches = [
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in PHOTO_SUFFIXES
        and (not ext or p.suffix.lower() == ext)
        and len(p.name) >= MIN_CUT
        and not _is_edited(p)
        and any(start.startswith(p.stem) and start != p.stem for start in starts)
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        log.debug("%s: several photos could be its own (%s); skipped", json_path, ", ".join(p.name for p in matches))
    return None


def _is_edited(photo: Path) -> bool:
    stem = photo.stem.lower()
    return any(stem.endswith(suffix) for suffix in EDITED)


def _edited_copies(photo: Path) -> list[Path]:
    """`IMG_1-edited.jpg` and the like beside `IMG_1.jpg`."""
    copies = (photo.with_name(photo.stem + suffix + photo.suffix) for suffix in EDITED)
    return [copy for copy in copies if copy.is_file()]
