"""Recognition: every face of a photo, named after the nearest registered person or Unknown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from facerec.types import Candidate, EmbeddedFace, Recognition
from facerec.usecases.context import Context
from facerec.vision.images import LoadedImage, load_image

__all__ = ["AnalyzedPhoto", "PhotoRecognition", "analyze_photo", "recognize_photo"]


@dataclass(frozen=True)
class AnalyzedPhoto:
    """A decoded photo and every face found in it, with its embedding, left to right."""

    image: LoadedImage
    faces: list[EmbeddedFace]


@dataclass(frozen=True)
class PhotoRecognition:
    """Every face of one photo, named or Unknown (`name` None), left to right."""

    path: str
    faces: list[Recognition]


def analyze_photo(ctx: Context, path: Path | str) -> AnalyzedPhoto:
    """Load an image file and embed every face in it (no database)."""
    image = load_image(path)
    return AnalyzedPhoto(image, ctx.pipeline.analyze(image.pixels))


def recognize_photo(ctx: Context, path: Path | str) -> PhotoRecognition:
    """Every face in an image file, named or Unknown."""
    faces = analyze_photo(ctx, path).faces
    return PhotoRecognition(str(path), identify(ctx, faces) if faces else [])


def identify(ctx: Context, faces: Sequence[EmbeddedFace]) -> list[Recognition]:
    """Name each face (or Unknown), with one database query for all of them."""
    candidates = ctx.db.people.nearest_people(ctx.spec.name, ctx.spec.dim, [f.embedding for f in faces])
    return [_decide(ctx, f, c) for f, c in zip(faces, candidates)]


def _decide(ctx: Context, face: EmbeddedFace, candidates: list[Candidate]) -> Recognition:
    if not candidates:
        return Recognition(face.face, None, None)
    best = candidates[0]
    margin = candidates[1].distance - best.distance if len(candidates) > 1 else None
    if best.distance <= ctx.threshold:
        return Recognition(face.face, best.name, best.distance, margin, best.person_id)
    return Recognition(face.face, None, best.distance, margin)


def largest(faces: Sequence[EmbeddedFace]) -> EmbeddedFace:
    """The face with the largest box (the main subject of a photo)."""
    return max(faces, key=lambda f: f.face.box.area)
