"""Plain data passed between layers: detectors, embedders, the store, the UI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

Image = np.ndarray
"""An image as OpenCV holds it: H x W x 3, BGR, uint8. (Typed loosely:
OpenCV's stubs return untyped-dtype arrays.)"""

Vector = NDArray[np.float32]
"""A unit-norm embedding."""


@dataclass(frozen=True)
class Box:
    """A face rectangle in pixels of the original image: top-left corner, width, height."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]

    def iou(self, other: Box) -> float:
        """Intersection over union, 0 (disjoint) .. 1 (identical)."""
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class Face:
    """One detected face.

    `landmarks` are five (x, y) points (right eye, left eye, nose tip, right and
    left mouth corners, as YuNet orders them), or None when the detector gives
    none (Haar). `score` is the detector's confidence, 0..1 (1.0 for Haar).
    """

    box: Box
    score: float
    landmarks: NDArray[np.float32] | None = None

    def scaled(self, factor: float) -> Face:
        """The same face in an image `factor` times larger (e.g. back to the original after a reduced decode)."""
        if factor == 1.0:
            return self
        b = self.box
        box = Box(round(b.x * factor), round(b.y * factor), round(b.w * factor), round(b.h * factor))
        points = None if self.landmarks is None else (self.landmarks * np.float32(factor)).astype(np.float32)
        return Face(box, self.score, points)

    def shifted(self, dx: int, dy: int) -> Face:
        """The same face in a crop whose top-left corner was at (dx, dy)."""
        b = self.box
        points = None if self.landmarks is None else self.landmarks - np.array([dx, dy], np.float32)
        return Face(Box(b.x - dx, b.y - dy, b.w, b.h), self.score, points)


@dataclass(frozen=True)
class EmbeddedFace:
    """A detected face and its embedding by one model."""

    face: Face
    embedding: Vector
    model: str


@dataclass(frozen=True)
class Candidate:
    """A registered person near a query face: their best sample's distance."""

    person_id: int
    name: str
    distance: float


@dataclass(frozen=True)
class Recognition:
    """The answer for one face: `name` is None for Unknown.

    `distance` is the cosine distance to the nearest sample of the nearest
    person (whether or not within the threshold); `margin` is how much farther
    the second-nearest person is (None if there is no second person).
    """

    face: Face
    name: str | None
    distance: float | None
    margin: float | None = None
    person_id: int | None = None


@dataclass(frozen=True)
class SampleFace:
    """One face of a registered person: its id (for `users remove-sample`, `people
    split`), the photo it is in, where, when it was added, and whether it comes
    from a registration photo ('file'), the camera ('capture') or the photo
    library (a named group, 'library'); `registered`: it was registered (a photo
    or the camera kept a crop of it), not only named in the library."""

    face_id: int
    picture: str
    box: Box
    added: datetime
    source: str
    registered: bool = False


@dataclass(frozen=True)
class Person:
    """A registered person: their samples (every face named as them), the library
    photos they are in (named or recognised), their `first` face ids (for a card),
    and each of their faces (`faces`, when asked for one person)."""

    id: int
    name: str
    samples: int
    created_at: datetime | None = None
    named_photos: int = 0
    matched_photos: int = 0
    first: list[int] = field(default_factory=list)
    faces: list[SampleFace] = field(default_factory=list)

    @property
    def photos(self) -> int:
        """Library photos they are in: named, or recognised (a face matches them, unnamed)."""
        return self.named_photos + self.matched_photos

    @property
    def pictures(self) -> list[str]:
        """The photos of `faces`, in their order."""
        return [f.picture for f in self.faces]


@dataclass(frozen=True)
class FaceHit:
    """A stored face found by a search."""

    face_id: int
    picture: str
    box: Box
    distance: float
    person: str | None = None


@dataclass(frozen=True)
class FaceRow:
    """A stored face, as the people commands show it."""

    face_id: int
    picture: str
    box: Box
    group_id: int | None
    person: str | None
    t_seconds: float | None = None
    """A face of a video clip: the time of the frame its box is in (thumbnails show it)."""
    appears: float | None = None
    """A face of a video clip: when it first comes on screen (what listings show)."""


@dataclass(frozen=True)
class JournalEntry:
    """One change in the journal. `undoable`: it has not been reverted and can be."""

    id: int
    at: datetime
    action: str
    summary: str
    undone_by: int | None = None
    reverts: int | None = None
    undoable: bool = False
    people: list[int] = field(default_factory=list)
