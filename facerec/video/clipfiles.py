"""Recognising a video file without decoding it: by its name (`is_video`) and by its
content (`clip_hash`).

Neither imports a decoder (PyAV), so the index walk can sort and hash clips cheaply;
use `clip_hash`, not a whole-file SHA-256, to know a clip that was moved, renamed or
copied: it reads at most 3 MiB whatever the clip's size.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from facerec.errors import VideoError
from facerec.video.suffixes import VIDEO_SUFFIXES

HASH_CHUNK = 1 << 20
"""Bytes `clip_hash` reads at each of the start, middle and end of a clip (1 MiB)."""


def clip_hash(path: str | Path) -> str:
    """A content hash of a video file that reads at most 3 MiB of it, whatever its
    size: SHA-256 (64 hex digits) of the file's size and its first, middle and last
    `HASH_CHUNK` bytes (the whole file when it is smaller than that), prefixed by a
    tag so it never equals a whole-file SHA-256. A 2 GB clip is hashed in
    milliseconds instead of the seconds reading it all takes.

    What it recognises: the same clip moved, renamed or copied (same bytes). The
    trade-off: two files of the same size that differ only outside the three
    sampled stretches get the same hash. Editing tools rewrite the container's
    index (the first or last bytes of MP4/MOV) or change the size, so that takes
    damage in place (a bit flip in the middle of the video data), not an edit.
    `VideoError` when the file cannot be read."""
    path = Path(path)
    try:
        if path.exists() and not path.is_dir() and not path.is_file():  # a FIFO would block
            raise VideoError(f"{path}: not a regular file")
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            digest = hashlib.sha256(b"facerec clip v1\0%d\0" % size)
            if size <= 3 * HASH_CHUNK:
                digest.update(fh.read())
            else:
                for offset in (0, size // 2 - HASH_CHUNK // 2, size - HASH_CHUNK):
                    fh.seek(offset)
                    digest.update(fh.read(HASH_CHUNK))
    except FileNotFoundError:
        raise VideoError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise VideoError(f"{path}: is a directory, not a video") from None
    except PermissionError:
        raise VideoError(f"{path}: permission denied") from None
    except OSError as exc:
        raise VideoError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return digest.hexdigest()


def is_video(path: str | Path) -> bool:
    """Whether `path`'s name ends like a video facerec reads (`VIDEO_SUFFIXES`)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES
