"""XMP packets read and written through libexiv2 (the `pyexiv2` binding).

Why pyexiv2: its wheels ship a libexiv2 (0.28) built without network code (the
library links nothing but the C/C++ runtime), for Linux x86-64 and aarch64,
Windows and macOS; it reads XMP sidecars from memory, keeps every property it
does not know when writing, and reports malformed XMP as an error. Only this
module imports it, lazily, under a lock (libexiv2's log handler is global).

Properties come as exiv2 keys with flattened paths, the way every exiv2 tool
spells them: `Xmp.mwg-rs.Regions/mwg-rs:RegionList[2]/mwg-rs:Name`. A struct or
array node has the value `type="Struct"` / `type="Bag"`; setting those first and
then the indexed fields builds nested structures.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from facerec.errors import MetadataError

log = logging.getLogger(__name__)

NAMESPACE = "http://facerec.invalid/xmp/1.0/"
"""facerec's XMP namespace (prefix `facerec`). `.invalid` is reserved (RFC 2606): it can
never resolve to anyone's server, so the name says whose it is and leaks nothing."""
PREFIX = "facerec"

EMPTY_PACKET = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>\n'
    '<?xpacket end="w"?>\n'
).encode()

_MIN_SIZE = 128  # libexiv2 recognises an XMP file by its first 80 bytes; pad short ones
ARRAY_KINDS = {"XmpBag": "Bag", "XmpSeq": "Seq", "XmpAlt": "Alt"}

Value = str | dict[str, str]
"""What can be written: text (or a `type="..."` node), or a language alternative
({'lang="x-default"': 'text'})."""


@dataclass(frozen=True)
class Field:
    """One exiv2 key's value: text, a list (an array of simple values: XmpBag,
    XmpSeq, XmpAlt) or a dict (LangAlt), and exiv2's type name."""

    value: str | list[str] | dict[str, str]
    kind: str

    @property
    def text(self) -> str:
        """The value as one string ('' for arrays and language alternatives)."""
        return self.value.strip() if isinstance(self.value, str) else ""


Fields = dict[str, Field]

_lock = threading.Lock()
_module: ModuleType | None = None


def _pyexiv2() -> ModuleType:
    global _module
    if _module is None:
        import pyexiv2

        pyexiv2.set_log_level(3)  # errors become exceptions; its warnings would go to stdout
        pyexiv2.registerNs(NAMESPACE, PREFIX)
        _module = pyexiv2
    return _module


def _prepared(data: bytes) -> bytes:
    data = data.lstrip(b" \t\r\n")
    return data + b"\n" * (_MIN_SIZE - len(data)) if len(data) < _MIN_SIZE else data


def _problem(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    if "unknown image type" in text:
        return "not an XMP packet"
    return text or type(exc).__name__


def _fields(detail: Mapping[str, Mapping[str, Any]]) -> Fields:
    return {key: Field(info.get("value", ""), str(info.get("typeName", ""))) for key, info in detail.items()}


def read_packet(packet: bytes, label: str) -> Fields:
    """The properties of an XMP packet or sidecar file; empty for empty data.
    Malformed XMP raises `MetadataError` naming `label` (the file)."""
    if not packet.strip(b" \t\r\n\x00"):
        return {}
    with _lock:
        module = _pyexiv2()
        try:
            image = module.ImageData(_prepared(packet))
        except RuntimeError as exc:
            raise MetadataError(f"{label}: malformed XMP ({_problem(exc)})") from None
        try:
            return _fields(image.read_xmp_detail())
        except (RuntimeError, UnicodeDecodeError) as exc:
            raise MetadataError(f"{label}: malformed XMP ({_problem(exc)})") from None
        finally:
            image.close()


def read_image(data: bytes, label: str) -> Fields:
    """The XMP of an image in any format libexiv2 reads (TIFF, WebP, HEIC, ...), with
    JPEG extended XMP merged in; empty for formats that cannot carry XMP."""
    with _lock:
        module = _pyexiv2()
        try:
            image = module.ImageData(data)
        except RuntimeError as exc:
            log.debug("%s: no XMP read (%s)", label, _problem(exc))
            return {}
        try:
            return _fields(image.read_xmp_detail())
        except (RuntimeError, UnicodeDecodeError) as exc:
            raise MetadataError(f"{label}: malformed metadata ({_problem(exc)})") from None
        finally:
            image.close()


def rewrite_packet(packet: bytes | None, label: str, delete: Iterable[str], values: Mapping[str, Value]) -> bytes:
    """The XMP packet `packet` (or a new one when None) with the keys `delete` taken out
    and then `values` set, in order; every other property is kept as it was."""
    source = packet if packet is not None and packet.strip(b" \t\r\n\x00") else EMPTY_PACKET
    with _lock:
        module = _pyexiv2()
        try:
            image = module.ImageData(_prepared(source))
        except RuntimeError as exc:
            raise MetadataError(f"{label}: malformed XMP ({_problem(exc)})") from None
        try:
            removals = dict.fromkeys(delete)
            if removals:
                image.modify_xmp(removals)
            if values:
                image.modify_xmp(dict(values))
            out: bytes = image.get_bytes()
        except (RuntimeError, UnicodeDecodeError) as exc:
            raise MetadataError(f"{label}: cannot write its XMP ({_problem(exc)})") from None
        finally:
            image.close()
    return out


def array_values(key: str, field: Field) -> dict[str, Value]:
    """`field` (read from `key`) as values to write back, arrays as indexed items so that
    a Bag stays a Bag (pyexiv2 would write every list as a Seq)."""
    if field.kind in ARRAY_KINDS and isinstance(field.value, list):
        out: dict[str, Value] = {key: f'type="{ARRAY_KINDS[field.kind]}"'}
        for i, item in enumerate(field.value, 1):
            out[f"{key}[{i}]"] = item
        return out
    if isinstance(field.value, dict):
        return {key: field.value}
    return {key: field.value if isinstance(field.value, str) else ", ".join(field.value)}
