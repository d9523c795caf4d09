"""Faces in video clips: each person on screen becomes one face of the clip, with a time.

`analyze_clip` reads a clip once (`facerec.video.decode`), looks for faces in
a frame every `interval_s` seconds and in the first frame of every new shot,
follows each face from frame to frame with the live window's tracker
(`facerec.video.tracking`: box overlap gated by appearance), and keeps, for
each face track, its time span and its few best frames (large, sharp,
frontal, certain). Those frames are embedded; the track's vector is the
normalised mean of their embeddings.

Embedding is the costly step, so not every frame of a track is embedded: a
frame is when it would be one of the track's best so far, and at least once
every `probe_s` seconds, to check the track is still the same person. A frame
farther than `SPLIT_DISTANCE` from the track's recent frames, confirmed by the
next one, starts a new track: two people never share a track, even when one
replaces the other in the same spot. At the end, tracks of one person that were
never on screen together (someone who left and came back, a cut, a face the
detector lost for a moment) are joined when their vectors are within
`MERGE_DISTANCE`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facerec.errors import VideoError
from facerec.types import Box, Face, Image, Vector
from facerec.video.decode import ClipInfo, open_clip, read_ahead
from facerec.video.suffixes import VIDEO_SUFFIXES
from facerec.video.tracking import Tracker
from facerec.vision.geometry import normalize
from facerec.vision.pipeline import Pipeline
from facerec.vision.quality import face_sharpness, frontality

log = logging.getLogger(__name__)

__all__ = ["VIDEO_SUFFIXES", "ClipAnalysis", "FaceTrack", "TrackFrame", "analyze_clip", "clip_hash", "is_video"]

INTERVAL_S = 0.25
"""Seconds of video between analysed frames (4 a second). People in home videos
walk and turn; at 4 frames a second a face moves little enough between two of
them for the tracker to follow it, and detection stays a small part of the work
next to decoding (see `docs/benchmarks.md`)."""

PROBE_S = 1.0
"""A track's face is embedded at least this often (seconds of video) to check
it is still the same person."""

BEST_FRAMES = 3
"""Frames embedded into a track's vector (its best ones)."""

MIN_FACE_PX = 20
"""Faces smaller than this (pixels, the box's shorter side, in the upright frame) are
ignored: too small to recognise anyone."""

MIN_HITS = 2
"""A track seen in fewer analysed frames than this is dropped (a face in one frame
only, 1/4 s, is usually a detector mistake)."""

IOU = 0.2
"""Box overlap (0..1) that continues a track from one analysed frame to the next,
1/4 s later: lower than the live window's 0.3 (1/30 s apart), since faces move
farther between analysed frames; the appearance gate and the identity check keep
two people apart."""

SPLIT_DISTANCE = 0.5
"""Cosine distance from a track's recent embeddings past which a frame is someone
else. Under the recognition threshold (0.57) and above what one person's frames
within a clip differ by (at most 0.3 on the dev clips)."""

MERGE_DISTANCE = 0.4
"""Two tracks of one clip that were never on screen together are one person when
their vectors are at most this far apart (cosine distance). Well under the
recognition threshold (0.57; the nearest two different people of the dev set are
0.60 apart): a person who comes back in different light stays two faces rather
than risk two people becoming one."""

RECENT = 5
"""Embeddings of a track the identity check compares a new frame with."""


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


@dataclass(frozen=True)
class TrackFrame:
    """One of a track's best frames: when, the face in the upright frame, its
    embedding, and its `quality` (0..1, see `_quality`) and `sharpness` (variance
    of the Laplacian of the aligned face; blurred faces score under about 40)."""

    time_s: float
    face: Face
    embedding: Vector
    quality: float
    sharpness: float | None


@dataclass(frozen=True)
class FaceTrack:
    """One person's face in a clip.

    `start_s`..`end_s`: the first and last analysed frame it was seen in (seconds
    from the start of the clip); `spans`: the stretches it was on screen, when it
    left and came back. `best_s`: the time of its best frame, where `face` (box,
    five landmarks, detector score, in pixels of the upright frame) was found.
    `embedding`: the normalised mean of the best frames' embeddings (model
    `ClipAnalysis.model`). `frames`: analysed frames it was seen in. `best`: its
    best frames, best first.
    """

    start_s: float
    end_s: float
    best_s: float
    face: Face
    embedding: Vector
    sharpness: float | None
    frames: int
    spans: tuple[tuple[float, float], ...]
    best: tuple[TrackFrame, ...]

    @property
    def box(self) -> Box:
        return self.face.box

    @property
    def landmarks(self) -> np.ndarray | None:
        return self.face.landmarks

    @property
    def score(self) -> float:
        return self.face.score


@dataclass(frozen=True)
class ClipAnalysis:
    """What `analyze_clip` found in a clip.

    `duration_s`, `fps`, `width` x `height` (the upright picture), `rotation`
    (degrees clockwise applied), `codec` and `decoder`: see `ClipInfo`.
    `frames_decoded`: frames decoded (all but the B-frames, which no frame refers
    to and which are skipped); `frames_analyzed`: those searched
    for faces. `tracks`: one per person on screen (and per return the analysis
    could not join), in order of first appearance. `model`: the embedder of their
    vectors. `seconds`: the work's wall-clock time.
    """

    path: Path
    duration_s: float
    fps: float
    width: int
    height: int
    rotation: int
    codec: str
    decoder: str
    frames_decoded: int
    frames_analyzed: int
    tracks: list[FaceTrack]
    model: str
    seconds: float

    @property
    def speed(self) -> float:
        """Seconds of video analysed per second of work."""
        return self.duration_s / self.seconds if self.seconds > 0 else math.inf


@dataclass
class _Seen:
    """A face in one analysed frame, as part of a track."""

    time_s: float
    index: int  # the analysed frame's number
    face: Face
    quality: float
    sharpness: float | None
    embedding: Vector | None = None


@dataclass
class _Segment:
    """A track being built: the faces of one person, in order."""

    seen: list[_Seen] = field(default_factory=list)
    embedded: list[_Seen] = field(default_factory=list)  # those with an embedding, in order
    pending: _Seen | None = None  # an embedded face unlike the others, awaiting confirmation
    last_embedded_s: float = -math.inf

    def wants_embedding(self, candidate: _Seen, best_frames: int, probe_s: float) -> bool:
        """Embed this face? Yes if it would be among the best frames so far, if a
        probe is due, or if the previous embedded face looked like someone else."""
        if self.pending is not None or candidate.time_s - self.last_embedded_s >= probe_s:
            return True
        ranked = sorted((s.quality for s in self.embedded), reverse=True)
        return len(ranked) < best_frames or candidate.quality > ranked[best_frames - 1]

    def reference(self) -> Vector:
        recent = [s.embedding for s in self.embedded[-RECENT:] if s.embedding is not None]
        return normalize(np.mean(recent, axis=0, keepdims=True))[0]


def _quality(face: Face, sharpness: float | None) -> float:
    """How good a frame of a face is for recognising it, 0..1: the product of its
    size (the box's shorter side over 112 px, the size SFace reads, capped at 1),
    sharpness (over 100, capped at 1), frontality (`frontality`) and detector score."""
    size = min(1.0, min(face.box.w, face.box.h) / 112)
    sharp = 1.0 if sharpness is None else min(1.0, sharpness / 100)
    front = frontality(face.landmarks)
    return size * sharp * (1.0 if front is None else max(front, 0.05)) * face.score


def _distance(a: Vector, b: Vector) -> float:
    return float(1.0 - np.dot(a, b))


class _Analyzer:
    """The state of one clip's analysis (see the module docs)."""

    def __init__(self, pipeline: Pipeline, best_frames: int, probe_s: float, max_misses: int) -> None:
        self.pipeline = pipeline
        self.best_frames = best_frames
        self.probe_s = probe_s
        self.max_misses = max_misses
        self.tracker = Tracker(iou_threshold=IOU, max_misses=max_misses)
        self.open: dict[int, _Segment] = {}
        self.done: list[_Segment] = []

    def cut(self) -> None:
        """A new shot: every track ends."""
        self.done.extend(self.open.values())
        self.open.clear()
        self.tracker = Tracker(iou_threshold=IOU, max_misses=self.max_misses)

    def frame(self, index: int, time_s: float, image: Image) -> None:
        faces = [f for f in self.pipeline.detect(image) if min(f.box.w, f.box.h) >= MIN_FACE_PX]
        seen = self.tracker.update(faces, time_s, image)
        alive = {t.id for t in self.tracker.tracks}
        for track_id in [i for i in self.open if i not in alive]:
            self.done.append(self.open.pop(track_id))
        if not seen:
            return
        sharp = face_sharpness(self.pipeline.embedder, image, [t.face for t in seen])
        entries = []
        for track, sh in zip(seen, sharp):
            segment = self.open.setdefault(track.id, _Segment())
            entries.append((track.id, segment, _Seen(time_s, index, track.face, _quality(track.face, sh), sh)))
        wanted = [(tid, seg, s) for tid, seg, s in entries if seg.wants_embedding(s, self.best_frames, self.probe_s)]
        if wanted:
            vectors = self.pipeline.embedder.embed(image, [s.face for _, _, s in wanted])
            for (_, _, s), vector in zip(wanted, vectors):
                s.embedding = vector
        for track_id, segment, s in entries:
            self._add(track_id, segment, s)

    def _add(self, track_id: int, segment: _Segment, seen: _Seen) -> None:
        if seen.embedding is None:
            if segment.pending is None:
                segment.seen.append(seen)
            return
        if not segment.embedded or _distance(segment.reference(), seen.embedding) <= SPLIT_DISTANCE:
            if segment.pending is not None:  # one odd frame (blur, a turn): not used
                log.debug("ignored one frame at %.2f s unlike its track", segment.pending.time_s)
                segment.pending = None
            segment.seen.append(seen)
            segment.embedded.append(seen)
            segment.last_embedded_s = seen.time_s
            return
        if segment.pending is None:
            segment.pending = seen
            segment.last_embedded_s = seen.time_s
            return
        first = segment.pending
        assert first.embedding is not None
        if _distance(first.embedding, seen.embedding) <= SPLIT_DISTANCE:
            log.debug("track %d changed person at %.2f s: split", track_id, first.time_s)
            segment.pending = None
            self.done.append(segment)
            fresh = _Segment(seen=[first, seen], embedded=[first, seen], last_embedded_s=seen.time_s)
            self.open[track_id] = fresh
        else:
            segment.pending = seen
            segment.last_embedded_s = seen.time_s

    def tracks(self, best_frames: int, min_hits: int) -> list[FaceTrack]:
        self.cut()
        groups = _merge([s for s in self.done if s.embedded], best_frames)
        # Counted after joining: a face moving too fast for the tracker is many short segments.
        groups = [g for g in groups if sum(len(s.seen) for s in g) >= min_hits]
        return sorted((_track(g, best_frames) for g in groups), key=lambda t: (t.start_s, t.face.box.x))


def _vector(frames: list[_Seen], best_frames: int) -> tuple[list[_Seen], Vector]:
    best = _pick_best(frames, best_frames)
    vectors = np.stack([s.embedding for s in best if s.embedding is not None])
    return best, normalize(vectors.mean(axis=0, keepdims=True))[0]


def _pick_best(frames: list[_Seen], best_frames: int, gap_s: float = 0.5) -> list[_Seen]:
    """The embedded frames of highest quality, preferring ones at least `gap_s`
    apart (different moments say more about a face than neighbouring frames)."""
    ranked = sorted((s for s in frames if s.embedding is not None), key=lambda s: s.quality, reverse=True)
    chosen: list[_Seen] = []
    for s in ranked:
        if len(chosen) < best_frames and all(abs(s.time_s - c.time_s) >= gap_s for c in chosen):
            chosen.append(s)
    for s in ranked:
        if len(chosen) < best_frames and s not in chosen:
            chosen.append(s)
    return chosen


def _merge(segments: list[_Segment], best_frames: int) -> list[list[_Segment]]:
    """Join segments of one person that never share an analysed frame, closest
    first, while their vectors are within `MERGE_DISTANCE` (a joined group's
    vector is made again from its best frames). One distance matrix, updated
    row by row: a long clip's thousand segments take well under a second."""
    n = len(segments)
    groups: list[list[_Segment]] = [[s] for s in segments]
    if n < 2:
        return groups
    vectors = np.stack([_vector(s.embedded, best_frames)[1] for s in segments])
    together = np.zeros((n, n), bool)  # seen in one analysed frame: never one person
    at: dict[int, list[int]] = {}
    for i, s in enumerate(segments):
        for x in s.seen:
            at.setdefault(x.index, []).append(i)
    for members in at.values():
        together[np.ix_(members, members)] = True
    dist = 1.0 - vectors @ vectors.T
    dist[together | (dist > MERGE_DISTANCE)] = np.inf
    np.fill_diagonal(dist, np.inf)
    alive = np.ones(n, bool)
    while True:
        flat = int(np.argmin(dist))
        i, j = divmod(flat, n)
        if not np.isfinite(dist[i, j]):
            break
        groups[i] += groups[j]
        groups[j] = []
        alive[j] = False
        together[i] |= together[j]
        together[:, i] = together[i]
        embedded = [x for s in groups[i] for x in s.embedded]
        vectors[i] = _vector(embedded, best_frames)[1]
        row = 1.0 - vectors @ vectors[i]
        row[together[i] | ~alive | (row > MERGE_DISTANCE)] = np.inf
        row[i] = np.inf
        dist[i], dist[:, i] = row, row
        dist[j, :] = dist[:, j] = np.inf
    return [g for g in groups if g]


def _spans(times: list[float], gap_s: float) -> tuple[tuple[float, float], ...]:
    """Consecutive times (sorted) grouped into (start, end) stretches, broken where
    two are more than `gap_s` apart."""
    spans: list[tuple[float, float]] = []
    for t in times:
        if spans and t - spans[-1][1] <= gap_s:
            spans[-1] = (spans[-1][0], t)
        else:
            spans.append((t, t))
    return tuple(spans)


def _track(group: list[_Segment], best_frames: int) -> FaceTrack:
    seen = sorted((s for seg in group for s in seg.seen), key=lambda s: s.time_s)
    embedded = [s for seg in group for s in seg.embedded]
    best, vector = _vector(embedded, best_frames)
    top = best[0]
    times = [s.time_s for s in seen]
    frames = tuple(
        TrackFrame(s.time_s, s.face, s.embedding, s.quality, s.sharpness) for s in best if s.embedding is not None
    )
    return FaceTrack(
        start_s=times[0],
        end_s=times[-1],
        best_s=top.time_s,
        face=top.face,
        embedding=vector,
        sharpness=top.sharpness,
        frames=len(seen),
        spans=_spans(times, gap_s=2.0),
        best=frames,
    )


def analyze_clip(
    path: str | Path,
    pipeline: Pipeline,
    interval_s: float = INTERVAL_S,
    best_frames: int = BEST_FRAMES,
    probe_s: float = PROBE_S,
    min_hits: int = MIN_HITS,
    max_seconds: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> ClipAnalysis:
    """Every person's face in the clip at `path`, one `FaceTrack` each (see the module docs).

    `interval_s`: seconds of video between analysed frames (`INTERVAL_S`);
    `best_frames`: frames averaged into a track's vector; `probe_s`: how often a
    track's identity is checked; `min_hits`: analysed frames a track needs.
    `max_seconds`: wall-clock bound (default: 60 s plus 4 s per second of video).
    `progress(seconds_of_video_done)` is called after each analysed frame.
    Raises `VideoError` (one line naming the file) when the clip cannot be read.
    """
    started = time.perf_counter()
    path = Path(path)
    with open_clip(path) as clip:
        info: ClipInfo = clip.info
        budget = max_seconds if max_seconds is not None else 60.0 + 4.0 * max(info.duration_s, 60.0)
        # A face may be missed for up to a second (a turn, a blink of the detector) and keep its track.
        analyzer = _Analyzer(pipeline, best_frames, probe_s, max_misses=max(1, round(1.0 / interval_s)))
        analyzed = decoded = 0
        last_t = 0.0
        # closing(): the reading thread has stopped before the clip is closed, whatever happens here.
        with closing(read_ahead(clip.samples(interval_s, max_seconds=budget))) as samples:
            for sample in samples:
                if sample.scene_cut:
                    analyzer.cut()
                analyzer.frame(analyzed, sample.time_s, sample.image)
                analyzed += 1
                decoded = sample.frames_decoded
                last_t = sample.time_s
                if progress is not None:
                    progress(sample.time_s)
        decoded = max(decoded, clip.frames_decoded)
        tracks = analyzer.tracks(best_frames, min_hits)
    duration = info.duration_s if info.duration_s > 0 else last_t + 1.0 / info.fps
    seconds = time.perf_counter() - started
    log.info(
        "%s: %.1f s of video, %d frames decoded, %d analysed, %d face tracks in %.1f s",
        path,
        duration,
        decoded,
        analyzed,
        len(tracks),
        seconds,
    )
    return ClipAnalysis(
        path=path,
        duration_s=duration,
        fps=info.fps,
        width=info.width,
        height=info.height,
        rotation=info.rotation,
        codec=info.codec,
        decoder=info.decoder,
        frames_decoded=decoded,
        frames_analyzed=analyzed,
        tracks=tracks,
        model=pipeline.embedder.name,
        seconds=seconds,
    )
