"""Albums: the photos a search found, gathered in a folder as symbolic links
to the originals (`--link-to DIR`) or as private copies (`--copy-to DIR`).

An album is added to, never overwritten: a photo already there (the same
link target, or the same bytes) is left alone, and a different photo with
the same file name gets a numbered name ("IMG_0001 (2).jpg")."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from facerec.errors import OutputError
from facerec.files import make_private_dir
from facerec.paths import key_path
from facerec.usecases.context import Context

__all__ = ["Album", "make_album"]

MODES = ("link", "copy")


@dataclass(frozen=True)
class Album:
    """What went into the album folder: `added` new entries, `present` already
    there, `missing` photos whose file is gone (not added)."""

    folder: Path
    mode: str
    added: int
    present: int
    missing: list[str] = field(default_factory=list)


def _same_file(entry: Path, source: Path) -> bool:
    """Whether the album entry already is `source` (its link, or a copy of its bytes)."""
    if entry.is_symlink():
        return os.path.realpath(entry) == os.path.realpath(source)
    try:
        if entry.stat().st_size != source.stat().st_size:
            return False
        with entry.open("rb") as a, source.open("rb") as b:
            while True:
                x, y = a.read(1 << 20), b.read(1 << 20)
                if x != y:
                    return False
                if not x:
                    return True
    except OSError:
        return False


def _free_name(folder: Path, name: str, source: Path) -> tuple[Path, bool]:
    """(path for `source` in `folder`, whether it is already there)."""
    stem, suffix = os.path.splitext(name)
    n = 1
    while True:
        candidate = folder / (name if n == 1 else f"{stem} ({n}){suffix}")
        if not os.path.lexists(candidate):
            return candidate, False
        if _same_file(candidate, source):
            return candidate, True
        n += 1


def _copy(source: Path, target: Path) -> None:
    """Copy `source` to a new private file (0600) `target`, keeping its modification time."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        st = source.stat()
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def make_album(ctx: Context, pictures: Sequence[str], folder: str | Path, mode: str) -> Album:
    """Put `pictures` (stored keys, best match first) into `folder` by `mode`
    ('link': symbolic links to the originals; 'copy': private copies)."""
    if mode not in MODES:
        raise ValueError(f"album mode must be one of {MODES}")
    target = Path(folder).expanduser()
    try:
        make_private_dir(target)
    except OSError as exc:
        raise OutputError(f"{target}: cannot create the album folder ({exc.strerror or exc})") from None
    added = present = 0
    missing: list[str] = []
    for key in pictures:
        source = Path(key_path(key))
        if not source.is_file():
            missing.append(key)
            continue
        entry, there = _free_name(target, source.name, source)
        if there:
            present += 1
            continue
        try:
            if mode == "link":
                os.symlink(os.path.abspath(source), entry)
            else:
                _copy(source, entry)
        except OSError as exc:
            raise OutputError(f"{entry}: cannot write to the album ({exc.strerror or exc})") from None
        added += 1
    return Album(target, mode, added, present, missing)
