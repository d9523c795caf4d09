"""Re-embedding: give every stored face a vector of another model, so that
switching embedders (`--embedder imgbeddings`, back to `sface`, ...) keeps
every registration.

Where the pixels come from, for each face that has no vector of the chosen
model yet:
- its registration crop (`captures/...` in the data directory) when it is
  there: the face is detected again in the crop and the detection that best
  overlaps where the stored box falls in the crop is used (the stored box
  itself when the detector finds nothing there);
- otherwise the source photo, with the stored box and landmarks, unless the
  photo changed since (its SHA-256 differs);
- otherwise the face is skipped and reported (the photo is gone).

Faces are read in batches; each batch's new rows are written in one
transaction, so an interrupted run keeps what it finished and a second run
adds only what is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from facerec.db.library import StoredFace
from facerec.errors import FacerecError, ImageError
from facerec.types import Face
from facerec.usecases.context import Context
from facerec.usecases.people.crops import crop_origin
from facerec.vision.images import LoadedImage, load_image

__all__ = ["ReembedReport", "reembed"]

log = logging.getLogger(__name__)

BATCH_SIZE = 32
"""Faces per batch (one transaction each)."""

MIN_OVERLAP = 0.3
"""A detection in a crop is taken for the stored face when their boxes overlap at
least this much (intersection over union); a crop holds one face, framed by
half a face of margin, so the right detection overlaps far more."""


@dataclass
class ReembedReport:
    """What `reembed` did: vectors added for `model`, and the faces skipped ("picture: reason")."""

    model: str
    added: int = 0
    skipped: list[str] = field(default_factory=list)


def reembed(
    ctx: Context, batch_size: int = BATCH_SIZE, on_batch: Callable[[ReembedReport], None] | None = None
) -> ReembedReport:
    """Compute the context's embedder's vectors for every stored face that lacks one.

    `on_batch` is called after each committed batch (for progress messages).
    """
    model = ctx.spec.name
    report = ReembedReport(model)
    after = 0
    while batch := ctx.db.library.faces_to_reembed(after, batch_size):
        after = batch[-1].id
        loaded: dict[Path, LoadedImage | str] = {}
        vectors = []
        for stored in batch:
            found = _locate(ctx, stored, loaded)
            if isinstance(found, str):
                report.skipped.append(f"{stored.picture}: {found}")
                log.info("skipped face %d of %s: %s", stored.id, stored.picture, found)
                continue
            image, face = found
            (embedded,) = ctx.pipeline.embed(image.pixels, [face])
            vectors.append((stored.id, embedded.embedding))
        report.added += ctx.db.library.add_reembedded(vectors)
        if on_batch is not None:
            on_batch(report)
    return report


def _locate(ctx: Context, stored: StoredFace, loaded: dict[Path, LoadedImage | str]) -> tuple[LoadedImage, Face] | str:
    """The image to embed `stored` from and the face in it, or why it cannot be done."""
    if stored.crop:
        crop = _load(ctx.settings.data_dir / stored.crop, loaded)
        if not isinstance(crop, str):
            return crop, _face_in_crop(ctx, stored, crop)
    if stored.t_seconds is not None:  # a face of a video clip: the frame it was found in
        frame = _frame(Path(stored.picture), stored.t_seconds)
        return frame if isinstance(frame, str) else (frame, stored.face)
    picture = _load(Path(stored.picture), loaded)
    if isinstance(picture, str):
        return picture
    if stored.sha256 and picture.sha256 != stored.sha256:
        return "the photo changed since its face was stored"
    return picture, stored.face


def _load(path: Path, loaded: dict[Path, LoadedImage | str]) -> LoadedImage | str:
    """The image at `path`, or why not ("no longer exists", ...); each file is read once per batch."""
    if path not in loaded:
        if not path.exists():
            loaded[path] = "no longer exists"
        else:
            try:
                loaded[path] = load_image(path)
            except ImageError as exc:
                loaded[path] = str(exc)
    return loaded[path]


def _frame(path: Path, t_seconds: float) -> LoadedImage | str:
    """The frame of a clip at `t_seconds`, or why not."""
    if not path.exists():
        return "no longer exists"
    from facerec.video.decode import frame_at  # PyAV: only for a clip

    try:
        frame = frame_at(path, t_seconds)
    except FacerecError as exc:
        return str(exc)
    return LoadedImage(path, frame, "", 0, frame.shape[1], frame.shape[0])


def _face_in_crop(ctx: Context, stored: StoredFace, crop: LoadedImage) -> Face:
    """Detect again in the crop and take the detection over the stored face."""
    expected = stored.face if stored.source == "capture" else stored.face.shifted(*crop_origin(stored.face))
    detections = ctx.pipeline.detect(crop.pixels)
    best = max(detections, key=lambda f: f.box.iou(expected.box), default=None)
    if best is not None and best.box.iou(expected.box) >= MIN_OVERLAP:
        return best
    log.debug("no detection over face %d in its crop; using the stored box", stored.id)
    return expected
