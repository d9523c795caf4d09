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

The tracks and their joining are `facerec.video.facetracks`, the clip's name and
content hash `facerec.video.clipfiles` (re-exported here, with `VIDEO_SUFFIXES`);
this module reads the clip and decides what to embed. Tune speed with `interval_s`
(`python bench/video_bench.py --interval S` measures it) and `probe_s`, not by
skipping the identity checks.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from facerec.types import Image
from facerec.video.clipfiles import clip_hash, is_video
from facerec.video.decode import ClipInfo, open_clip, read_ahead
from facerec.video.facetracks import (
    FaceTrack,
    Seen,
    Segment,
    TrackFrame,
    distance,
    frame_quality,
    join_segments,
    to_track,
)
from facerec.video.suffixes import VIDEO_SUFFIXES
from facerec.video.tracking import Tracker
from facerec.vision.pipeline import Pipeline
from facerec.vision.quality import face_sharpness

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


class _Analyzer:
    """The state of one clip's analysis (see the module docs)."""

    def __init__(self, pipeline: Pipeline, best_frames: int, probe_s: float, max_misses: int) -> None:
        self.pipeline = pipeline
        self.best_frames = best_frames
        self.probe_s = probe_s
        self.max_misses = max_misses
        self.tracker = Tracker(iou_threshold=IOU, max_misses=max_misses)
        self.open: dict[int, Segment] = {}
        self.done: list[Segment] = []

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
            segment = self.open.setdefault(track.id, Segment())
            entries.append((track.id, segment, Seen(time_s, index, track.face, frame_quality(track.face, sh), sh)))
        wanted = [(tid, seg, s) for tid, seg, s in entries if seg.wants_embedding(s, self.best_frames, self.probe_s)]
        if wanted:
            vectors = self.pipeline.embedder.embed(image, [s.face for _, _, s in wanted])
            for (_, _, s), vector in zip(wanted, vectors):
                s.embedding = vector
        for track_id, segment, s in entries:
            self._add(track_id, segment, s)

    def _add(self, track_id: int, segment: Segment, seen: Seen) -> None:
        if seen.embedding is None:
            if segment.pending is None:
                segment.seen.append(seen)
            return
        if not segment.embedded or distance(segment.reference(), seen.embedding) <= SPLIT_DISTANCE:
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
        if distance(first.embedding, seen.embedding) <= SPLIT_DISTANCE:
            log.debug("track %d changed person at %.2f s: split", track_id, first.time_s)
            segment.pending = None
            self.done.append(segment)
            fresh = Segment(seen=[first, seen], embedded=[first, seen], last_embedded_s=seen.time_s)
            self.open[track_id] = fresh
        else:
            segment.pending = seen
            segment.last_embedded_s = seen.time_s

    def tracks(self, best_frames: int, min_hits: int) -> list[FaceTrack]:
        self.cut()
        groups = join_segments([s for s in self.done if s.embedded], best_frames)
        # Counted after joining: a face moving too fast for the tracker is many short segments.
        groups = [g for g in groups if sum(len(s.seen) for s in g) >= min_hits]
        return sorted((to_track(g, best_frames) for g in groups), key=lambda t: (t.start_s, t.face.box.x))


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
