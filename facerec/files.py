"""Private files: everything facerec writes (the database, crops, snapshots,
contact sheets, thumbnails) is for its owner's eyes only. Folders are 0700
(0711 where another user must pass through), files 0600, written atomically."""

from __future__ import annotations

import os
from pathlib import Path


def make_private_dir(path: Path, traversable: bool = False) -> None:
    """Create `path` (and parents) readable by the owner only: 0700, or 0711 when
    another user (the root case's service user) must pass through it. Missing
    parents are created 0700 too (`mkdir(parents=True)` would make them 0755:
    e.g. the data directory, when a crop is the first thing written there)."""
    for missing in reversed([p for p in (path, *path.parents) if not p.exists()]):
        missing.mkdir(mode=0o700, exist_ok=True)
    mode = 0o711 if traversable else 0o700
    if path.stat().st_mode & 0o777 != mode:
        path.chmod(mode)


def write_private_file(path: Path, data: bytes) -> None:
    """Write `data` to `path`, readable by the owner only (0600), atomically: a
    reader sees the old file or the new one, never half of it. The folder is
    created (0700) if missing."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
