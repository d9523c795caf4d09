"""Following faces from frame to frame, so each is identified once, not every frame.

A track is a face seen in consecutive frames (matched by box overlap). The
live loop asks the tracker which tracks need an identity: new ones at once,
Unknown ones again after `retry_s` (the first frames of a face are often
blurred or turned), named ones after `refresh_s` (to catch a swap between
two people standing close).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from facerec.types import Face


@dataclass
class Track:
    """A face followed across frames, and who it was last identified as."""

    id: int
    face: Face
    first_seen: float
    name: str | None = None
    distance: float | None = None
    identified_at: float | None = None
    misses: int = 0
    hits: int = 1
    history: list[str | None] = field(default_factory=list)

    @property
    def identified(self) -> bool:
        return self.identified_at is not None


class Tracker:
    """Greedy IoU matching of detections to tracks.

    `iou_threshold`: minimum box overlap (0..1) to continue a track; 0.3
    follows a face moving at walking pace at 30 FPS. `max_misses`: frames a
    track survives without a detection (a blink of the detector).
    """

    def __init__(
        self, iou_threshold: float = 0.3, max_misses: int = 5, refresh_s: float = 2.0, retry_s: float = 0.3
    ) -> None:
        self.iou_threshold = iou_threshold
        self.max_misses = max_misses
        self.refresh_s = refresh_s
        self.retry_s = retry_s
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, faces: list[Face], now: float) -> list[Track]:
        """Match this frame's faces to tracks; returns the tracks seen in this frame."""
        pairs = sorted(
            ((t.face.box.iou(f.box), ti, fi) for ti, t in enumerate(self.tracks) for fi, f in enumerate(faces)),
            reverse=True,
        )
        used_t: set[int] = set()
        used_f: set[int] = set()
        for iou, ti, fi in pairs:
            if iou < self.iou_threshold:
                break
            if ti in used_t or fi in used_f:
                continue
            used_t.add(ti)
            used_f.add(fi)
            track = self.tracks[ti]
            track.face = faces[fi]
            track.misses = 0
            track.hits += 1
        seen = [self.tracks[i] for i in sorted(used_t)]
        for ti, track in enumerate(self.tracks):
            if ti not in used_t:
                track.misses += 1
        self.tracks = [t for t in self.tracks if t.misses <= self.max_misses]
        for fi, face in enumerate(faces):
            if fi not in used_f:
                track = Track(self._next_id, face, now)
                self._next_id += 1
                self.tracks.append(track)
                seen.append(track)
        return seen

    def due(self, tracks: list[Track], now: float) -> list[Track]:
        """The tracks among `tracks` whose identity should be (re)computed now."""
        out = []
        for t in tracks:
            if t.identified_at is None:
                out.append(t)
            elif now - t.identified_at >= (self.retry_s if t.name is None else self.refresh_s):
                out.append(t)
        return out

    @staticmethod
    def set_identity(track: Track, name: str | None, distance: float | None, now: float) -> bool:
        """Record an identification; True if it is news (first one, or a different name)."""
        news = track.identified_at is None or name != track.name
        track.name, track.distance, track.identified_at = name, distance, now
        track.history.append(name)
        return news
