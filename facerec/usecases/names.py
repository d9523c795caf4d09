"""People's names: what is accepted, and how it is stored."""

from __future__ import annotations

import unicodedata

from facerec.errors import InvalidNameError

MAX_NAME_LENGTH = 100


def validate_name(name: str) -> str:
    """The name as it will be stored: surrounding whitespace removed, otherwise exact.

    Refused: empty, longer than `MAX_NAME_LENGTH` characters, containing
    control characters or line breaks (newlines, tabs, NUL, U+2028), or bytes
    that are not text (a command-line argument that is not valid UTF-8 arrives
    as lone surrogates). Quotes, SQL text and any other Unicode are fine:
    names only ever reach SQL as parameters.
    """
    cleaned = name.strip()
    if not cleaned:
        raise InvalidNameError("a name cannot be empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidNameError(f"a name can have at most {MAX_NAME_LENGTH} characters (this one has {len(cleaned)})")
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in cleaned):
        raise InvalidNameError("a name cannot contain control characters (newlines, tabs, ...)")
    if any(unicodedata.category(ch) == "Cs" for ch in cleaned):
        raise InvalidNameError("a name must be valid UTF-8 text")
    return cleaned
