"""Registration: faces from photos or camera frames become samples of a person."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from facerec.db.people import Sample
from facerec.errors import FacerecError, ModelError, MultipleFacesError, NoFaceError, RegistrationError, UsageError
from facerec.paths import path_key
from facerec.types import EmbeddedFace, Image
from facerec.usecases.context import Context
from facerec.usecases.library.recognize import analyze_photo, largest
from facerec.usecases.people.crops import crop_origin, remove_data_files, remove_orphan_crops, save_crop
from facerec.usecases.people.guard import Verdict, check_new_faces
from facerec.usecases.people.names import check_new_name, validate_name
from facerec.vision.images import LoadedImage

__all__ = ["Registration", "register_frames", "register_photos"]


@dataclass
class Registration:
    """What a registration did: the person, how many samples were added (and how
    many of the photos were already stored as their samples), whether the person
    is new, what the guard found but `force` stored anyway, and the journal entry."""

    name: str
    added: int
    created: bool
    warnings: list[str] = field(default_factory=list)
    already_stored: int = 0
    entry: int | None = None


def register_photos(
    ctx: Context, name: str, paths: Sequence[Path | str], use_largest: bool = False, force: bool = False
) -> Registration:
    """Add the face of each image as a sample of `name` (created if new).

    All or nothing: if any image fails (no face, several faces, unreadable),
    nothing is stored and the error lists every failed image. The guard
    (`facerec.usecases.people.guard`) refuses faces that look like someone else or
    unlike `name` (`LooksLikeSomeoneElseError`), and a new name that differs
    from a registered one only by case or accents (`SimilarNameError`);
    `force=True` stores anyway.
    """
    name = validate_name(name)
    check_new_name(ctx, name, force)
    if not paths:
        raise UsageError("no images given")
    chosen: list[tuple[LoadedImage, EmbeddedFace]] = []
    problems: list[str] = []
    for p in paths:
        try:
            chosen.append(_one_face(ctx, p, use_largest))
        except ModelError:
            raise  # not about this image: say it once
        except FacerecError as exc:
            problems.append(str(exc))
    if problems:
        raise RegistrationError("; ".join(problems) + " (nothing registered)")
    labels = [str(image.path) for image, _ in chosen] if len(chosen) > 1 else ["this photo"]
    verdict = _check(ctx, name, [f for _, f in chosen], labels)
    verdict.raise_unless(force, go_ahead=lambda: _store_photos(ctx, name, chosen, verdict))
    return _store_photos(ctx, name, chosen, verdict)


def _store_photos(
    ctx: Context, name: str, chosen: Sequence[tuple[LoadedImage, EmbeddedFace]], verdict: Verdict
) -> Registration:
    """Apply a planned registration from photos: crops written, samples stored."""
    samples = []
    try:
        for image, face in chosen:
            crop, _ = save_crop(ctx, image.pixels, face)
            samples.append(
                Sample(
                    picture=path_key(image.path),
                    source="file",
                    sha256=image.sha256,
                    width=image.pixels.shape[1],
                    height=image.pixels.shape[0],
                    face=face.face,
                    embedding=face.embedding,
                    model=face.model,
                    crop=crop,
                    size=image.size,
                    mtime=image.path.stat().st_mtime,
                )
            )
    except BaseException:
        remove_data_files(ctx, [s.crop for s in samples if s.crop])
        raise
    return _store(ctx, name, samples, verdict)


def register_frames(
    ctx: Context, name: str, frames: Sequence[tuple[Image, EmbeddedFace]], force: bool = False
) -> Registration:
    """Add camera frames (each with its chosen face) as samples of `name`, in one transaction.

    Only a crop around the face is kept (in the data directory, 0600); the
    crop is the sample's picture. Guarded like `register_photos`.
    """
    name = validate_name(name)
    check_new_name(ctx, name, force)
    verdict = _check(ctx, name, [f for _, f in frames], None)
    verdict.raise_unless(force, go_ahead=lambda: _store_frames(ctx, name, frames, verdict))
    return _store_frames(ctx, name, frames, verdict)


def _store_frames(
    ctx: Context, name: str, frames: Sequence[tuple[Image, EmbeddedFace]], verdict: Verdict
) -> Registration:
    """Apply a planned registration from camera frames: crops written, samples stored."""
    samples = []
    try:
        for pixels, face in frames:
            rel, crop = save_crop(ctx, pixels, face)
            samples.append(
                Sample(
                    picture=str(ctx.settings.data_dir / rel),
                    source="capture",
                    sha256=None,
                    width=crop.shape[1],
                    height=crop.shape[0],
                    face=face.face.shifted(*crop_origin(face.face)),
                    embedding=face.embedding,
                    model=face.model,
                    crop=rel,
                )
            )
    except BaseException:
        remove_data_files(ctx, [s.crop for s in samples if s.crop])
        raise
    return _store(ctx, name, samples, verdict)


def _one_face(ctx: Context, path: Path | str, use_largest: bool) -> tuple[LoadedImage, EmbeddedFace]:
    """The one face of an image file to register; refuses no face, or several unless `use_largest`."""
    photo = analyze_photo(ctx, path)
    if not photo.faces:
        raise NoFaceError(f"{path}: no face found")
    if len(photo.faces) > 1 and not use_largest:
        raise MultipleFacesError(f"{path}: {len(photo.faces)} faces found; use --largest to take the largest")
    face = largest(photo.faces)
    if photo.too_small(face):  # its vector tells nobody apart: never a sample
        raise NoFaceError(f"{path}: the face is too small to recognise ({face.face.box.w} px wide)")
    return photo.image, face


def _check(ctx: Context, name: str, faces: Sequence[EmbeddedFace], labels: Sequence[str] | None) -> Verdict:
    return check_new_faces(ctx, name, [f.embedding for f in faces], ctx.db.people.find_person(name), labels)


def _store(ctx: Context, name: str, samples: list[Sample], verdict: Verdict) -> Registration:
    """Store the samples (their crops are already written: removed again if storing fails)."""
    try:
        stored = ctx.db.people.add_samples(name, samples)
    except BaseException:
        remove_data_files(ctx, [s.crop for s in samples if s.crop])
        raise
    remove_data_files(ctx, stored.unused_files)
    remove_orphan_crops(ctx)
    return Registration(name, stored.added, stored.created, verdict.problems, stored.already_stored, stored.entry)
