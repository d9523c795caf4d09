"""Replacing a user's file (a sidecar, a photo) atomically, keeping who may read it.

Unlike facerec's own files (0600, `facerec.files`), a sidecar belongs with the user's
photo: an existing file keeps its mode (and owner, when run as root); a new sidecar
gets its photo's read/write bits, so whoever can see the photo can read the names
written beside it, and nobody else.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

from facerec.errors import MetadataError


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_file(path: Path) -> bytes | None:
    """The bytes of `path`, or None when it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise MetadataError(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise MetadataError(f"{path}: permission denied") from None
    except OSError as exc:
        raise MetadataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def check_writable(path: Path) -> None:
    """Refuse a file the user made read-only, and a folder facerec cannot write in."""
    if path.exists() and (not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222):
        raise MetadataError(f"{path}: is read-only; nothing was changed")  # even for root, who could write it
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise MetadataError(f"{path.parent}: cannot write in this folder; nothing was changed")


def replace_file(path: Path, data: bytes, like: Path) -> None:
    """Write `data` to `path` atomically (a reader sees the old file or the new one).
    An existing `path` keeps its mode and owner; a new one takes them from `like`
    (its photo), without execute bits."""
    check_writable(path)
    try:
        model = path.stat() if path.exists() else like.stat()
        mode = stat.S_IMODE(model.st_mode) & (0o7777 if path.exists() else 0o666)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".facerec-tmp", dir=path.parent)
    except OSError as exc:
        raise MetadataError(f"{path}: cannot write ({exc.strerror or exc}); nothing was changed") from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # root writing for a user: keep the owner
            os.chown(tmp, model.st_uid, model.st_gid)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise MetadataError(f"{path}: cannot write ({exc.strerror or exc}); nothing was changed") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def remove_file(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise MetadataError(f"{path}: cannot remove ({exc.strerror or exc})") from None
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
