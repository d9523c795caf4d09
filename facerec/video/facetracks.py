"""Face tracks of a clip: one person's frames, their best ones, and joining tracks.

A `Segment` collects the faces the tracker followed (each a `Seen`), embedding only
the frames worth it; at the end `join_segments` joins segments of one person that
were never on screen together (closest first, within `MERGE_DISTANCE`) and
`to_track` makes each group a `FaceTrack` whose vector is the normalised mean of its
best frames. Lower `MERGE_DISTANCE` to keep more returns apart; never raise it to the
recognition threshold, or two people may become one. The analysis that feeds them is
`facerec.video.clips`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from facerec.types import Box, Face, Vector
from facerec.vision.geometry import normalize
from facerec.vision.quality import frontality

MERGE_DISTANCE = 0.4
"""Two tracks of one clip that were never on screen together are one person when
their vectors are at most this far apart (cosine distance). Well under the
recognition threshold (0.57; the nearest two different people of the dev set are
0.60 apart): a person who comes back in different light stays two faces rather
than risk two people becoming one."""

RECENT = 5
"""Embeddings of a track the identity check compares a new frame with."""


@dataclass(frozen=True)
class TrackFrame:
    """One of a track's best frames: when, the face in the upright frame, its
    embedding, and its `quality` (0..1, see `frame_quality`) and `sharpness` (variance
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


@dataclass
class Seen:
    """A face in one analysed frame, as part of a track."""

    time_s: float
    index: int  # the analysed frame's number
    face: Face
    quality: float
    sharpness: float | None
    embedding: Vector | None = None


@dataclass
class Segment:
    """A track being built: the faces of one person, in order."""

    seen: list[Seen] = field(default_factory=list)
    embedded: list[Seen] = field(default_factory=list)  # those with an embedding, in order
    pending: Seen | None = None  # an embedded face unlike the others, awaiting confirmation
    last_embedded_s: float = -math.inf

    def wants_embedding(self, candidate: Seen, best_frames: int, probe_s: float) -> bool:
        """Embed this face? Yes if it would be among the best frames so far, if a
        probe is due, or if the previous embedded face looked like someone else."""
        if self.pending is not None or candidate.time_s - self.last_embedded_s >= probe_s:
            return True
        ranked = sorted((s.quality for s in self.embedded), reverse=True)
        return len(ranked) < best_frames or candidate.quality > ranked[best_frames - 1]

    def reference(self) -> Vector:
        recent = [s.embedding for s in self.embedded[-RECENT:] if s.embedding is not None]
        return normalize(np.mean(recent, axis=0, keepdims=True))[0]


def frame_quality(face: Face, sharpness: float | None) -> float:
    """How good a frame of a face is for recognising it, 0..1: the product of its
    size (the box's shorter side over 112 px, the size SFace reads, capped at 1),
    sharpness (over 100, capped at 1), frontality (`frontality`) and detector score."""
    size = min(1.0, min(face.box.w, face.box.h) / 112)
    sharp = 1.0 if sharpness is None else min(1.0, sharpness / 100)
    front = frontality(face.landmarks)
    return size * sharp * (1.0 if front is None else max(front, 0.05)) * face.score


def distance(a: Vector, b: Vector) -> float:
    return float(1.0 - np.dot(a, b))


def _vector(frames: list[Seen], best_frames: int) -> tuple[list[Seen], Vector]:
    best = _pick_best(frames, best_frames)
    vectors = np.stack([s.embedding for s in best if s.embedding is not None])
    return best, normalize(vectors.mean(axis=0, keepdims=True))[0]


def _pick_best(frames: list[Seen], best_frames: int, gap_s: float = 0.5) -> list[Seen]:
    """The embedded frames of highest quality, preferring ones at least `gap_s`
    apart (different moments say more about a face than neighbouring frames)."""
    ranked = sorted((s for s in frames if s.embedding is not None), key=lambda s: s.quality, reverse=True)
    chosen: list[Seen] = []
    for s in ranked:
        if len(chosen) < best_frames and all(abs(s.time_s - c.time_s) >= gap_s for c in chosen):
            chosen.append(s)
    for s in ranked:
        if len(chosen) < best_frames and s not in chosen:
            chosen.append(s)
    return chosen


def join_segments(segments: list[Segment], best_frames: int) -> list[list[Segment]]:
    """Join segments of one person that never share an analysed frame, closest
    first, while their vectors are within `MERGE_DISTANCE` (a joined group's
    vector is made again from its best frames). One distance matrix, updated
    row by row: a long clip's thousand segments take well under a second."""
    n = len(segments)
    groups: list[list[Segment]] = [[s] for s in segments]
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


def to_track(group: list[Segment], best_frames: int) -> FaceTrack:
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
