"""Face embedders: (image, faces) in, one unit-norm vector per face out.

Vectors of different embedders live in different spaces: the store keeps the
embedder's name with every vector and never compares across names. Each
embedder has a default threshold, a cosine *distance* (1 - cosine similarity)
calibrated on the dev set (see README, "Calibration"): two faces at most this
far apart are taken to be the same person.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from facerec.config import DEFAULT_RUNTIME, Settings
from facerec.errors import ModelError
from facerec.types import Face, Image
from facerec.vision import modelfiles
from facerec.vision.geometry import ALIGNED_SIZE, align_face, face_crop, normalize
from facerec.vision.runtime import load_network

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """What every embedder provides."""

    name: str
    dim: int

    def embed(self, image: Image, faces: Sequence[Face]) -> np.ndarray:
        """An (len(faces), dim) float32 array of unit-norm rows."""
        ...


class SFaceEmbedder:
    """OpenCV SFace: 128-d, on the face aligned to 112x112 by its five
    landmarks (`align_face`). The network runs in `runtime` (see
    `facerec.vision.runtime`) on all faces of an image in one batch, with the same
    output as `cv2.FaceRecognizerSF.feature`. Faces without landmarks (Haar
    boxes where none were found) are embedded from the plain resized box,
    which is less accurate."""

    name = "sface"
    dim = 128
    batch = 32
    flip = False

    def __init__(self, runtime: str = DEFAULT_RUNTIME) -> None:
        path = modelfiles.model_path(modelfiles.SFACE)
        self._net = load_network(path, runtime, (-1, 3, ALIGNED_SIZE, ALIGNED_SIZE))

    def align(self, image: Image, face: Face) -> Image:
        """The 112x112 aligned face SFace reads."""
        if face.landmarks is None:
            crop = face_crop(image, face)
            return cv2.resize(crop, (ALIGNED_SIZE, ALIGNED_SIZE), interpolation=cv2.INTER_AREA)
        return align_face(image, face.landmarks)

    def embed(self, image: Image, faces: Sequence[Face]) -> np.ndarray:
        aligned = [self.align(image, face) for face in faces]
        if self.flip:
            aligned += [cv2.flip(a, 1) for a in aligned]
        out = np.zeros((len(aligned), self.dim), np.float32)
        for start in range(0, len(aligned), self.batch):
            chunk = aligned[start : start + self.batch]
            # The same preprocessing as FaceRecognizerSF.feature: RGB, no scaling, no mean.
            blob = cv2.dnn.blobFromImages(chunk, 1.0, (ALIGNED_SIZE,) * 2, (0, 0, 0), swapRB=True, crop=False)
            out[start : start + len(chunk)] = self._net.run(blob, ["fc1"])[0].reshape(len(chunk), -1)
        if self.flip:  # the face and its mirror image, averaged
            n = len(faces)
            out = normalize(out[:n]) + normalize(out[n:])
        return normalize(out)


class SFaceFlipEmbedder(SFaceEmbedder):
    """SFace on the face and on its mirror image, averaged (a classic test-time
    augmentation). On the dev set it widens the gap between the farthest
    same-person pair and the nearest different-person pair from 0.018 to 0.048,
    for about 1.6x the embedding time. Its vectors are a model of their own."""

    name = "sface-flip"
    flip = True


@dataclass(frozen=True)
class EmbedderSpec:
    """What the rest of the program needs to know about an embedder without loading
    it: its name, its vectors' length, how to build it, and every number that is a
    cosine distance (or a quality) in its space. A second model is one more entry
    here; nothing downstream has a number of its own.

    - `threshold`: at or under it, two faces are one person (recognition, search,
      the People view's matches). Calibrated per model (README, "Calibration").
    - `own_sample_bound`: the guard calls a face farther than this from every
      sample of a person "unlike" them (looser than `threshold`: a new pose passes).
    - `group_distance`: the People view links faces closer than this (stricter than
      `threshold`: a wrong link merges two people's groups).
    - `question_band`: "is this X?" asks about faces at most this far past `threshold`
      (and nearer to X than to anyone else). For SFace 0.08, up to the guard's own
      bound, measured with `python bench/question_rates.py --blurred --bands ...`
      (the dev set, everyone registered from one photo, the rest and blurred copies
      as the library): at 0.08, 6 questions, 4 right, 2 about strangers in group
      photos; at 0.03, 2 (1 right); at 0.10, 13 (7 right, 1 wrong, 5 strangers); at
      0.15, 31 (13 right). Before the nearer-than-anyone rule, 0.15 asked 36, 13 right.
    - `group_margin`: two groups are suggested as one person up to this far past
      `group_distance`.
    - `min_sharpness`: the blur gate, the variance of the Laplacian of the face as
      this model aligns it (blurred faces score under about 70); faces under it
      are not grouped.
    - `min_face_px`: faces narrower than this are too small for this model to tell
      people apart: stored and shown, never named, grouped or matched.
    """

    name: str
    dim: int
    threshold: float
    factory: Callable[[Settings], Embedder]
    own_sample_bound: float = 0.65
    group_distance: float = 0.5
    question_band: float = 0.08
    group_margin: float = 0.15
    min_sharpness: float = 40.0
    min_face_px: int = 28
    """Faces narrower than this (box width, in the pixels the embedder reads) are
    too small to recognise: their vectors no longer tell people apart. Measured for
    SFace with `python bench/small_faces.py` (each dev portrait shrunk so its face
    is W px wide, compared with the other photos' full-size faces), at its
    threshold 0.57: equal error rate 0.0% at full size, 0.3% at 28-40 px, 1.1% at
    24, 1.9% at 20, 6.5% at 16; same-person pairs accepted 100% at full size, 95%
    at 28-32 px, 90% at 24, 82% at 20, 43% at 16. No different-person pair is
    accepted at any size: a small face stops matching, it does not match someone
    else. sface-flip measures the same (EER 0.4% at 28, 1.1% at 24)."""


def _imgbeddings(settings: Settings) -> Embedder:
    # Imported here: the imgbeddings package pulls in transformers and onnxruntime.
    from facerec.vision.imgbeddings import ImgbeddingsEmbedder

    return ImgbeddingsEmbedder(settings.imgbeddings_model)


EMBEDDERS: dict[str, EmbedderSpec] = {
    # Measured on the dev set: the threshold and the guard's bound (README, "Calibration" and
    # "Trust"), the grouping distance (docs/benchmarks.md), the question band
    # (bench/question_rates.py), the blur gate (bench/people_bench.py).
    "sface": EmbedderSpec("sface", SFaceEmbedder.dim, 0.57, lambda settings: SFaceEmbedder(settings.runtime)),
    "sface-flip": EmbedderSpec(
        "sface-flip", SFaceEmbedder.dim, 0.56, lambda settings: SFaceFlipEmbedder(settings.runtime)
    ),
    # 768-d CLIP image features (the tutorial's model). Not calibrated (its weights cannot be
    # downloaded where facerec is built): the threshold is provisional and the other distances
    # are SFace's scaled by threshold; CLIP does not align faces, so there is no blur gate.
    "imgbeddings": EmbedderSpec(
        "imgbeddings",
        768,
        0.10,
        _imgbeddings,
        own_sample_bound=0.114,
        group_distance=0.088,
        question_band=0.014,
        group_margin=0.026,
        min_sharpness=0.0,
        min_face_px=48,
    ),
}


def embedder_spec(name: str) -> EmbedderSpec:
    """The spec of embedder `name`, or `ModelError` listing the known names."""
    try:
        return EMBEDDERS[name]
    except KeyError:
        raise ModelError(f"unknown embedder {name!r}; choose from: {', '.join(EMBEDDERS)}") from None


def get_embedder(name: str, settings: Settings | None = None) -> Embedder:
    """Load embedder `name` (`sface`, `imgbeddings`); `settings` says where its model
    files are (`FACEREC_IMGBEDDINGS_MODEL`); the defaults when omitted."""
    return embedder_spec(name).factory(settings if settings is not None else Settings())
