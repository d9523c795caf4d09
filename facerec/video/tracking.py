"""Following faces from frame to frame, so each is identified once, not every frame.

A track is a face seen in consecutive frames: matched by box overlap, and
by appearance (a colour histogram of the face), so that one person replacing
another in the same spot (a cut in a video, someone stepping in front)
starts a new track instead of inheriting a name. The live loop asks the
tracker which tracks need an identity: new ones at once, Unknown ones again
after `retry_s` (the first frames of a face are often blurred or turned),
named ones after `refresh_s`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from facerec.types import Box, Face, Image


def appearance(image: Image, box: Box) -> np.ndarray:
    """A 16x16 hue-saturation histogram of the face box (cheap: ~0.1 ms)."""
    crop = image[box.y : box.y + box.h, box.x : box.x + box.w]
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [16, 16], [0, 180, 0, 256])
    return cv2.normalize(hist, hist).reshape(-1)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Histogram correlation, -1..1: the same face in consecutive frames scores
    above 0.99; two different people usually under 0.5."""
    return float(cv2.compareHist(a, b, cv2.HISTCMP_CORREL))


@dataclass
class Track:
    """A face followed across frames, and who it was last identified as."""

    id: int
    face: Face
    first_seen: float
    signature: np.ndarray
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
    """Greedy IoU matching of detections to tracks, gated by appearance.

    `iou_threshold`: minimum box overlap (0..1) to continue a track; 0.3
    follows a face moving at walking pace at 30 FPS. `min_similarity`: the
    appearance gate (see `similarity`). `max_misses`: frames a track survives
    without a detection (a blink of the detector). Times are in seconds on the
    source's clock.
    """

    def __init__(
        self,
        iou_threshold: float = 0.3,
        min_similarity: float = 0.5,
        max_misses: int = 5,
        refresh_s: float = 1.0,
        retry_s: float = 0.3,
    ) -> None:
        self.iou_threshold = iou_threshold
        self.min_similarity = min_similarity
        self.max_misses = max_misses
        self.refresh_s = refresh_s
        self.retry_s = retry_s
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, faces: list[Face], now: float, image: Image) -> list[Track]:
        """Match this frame's faces to tracks; returns the tracks seen in this frame."""
        signatures = [appearance(image, f.box) for f in faces]
        pairs = sorted(
            ((t.face.box.iou(f.box), ti, fi) for ti, t in enumerate(self.tracks) for fi, f in enumerate(faces)),
            key=lambda p: p[0],
            reverse=True,
        )
        used_t: set[int] = set()
        used_f: set[int] = set()
        for iou, ti, fi in pairs:
            if iou < self.iou_threshold:
                break
            if ti in used_t or fi in used_f:
                continue
            track = self.tracks[ti]
            if similarity(track.signature, signatures[fi]) < self.min_similarity:
                continue
            used_t.add(ti)
            used_f.add(fi)
            track.face = faces[fi]
            track.signature = signatures[fi]
            track.misses = 0
            track.hits += 1
        seen = [self.tracks[i] for i in sorted(used_t)]
        for ti, track in enumerate(self.tracks):
            if ti not in used_t:
                track.misses += 1
        self.tracks = [t for t in self.tracks if t.misses <= self.max_misses]
        for fi, face in enumerate(faces):
            if fi not in used_f:
                track = Track(self._next_id, face, now, signatures[fi])
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
