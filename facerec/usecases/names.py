"""People's names: what is accepted, and how it is stored."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence

from facerec.errors import InvalidNameError, PersonNotFoundError, SimilarNameError
from facerec.usecases.context import Context

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


def normalized(name: str) -> str:
    """The form two names are compared in: case, accents and spacing ignored
    ("José  Pérez" and "jose perez" are the same)."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())


def close_names(known: Sequence[str], name: str, limit: int = 3) -> list[str]:
    """Registered names that `name` was probably meant to be: the same but for case,
    accents or spacing first, then near spellings."""
    key = normalized(name)
    same = [k for k in known if normalized(k) == key and k != name]
    by_key = {normalized(k): k for k in known}
    near = [by_key[m] for m in difflib.get_close_matches(key, list(by_key), n=limit, cutoff=0.75)]
    return list(dict.fromkeys(same + [n for n in near if n != name]))[:limit]


def did_you_mean(known: Sequence[str], name: str) -> str:
    """'; did you mean 'Joe Biden'?' or '' (for messages)."""
    close = close_names(known, name)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


def require_person(ctx: Context, name: str) -> int:
    """The id of registered person `name`; `PersonNotFoundError` suggesting close names otherwise."""
    person_id = ctx.db.people.find_person(name)
    if person_id is None:
        raise PersonNotFoundError(f"no registered person named {name!r}{did_you_mean(ctx.db.people.names(), name)}")
    return person_id


def check_new_name(ctx: Context, name: str, force: bool = False) -> None:
    """Refuse a name that is new but differs from a registered one only by case,
    accents or spacing ("joe biden" beside "Joe Biden"): `SimilarNameError`,
    unless `force` (two different people may share a spelling)."""
    if force or ctx.db.people.find_person(name) is not None:
        return
    key = normalized(name)
    same = [k for k in ctx.db.people.names() if normalized(k) == key]
    if same:
        raise SimilarNameError(
            f"{name!r} is new, but {same[0]!r} is registered; did you mean {same[0]!r}? nothing stored",
            existing=same[0],
        )
