"""People's names: what is accepted, and how it is stored."""

from __future__ import annotations

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


def name_order(name: str) -> tuple[str, str]:
    """Sort key for lists of names: case, accents and spacing ignored ('alice' beside
    'Alice', 'Émile' among the E's), ties in a fixed order."""
    return normalized(name), name


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace a character, swap two neighbours) from `a` to `b`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _typo_allowance(key: str) -> int:
    """How many edits still make a near spelling: none for 1-2 letters, 1 up to 5, 2 up to 10, then 3."""
    n = len(key)
    return 0 if n < 3 else 1 if n <= 5 else 2 if n <= 10 else 3


def close_names(known: Sequence[str], name: str, limit: int = 3) -> list[str]:
    """Registered names that `name` was probably meant to be, best first, case,
    accents and spacing ignored: the same name ("joe biden"); names that have it
    as a word or words ("kit", "harington" -> "Kit Harington"); names, or a word
    of them, that start with it ("kit har", "harin"); near spellings ("kit
    harrington", "obmaa"), nearest first."""
    key = normalized(name)
    if not key:
        return []
    ranked: list[tuple[tuple[int, int], tuple[str, str], str]] = []
    for k in dict.fromkeys(known):
        if k == name:
            continue
        nk = normalized(k)
        words = nk.split()
        if nk == key:
            rank = (0, 0)
        elif f" {key} " in f" {nk} ":
            rank = (1, 0)
        elif len(key) >= 2 and (nk.startswith(key) or any(w.startswith(key) for w in words)):
            rank = (2, 0)
        else:
            distance = min(edit_distance(key, candidate) for candidate in [nk, *words])
            if distance > _typo_allowance(key):
                continue
            rank = (3, distance)
        ranked.append((rank, name_order(k), k))
    return [k for _, _, k in sorted(ranked)][:limit]


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
