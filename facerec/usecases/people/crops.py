"""Registration crops: a crop around each registered face, kept in the data
directory (`captures/`, 0600) so samples can be re-embedded with another
model, and removed with the person."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from facerec.files import make_private_dir
from facerec.types import EmbeddedFace, Face, Image
from facerec.usecases.context import Context
from facerec.vision.geometry import face_crop
from facerec.vision.images import save_private_image

log = logging.getLogger(__name__)

CROP_MARGIN = 0.5
"""Registration crops keep half a face of margin on each side (the same
margin `face_crop` uses), enough for any detector to find the face again
when the samples are re-embedded."""

ORPHAN_MIN_AGE_S = 600.0
"""A crop file in `captures/` that no stored face refers to is removed once it is
this old (seconds): a younger one may belong to a registration still running."""


def crop_origin(face: Face) -> tuple[int, int]:
    """Top-left corner, in the photo, of the registration crop around `face`
    (`CROP_MARGIN` on each side, clipped at the photo's edges)."""
    b = face.box
    return max(0, b.x - int(b.w * CROP_MARGIN)), max(0, b.y - int(b.h * CROP_MARGIN))


def save_crop(ctx: Context, pixels: Image, face: EmbeddedFace) -> tuple[str, Image]:
    """Save the crop around `face`; returns its path relative to the data directory, and its pixels."""
    crop = face_crop(pixels, face.face, CROP_MARGIN)
    make_private_dir(ctx.settings.captures_dir)
    rel = f"captures/{uuid.uuid4().hex}.jpg"
    save_private_image(ctx.settings.data_dir / rel, crop, quality=95)
    return rel, crop


def remove_data_files(ctx: Context, files: Sequence[str]) -> int:
    """Remove crops and captures (paths relative to the data directory, or absolute); returns how many."""
    removed = 0
    for rel in files:
        path = Path(rel) if Path(rel).is_absolute() else ctx.settings.data_dir / rel
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not remove %s: %s", path, exc)
    return removed


def remove_orphan_crops(ctx: Context, min_age_s: float = ORPHAN_MIN_AGE_S) -> int:
    """Remove files in `captures/` that no stored face refers to and that are
    older than `min_age_s`; returns how many. A registration writes its crops
    just before the transaction that stores its faces, so a process killed
    in between (kill -9, power loss) leaves crops of nobody behind."""
    cutoff = time.time() - min_age_s
    try:
        old = [p for p in ctx.settings.captures_dir.iterdir() if p.lstat().st_mtime < cutoff]
    except FileNotFoundError:
        return 0
    if not old:
        return 0
    kept = ctx.db.people.referenced_files([f"captures/{p.name}" for p in old] + [str(p) for p in old])
    orphans = [str(p) for p in old if f"captures/{p.name}" not in kept and str(p) not in kept and not p.is_dir()]
    if orphans:
        log.info("removing %d crop file(s) left by interrupted registrations", len(orphans))
    return remove_data_files(ctx, orphans)
