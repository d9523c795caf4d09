"""Video clips in the library: `index` hands a clip to `analyze_video` (in its
worker process), which finds each person on screen (`facerec.video.clips.analyze_clip`:
sampled frames, scene cuts, tracked faces, best frames embedded) and stores the
clip as one picture of kind 'video' with one face per face track and its times.

The rest of the library treats those faces like a photo's: they group (faces of
one clip are never one group, like faces of one photo, so two people on screen
together stay two people), are named and searched; `clip_times` gives `photos`
and `search` the times a person appears, `clip_of_face` the web page the file to
play and where to start. PyAV is imported only when a clip is met, so indexing
photos costs nothing more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from facerec.db.library import ClipTime, IndexedPhoto
from facerec.errors import FaceNotFoundError
from facerec.paths import key_path
from facerec.types import EmbeddedFace
from facerec.usecases.context import Context
from facerec.video.suffixes import VIDEO_SUFFIXES
from facerec.vision.pipeline import Pipeline

__all__ = ["ClipTime", "PlayableClip", "clip_of_face"]

log = logging.getLogger(__name__)


def is_video(path: str | Path) -> bool:
    """Whether `path` is indexed as a video clip (by its name's ending)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def format_time(seconds: float) -> str:
    """`0:12`, `12:05`, `1:02:03`: a time in a clip as players show it (whole seconds)."""
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def analyze_video(
    pipeline: Pipeline, known_hashes: frozenset[str], key: str, path: str, size: int, mtime: float
) -> tuple[str, IndexedPhoto | None]:
    """A clip's content hash and, unless those bytes are already indexed, its faces
    ready to store: (hash, IndexedPhoto or None). Raises `VideoError` (a
    `FacerecError`, one line naming the file) when it cannot be decoded."""
    from facerec.video.clips import analyze_clip, clip_hash  # PyAV: only when there is a clip

    digest = clip_hash(path)
    if digest in known_hashes:
        return digest, None
    found = analyze_clip(path, pipeline)
    faces = [EmbeddedFace(t.face, t.embedding, found.model) for t in found.tracks]
    photo = IndexedPhoto(
        key,
        digest,
        size,
        mtime,
        found.width,
        found.height,
        faces,
        tuple(t.sharpness for t in found.tracks),
        kind="video",
        duration=found.duration_s,
        times=tuple(ClipTime(t.best_s, t.spans) for t in found.tracks),
    )
    return digest, photo


def clip_times(ctx: Context, face_ids: list[int]) -> dict[int, ClipTime]:
    """When each face of a clip among `face_ids` is on screen (faces of photos are left out)."""
    return ctx.db.library.face_times(face_ids) if face_ids else {}


def clip_starts(ctx: Context, face_ids: list[int]) -> dict[int, tuple[float, str]]:
    """For each face of a clip among `face_ids`: where to play it from, and its times as
    players show them (`0:12, 1:05`), for the web page's lists of faces."""
    out = {}
    for face_id, time in clip_times(ctx, face_ids).items():
        starts = [start for start, _ in time.spans] or [time.t_seconds]
        out[face_id] = (start_of(time), ", ".join(format_time(t) for t in starts))
    return out


@dataclass(frozen=True)
class PlayableClip:
    """A face's clip, for the web page's player: the file, where to start (when
    the face first comes on screen), and when it is on screen."""

    path: Path
    start_s: float
    time: ClipTime

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES.get(self.path.suffix.lower(), "application/octet-stream")


_MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".3gp": "video/3gpp",
    ".3g2": "video/3gpp2",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".avi": "video/x-msvideo",
    ".mts": "video/mp2t",
    ".m2ts": "video/mp2t",
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".wmv": "video/x-ms-wmv",
}


def start_of(time: ClipTime) -> float:
    """Where to play a face from: when it first comes on screen."""
    return time.spans[0][0] if time.spans else time.t_seconds


def clip_of_face(ctx: Context, face_id: int) -> PlayableClip:
    """The clip face `face_id` was found in, to play (`FaceNotFoundError` if it is
    not a face of an indexed clip, or the file is gone)."""
    found = ctx.db.library.clip_of_face(face_id)
    if found is None:
        raise FaceNotFoundError(f"face {face_id} is not a face of an indexed video clip")
    key, time = found
    path = Path(key_path(key))
    if not path.is_file():
        raise FaceNotFoundError(f"{key}: the clip is no longer there")
    return PlayableClip(path, start_of(time), time)
