"""Faces and names from Picasa: `.picasa.ini` files and Picasa's `contacts.xml`.

Picasa 3 keeps one `.picasa.ini` per folder (`Picasa.ini` in older versions), a
section per photo, and in it the faces it found or was told about:

    [IMG_1.jpg]
    faces=rect64(3f845bcb59418507),8e62398ebda8c1a5;rect64(9eb15e89b6b584c1),ffffffffffffffff

`rect64(...)` is a 64-bit hex number (leading zeros may be missing): four 16-bit
fractions of 65535, left, top, right, bottom, of the image as stored (for JPEGs,
before the EXIF orientation, like MWG regions; exiftool's picasa_faces.config reads
them so). The second field is a contact id; `ffffffffffffffff` is a face nobody named.
Names come from Picasa's `contacts.xml` (`<contact id="..." name="..."/>`, kept in
Picasa's data folder: copy it into the folder, or pass it) and from the ini's
`[Contacts2]` section (`8e62398ebda8c1a5=Ada Lovelace;;`), which newer versions write.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from facerec.errors import MetadataError
from facerec.metadata.geometry import Rect, box_from_stored, photo_geometry
from facerec.types import Box

log = logging.getLogger(__name__)

INI_NAMES = (".picasa.ini", "picasa.ini")
UNNAMED = "ffffffffffffffff"
NOT_PHOTOS = frozenset({"contacts", "contacts2", "picasa", "encoding"})


@dataclass(frozen=True)
class PicasaPhoto:
    """A photo and the faces Picasa kept for it: (name or None, box in upright pixels)."""

    photo: Path
    faces: list[tuple[str | None, Box]] = field(default_factory=list)


def read_picasa(folder: Path, contacts: Path | None = None) -> list[PicasaPhoto]:
    """Every photo under `folder` with faces in a `.picasa.ini`, in path order.

    Names come from `contacts` (Picasa's `contacts.xml`; by default every
    `contacts.xml` found under `folder`) and from the ini files' `[Contacts2]`
    sections; a face whose contact has no name there is returned unnamed. A photo
    the ini names but the folder lacks is skipped (logged); an unreadable
    `contacts.xml` raises `MetadataError`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MetadataError(f"{folder}: no such folder")
    files = [contacts] if contacts is not None else sorted(folder.rglob("contacts.xml"))
    names: dict[str, str] = {}
    for path in files:
        names.update(read_contacts(Path(path)))
    out: list[PicasaPhoto] = []
    for ini in sorted(p for p in folder.rglob("*") if p.name.lower() in INI_NAMES and p.is_file()):
        sections = _sections(ini)
        local = {k: v.split(";")[0].strip() for k, v in sections.get("contacts2", {}).items()}
        for section, entries in sections.items():
            raw = entries.get("faces")
            if not raw or section in NOT_PHOTOS:
                continue
            photo = _photo(ini.parent, section)
            if photo is None:
                log.info("%s: [%s] has faces, but there is no such photo", ini, section)
                continue
            faces = _faces(photo, raw, {**local, **names}, ini)
            if faces:
                out.append(PicasaPhoto(photo, faces))
    return sorted(out, key=lambda p: p.photo)


def _photo(folder: Path, name: str) -> Path | None:
    """The file `name` in `folder`; Picasa ran on Windows, so the case may differ."""
    exact = folder / name
    if exact.is_file():
        return exact
    folded = [p for p in folder.iterdir() if p.name.lower() == name.lower() and p.is_file()]
    return folded[0] if len(folded) == 1 else None


def read_contacts(path: Path) -> dict[str, str]:
    """contact id -> name, from Picasa's `contacts.xml`."""
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise MetadataError(f"{path}: no such file") from None
    except (OSError, ET.ParseError) as exc:
        raise MetadataError(f"{path}: cannot be read as Picasa contacts ({exc})") from None
    out: dict[str, str] = {}
    for contact in root.iter("contact"):
        cid, name = contact.get("id"), contact.get("name") or contact.get("display")
        if cid and name and name.strip():
            out[cid.strip().lower()] = name.strip()
    return out


def _sections(ini: Path) -> dict[str, dict[str, str]]:
    """The ini file as {section: {key: value}}; photo sections keep the file name's case,
    the others are lower-cased. Read by hand: file names may hold characters
    configparser would take for syntax."""
    try:
        raw = ini.read_bytes()
    except OSError as exc:
        raise MetadataError(f"{ini}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # Picasa on Windows wrote the system code page
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1]
            key = name.lower() if name.lower() in NOT_PHOTOS else name
            current = out.setdefault(key, {})
        elif current is not None and "=" in line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            current[key.strip().lower()] = value.strip()
    return out


def decode_rect64(text: str) -> Rect:
    """`rect64(...)`'s hex number -> (left, top, right, bottom) fractions."""
    value = int(text, 16)
    if not 0 <= value < 1 << 64:
        raise ValueError(f"rect64 out of range: {text}")
    left, top, right, bottom = ((value >> shift) & 0xFFFF for shift in (48, 32, 16, 0))
    return left / 65535, top / 65535, right / 65535, bottom / 65535


def _faces(photo: Path, raw: str, names: dict[str, str], ini: Path) -> list[tuple[str | None, Box]]:
    geometry = photo_geometry(photo)
    out: list[tuple[str | None, Box]] = []
    for entry in raw.split(";"):
        entry = entry.strip()
        if not entry:
            continue
        rect_part, _, contact = entry.partition(",")
        rect_part = rect_part.strip()
        if not (rect_part.startswith("rect64(") and rect_part.endswith(")")):
            log.info("%s: [%s] face %r not understood; skipped", ini, photo.name, entry)
            continue
        try:
            rect = decode_rect64(rect_part[len("rect64(") : -1])
        except ValueError:
            log.info("%s: [%s] face %r not understood; skipped", ini, photo.name, entry)
            continue
        box = box_from_stored(rect, geometry)
        if box is None:
            continue
        cid = contact.strip().lower()
        name = None if cid in ("", UNNAMED) else names.get(cid)
        if cid not in ("", UNNAMED) and name is None:
            log.info("%s: [%s] contact %s has no name in contacts.xml or [Contacts2]", ini, photo.name, cid)
        out.append((name, box))
    return out
