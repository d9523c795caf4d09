"""File paths as database keys.

PostgreSQL text must be valid UTF-8, but Linux file names are bytes. A name
that is not UTF-8 arrives in Python with "surrogate escapes"; its key spells
each undecodable byte as `\\xNN`, and `key_path` turns such a key back into
the original name so the file can be opened again.
"""

from __future__ import annotations

import os
import re

_ESCAPED = re.compile(r"\\x([0-9a-f]{2})")
_SURROGATE = re.compile("[\ud800-\udfff]")


def path_key(path: str | os.PathLike[str]) -> str:
    """The absolute path as stored in `pictures.picture`."""
    text = os.path.abspath(os.fspath(path))
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        return raw.decode("utf-8", "backslashreplace")


def key_path(key: str) -> str:
    """The file-system path for a stored key (inverse of `path_key`)."""
    if os.path.lexists(key) or "\\x" not in key:
        return key
    candidate = _ESCAPED.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), key)
    return candidate if os.path.lexists(candidate) else key


def printable(text: str) -> str:
    """`text` safe to write as UTF-8: an undecodable byte of a file name or an
    argument (a surrogate escape) is spelled `\\xNN`, as in `path_key`."""
    return _SURROGATE.sub(_spell, text)


def _spell(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"
