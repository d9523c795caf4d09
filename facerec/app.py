"""What facerec does, as functions the CLI, the menu and the live window share.

`FaceRec` holds the settings, a lazily opened `Store` and lazily loaded
models. It raises `FacerecError`s; it never prints or asks questions.
"""

from __future__ import annotations

import logging
import time
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from facerec.config import Settings
from facerec.embedded import make_private_dir
from facerec.embedders import EmbedderSpec, embedder_spec, face_crop
from facerec.errors import FacerecError, InvalidNameError, ModelError, MultipleFacesError, NoFaceError
from facerec.images import LoadedImage, load_image, save_private_image
from facerec.paths import path_key
from facerec.pipeline import Pipeline
from facerec.store import Sample, Store
from facerec.types import Candidate, EmbeddedFace, Image, Person, Recognition

log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 100
ORPHAN_MIN_AGE_S = 600.0
"""A crop file in `captures/` that no stored face refers to is removed once it is
this old (seconds): a younger one may belong to a registration still running."""
CROP_MARGIN = 0.5
"""Registration crops keep half a face of margin on each side (the same
margin `face_crop` uses), enough for any detector to find the face again
when the samples are re-embedded."""


def validate_name(name: str) -> str:
    """The name as it will be stored: surrounding whitespace removed, otherwise exact.

    Refused: empty, longer than `MAX_NAME_LENGTH` characters, containing
    control characters or line breaks (newlines, tabs, NUL, U+2028), or bytes
    that are not text (a command-line argument that is not valid UTF-8 arrives
    as lone surrogates). Quotes, SQL text and any other Unicode are fine:
    names only ever reach SQL as parameters.
    """
    cleaned = name.strip()
    if not cleaned:
        raise InvalidNameError("a name cannot be empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidNameError(f"a name can have at most {MAX_NAME_LENGTH} characters (this one has {len(cleaned)})")
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in cleaned):
        raise InvalidNameError("a name cannot contain control characters (newlines, tabs, ...)")
    if any(unicodedata.category(ch) == "Cs" for ch in cleaned):
        raise InvalidNameError("a name must be valid UTF-8 text")
    return cleaned


def largest(faces: Sequence[EmbeddedFace]) -> EmbeddedFace:
    return max(faces, key=lambda f: f.face.box.area)


@dataclass
class Registration:
    """What `register_*` did: the person, how many samples were added, and
    warnings worth showing (a sample that looks like somebody else)."""

    name: str
    added: int
    created: bool
    warnings: list[str] = field(default_factory=list)


class FaceRec:
    """The application. Use as a context manager so the database is closed."""

    def __init__(self, settings: Settings, store: Store | None = None, pipeline: Pipeline | None = None) -> None:
        self.settings = settings
        self.spec: EmbedderSpec = embedder_spec(settings.embedder)
        self._store = store
        self._owns_store = store is None
        self._pipeline = pipeline

    # -- resources ----------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.settings)
        return self._store

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = Pipeline.from_settings(self.settings)
        return self._pipeline

    @property
    def threshold(self) -> float:
        """Cosine distance at or under which a face is taken to be a registered person."""
        t = self.settings.threshold
        return self.spec.threshold if t is None else t

    def close(self) -> None:
        """Close the database connection if this object opened it."""
        if self._store is not None and self._owns_store:
            self._store.close()
            self._store = None

    def __enter__(self) -> FaceRec:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- recognition --------------------------------------------------------

    def analyze_file(self, path: Path | str) -> tuple[LoadedImage, list[EmbeddedFace]]:
        """Load an image file and embed every face in it."""
        image = load_image(path)
        return image, self.pipeline.analyze(image.pixels)

    def identify(self, faces: Sequence[EmbeddedFace]) -> list[Recognition]:
        """Name each face (or Unknown), with one database query for all of them."""
        candidates = self.store.nearest_people(self.spec.name, self.spec.dim, [f.embedding for f in faces])
        return [self._decide(f, c) for f, c in zip(faces, candidates)]

    def _decide(self, face: EmbeddedFace, candidates: list[Candidate]) -> Recognition:
        if not candidates:
            return Recognition(face.face, None, None)
        best = candidates[0]
        margin = candidates[1].distance - best.distance if len(candidates) > 1 else None
        if best.distance <= self.threshold:
            return Recognition(face.face, best.name, best.distance, margin, best.person_id)
        return Recognition(face.face, None, best.distance, margin)

    def recognize_file(self, path: Path | str) -> list[Recognition]:
        """Every face in an image file, named or Unknown."""
        _, faces = self.analyze_file(path)
        return self.identify(faces) if faces else []

    # -- registration -------------------------------------------------------

    def sample_from_file(self, path: Path | str, use_largest: bool = False) -> tuple[LoadedImage, EmbeddedFace]:
        """The one face of an image file to register; refuses no face, or several unless `use_largest`."""
        image, faces = self.analyze_file(path)
        if not faces:
            raise NoFaceError(f"{path}: no face found")
        if len(faces) > 1 and not use_largest:
            raise MultipleFacesError(f"{path}: {len(faces)} faces found; use --largest to take the largest")
        return image, largest(faces)

    def register_files(self, name: str, paths: Sequence[Path | str], use_largest: bool = False) -> Registration:
        """Add the face of each image as a sample of `name` (created if new).

        All or nothing: if any image fails (no face, several faces, unreadable),
        nothing is stored and the error lists every failed image.
        """
        name = validate_name(name)
        if not paths:
            raise FacerecError("no images given")
        chosen: list[tuple[LoadedImage, EmbeddedFace]] = []
        problems: list[str] = []
        for p in paths:
            try:
                chosen.append(self.sample_from_file(p, use_largest))
            except ModelError:
                raise  # not about this image: say it once
            except FacerecError as exc:
                problems.append(str(exc))
        if problems:
            raise FacerecError("; ".join(problems) + " (nothing registered)")
        samples = [
            self._sample(
                image.pixels,
                face,
                picture=path_key(image.path),
                sha256=image.sha256,
                size=image.size,
                mtime=image.path.stat().st_mtime,
            )
            for image, face in chosen
        ]
        return self._store_samples(name, samples, [f for _, f in chosen])

    def register_frames(self, name: str, frames: Sequence[tuple[Image, EmbeddedFace]]) -> Registration:
        """Add camera frames (each with its chosen face) as samples of `name`, in one transaction.

        Only a crop around the face is kept (in the data directory, 0600); the
        crop is the sample's picture.
        """
        name = validate_name(name)
        samples = [self._sample(pixels, face) for pixels, face in frames]
        return self._store_samples(name, samples, [f for _, f in frames])

    def _sample(self, pixels: Image, face: EmbeddedFace, picture: str | None = None, **file_meta: object) -> Sample:
        """Save the face's crop and describe the sample. Without `picture` (a
        camera frame) the crop itself becomes the sample's picture."""
        b = face.face.box
        x0, y0 = max(0, b.x - int(b.w * CROP_MARGIN)), max(0, b.y - int(b.h * CROP_MARGIN))
        crop = face_crop(pixels, face.face, CROP_MARGIN)
        make_private_dir(self.settings.captures_dir)
        rel = f"captures/{uuid.uuid4().hex}.jpg"
        save_private_image(self.settings.data_dir / rel, crop, quality=95)
        if picture is None:
            return Sample(
                picture=str(self.settings.data_dir / rel),
                source="capture",
                sha256=None,
                width=crop.shape[1],
                height=crop.shape[0],
                face=face.face.shifted(x0, y0),
                embedding=face.embedding,
                model=face.model,
                crop=rel,
            )
        return Sample(
            picture=picture,
            source="file",
            width=pixels.shape[1],
            height=pixels.shape[0],
            face=face.face,
            embedding=face.embedding,
            model=face.model,
            crop=rel,
            **file_meta,  # type: ignore[arg-type]
        )

    def _store_samples(self, name: str, samples: list[Sample], faces: Sequence[EmbeddedFace]) -> Registration:
        try:
            warnings = self.lookalike_warnings(name, faces)
            existed = self.store.find_person(name) is not None
            stored = self.store.add_samples(name, samples)
        except BaseException:
            self._remove_files([s.crop for s in samples if s.crop])
            raise
        self._remove_files(stored.unused_files)
        self.remove_orphan_crops()
        return Registration(name, stored.added, not existed, warnings)

    def remove_orphan_crops(self, min_age_s: float = ORPHAN_MIN_AGE_S) -> int:
        """Remove files in `captures/` that no stored face refers to and that are
        older than `min_age_s`; returns how many. A registration writes its crops
        just before the transaction that stores its faces, so a process killed
        in between (kill -9, power loss) leaves crops of nobody behind."""
        cutoff = time.time() - min_age_s
        try:
            old = [p for p in self.settings.captures_dir.iterdir() if p.lstat().st_mtime < cutoff]
        except FileNotFoundError:
            return 0
        if not old:
            return 0
        kept = self.store.referenced_files([f"captures/{p.name}" for p in old] + [str(p) for p in old])
        orphans = [str(p) for p in old if f"captures/{p.name}" not in kept and str(p) not in kept and not p.is_dir()]
        if orphans:
            log.info("removing %d crop file(s) left by interrupted registrations", len(orphans))
        return self._remove_files(orphans)

    def lookalike_warnings(self, name: str, faces: Sequence[EmbeddedFace]) -> list[str]:
        """Warnings for faces that already match a different registered person."""
        out = []
        for i, rec in enumerate(self.identify(faces), 1):
            if rec.name is not None and rec.name != name:
                out.append(f"sample {i} looks like registered person {rec.name!r} (distance {rec.distance:.3f})")
        return out

    # -- people -------------------------------------------------------------

    def people(self) -> list[Person]:
        return self.store.list_people(self.spec.name)

    def person(self, name: str) -> Person:
        return self.store.get_person(name, self.spec.name)

    def rename(self, old: str, new: str) -> None:
        self.store.rename_person(old, validate_name(new))

    def delete(self, name: str) -> int:
        """Delete a person, all their embeddings (every model) and their crops and
        captures on disk. Returns the number of files removed."""
        files = self.store.delete_person(name)
        return self._remove_files(files)

    def _remove_files(self, files: Sequence[str]) -> int:
        removed = 0
        for rel in files:
            path = Path(rel) if Path(rel).is_absolute() else self.settings.data_dir / rel
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not remove %s: %s", path, exc)
        return removed
