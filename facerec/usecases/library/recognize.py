"""Recognition: every face of a photo, named after the nearest registered person or Unknown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from facerec.rules.naming import name_faces
from facerec.types import Candidate, EmbeddedFace, Recognition
from facerec.usecases.context import Context
from facerec.vision.images import LoadedImage, load_image

__all__ = ["AnalyzedPhoto", "PhotoRecognition", "analyze_photo", "recognize_photo"]


@dataclass(frozen=True)
class AnalyzedPhoto:
    """A decoded photo (full size) and every face found in it, with its embedding,
    left to right, boxes in its pixels. `small`: per face, too small to recognise
    (never named or searched for); `turn`: degrees clockwise that show it upright."""

    image: LoadedImage
    faces: list[EmbeddedFace]
    small: tuple[bool, ...] = ()
    turn: int = 0

    def recognisable(self) -> list[EmbeddedFace]:
        """The faces large enough to recognise, left to right."""
        small = self.small or (False,) * len(self.faces)
        return [f for f, tiny in zip(self.faces, small) if not tiny]

    def too_small(self, face: EmbeddedFace) -> bool:
        """Whether `face` (one of `faces`) is too small to recognise."""
        return any(f is face and tiny for f, tiny in zip(self.faces, self.small))


@dataclass(frozen=True)
class PhotoRecognition:
    """Every face of one photo, named or Unknown (`name` None), left to right."""

    path: str
    faces: list[Recognition]


def analyze_photo(ctx: Context, path: Path | str) -> AnalyzedPhoto:
    """Load an image file (decoded once, full size) and find every face in it with
    every look (`Pipeline.analyze_pixels`: a face filling the frame, a crowd, a
    photo on its side), each embedded (no database)."""
    image = load_image(path)
    height, width = image.pixels.shape[:2]
    found = ctx.pipeline.analyze_pixels(image.pixels, width, height)
    return AnalyzedPhoto(image, found.faces, found.small, found.turn)


def recognize_photo(ctx: Context, path: Path | str) -> PhotoRecognition:
    """Every face in an image file, named or Unknown; a face too small to recognise is Unknown."""
    photo = analyze_photo(ctx, path)
    keep = photo.recognisable()
    named = iter(identify(ctx, keep) if keep else [])
    small = photo.small or (False,) * len(photo.faces)
    faces = [Recognition(f.face, None, None) if tiny else next(named) for f, tiny in zip(photo.faces, small)]
    return PhotoRecognition(str(path), faces)


def identify(ctx: Context, faces: Sequence[EmbeddedFace], one_photo: bool = True) -> list[Recognition]:
    """Name each face (or Unknown) by the naming rule (`facerec.rules.naming`), with
    one database query for all of them. `one_photo`: the faces are of one photo (or
    frame), where a person appears at most once."""
    candidates = ctx.db.people.nearest([f.embedding for f in faces])
    chosen = name_faces(candidates, ctx.threshold, [0] * len(faces) if one_photo else None)
    return [_decide(f, c, pick) for f, c, pick in zip(faces, candidates, chosen)]


def _decide(face: EmbeddedFace, candidates: list[Candidate], chosen: Candidate | None) -> Recognition:
    if not candidates:
        return Recognition(face.face, None, None)
    best = candidates[0]
    margin = candidates[1].distance - best.distance if len(candidates) > 1 else None
    if chosen is not None:
        return Recognition(face.face, chosen.name, chosen.distance, margin, chosen.person_id)
    return Recognition(face.face, None, best.distance, margin)


def largest(faces: Sequence[EmbeddedFace]) -> EmbeddedFace:
    """The face with the largest box (the main subject of a photo)."""
    return max(faces, key=lambda f: f.face.box.area)
