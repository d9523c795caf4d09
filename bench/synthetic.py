"""Synthetic SFace embeddings shaped like real ones, for the scale benchmark.

Real faces are not spread evenly over the 128-d sphere: they share a mean
direction (norm about 0.34 on the dev set) and vary more along some axes than
others. So the noise here is drawn from the covariance of real SFace
embeddings of the dev photos, not from an isotropic Gaussian:

- identity centre = normalize(real face + IDENTITY_SPREAD * noise)
- stored face     = normalize(centre + SAMPLE_SPREAD * noise)
- query face      = a new sample of a stored identity ("known"), or of a new
                    identity that is not stored ("unknown")

With the defaults, two faces of one synthetic identity are at cosine distance
0.27 on average (dev set, same person: 0.267) and faces of different
identities at 0.97 (dev set: 0.88; 1st percentile 0.63 vs 0.68). `distance_stats`
prints these for any setting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facerec.errors import ImageError
from facerec.vision.images import load_image
from facerec.vision.pipeline import Pipeline

log = logging.getLogger(__name__)

DIM = 128
IDENTITY_SPREAD = 1.5  # larger: identities further apart (0.97 mean distance at 1.5)
SAMPLE_SPREAD = 0.65  # larger: photos of one identity further apart (0.27 mean distance at 0.65)
FACES_PER_IDENTITY = 10
PHOTO_FOLDERS = ("people", "distractors", "groups")


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def real_embeddings(faces_dir: Path, pipeline: Pipeline | None = None, reduce_to: int = 960) -> np.ndarray:
    """SFace embeddings of every face YuNet finds in the dev photos (141 faces in 98 photos).

    Takes a few seconds. Raises `FileNotFoundError` if `faces_dir` has none of
    `people/`, `distractors/`, `groups/`.
    """
    pipeline = pipeline or Pipeline.load("yunet", "sface")
    paths = sorted(p for folder in PHOTO_FOLDERS for p in (faces_dir / folder).rglob("*") if p.is_file())
    if not paths:
        raise FileNotFoundError(f"no face photos under {faces_dir} (expected {', '.join(PHOTO_FOLDERS)})")
    vectors: list[np.ndarray] = []
    for path in paths:
        try:
            image = load_image(path, reduce_to=reduce_to)
        except ImageError as exc:
            log.warning("skipping %s: %s", path, exc)
            continue
        vectors += [face.embedding for face in pipeline.analyze(image.pixels)]
    if len(vectors) < 2:
        raise ValueError(f"found fewer than 2 faces under {faces_dir}")
    return _normalize(np.asarray(vectors, np.float64))


@dataclass(frozen=True)
class SyntheticFaces:
    """`n` unit vectors (float32, shape (n, 128)) and the identity of each (int, shape (n,))."""

    vectors: np.ndarray
    identity: np.ndarray
    centres: np.ndarray


class FaceSynthesizer:
    """Makes identities and faces from real embeddings. Same seed, same faces."""

    def __init__(
        self,
        real: np.ndarray,
        seed: int = 0,
        identity_spread: float = IDENTITY_SPREAD,
        sample_spread: float = SAMPLE_SPREAD,
    ) -> None:
        self.real = np.asarray(real, np.float64)
        self.rng = np.random.default_rng(seed)
        self.identity_spread = identity_spread
        self.sample_spread = sample_spread
        # Covariance of real faces (+ a little isotropic noise so it is full rank).
        cov = np.cov(self.real.T) + 1e-4 * np.eye(self.real.shape[1])
        self._shape = np.linalg.cholesky(cov)

    def _noise(self, n: int) -> np.ndarray:
        return self.rng.standard_normal((n, self.real.shape[1])) @ self._shape.T

    def identities(self, n: int) -> np.ndarray:
        """`n` identity centres: unit vectors, each a perturbed real face."""
        source = self.rng.integers(0, len(self.real), n)
        return _normalize(self.real[source] + self.identity_spread * self._noise(n))

    def samples(self, centres: np.ndarray) -> np.ndarray:
        """One new photo (unit vector, float32) of each centre."""
        return _normalize(centres + self.sample_spread * self._noise(len(centres))).astype(np.float32)

    def faces(self, n: int, per_identity: int = FACES_PER_IDENTITY) -> SyntheticFaces:
        """`n` faces of ceil(n / per_identity) identities, in random order (as a photo library would mix them)."""
        n_ids = -(-n // per_identity)
        centres = self.identities(n_ids)
        identity = self.rng.permutation(np.repeat(np.arange(n_ids), per_identity)[:n])
        vectors = np.empty((n, centres.shape[1]), np.float32)
        for start in range(0, n, 100_000):  # in chunks: bounded float64 temporaries at 1M
            part = identity[start : start + 100_000]
            vectors[start : start + len(part)] = self.samples(centres[part])
        return SyntheticFaces(vectors, identity, centres)

    def queries(self, stored: SyntheticFaces, n: int, unknown_share: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
        """`n` query faces: new photos of stored identities, and `unknown_share` of them of new identities.

        Returns (vectors, known) where `known[i]` is True for a stored identity.
        """
        n_unknown = int(round(n * unknown_share))
        known_ids = self.rng.integers(0, len(stored.centres), n - n_unknown)
        centres = np.concatenate([stored.centres[known_ids], self.identities(n_unknown)])
        known = np.arange(n) < n - n_unknown
        return self.samples(centres), known


def distance_stats(faces: SyntheticFaces, sample: int = 2000, seed: int = 0) -> dict[str, float]:
    """Cosine distances within and between identities, on a random sample of faces (compare with the dev set)."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(faces.vectors), min(sample, len(faces.vectors)), replace=False)
    v = faces.vectors[idx].astype(np.float64)
    ident = faces.identity[idx]
    dist = 1.0 - v @ v.T
    upper = np.triu_indices(len(idx), 1)
    same_mask = (ident[:, None] == ident[None, :])[upper]
    different = dist[upper][~same_mask]
    # Same-identity pairs are rare in a random sample: pair each face with another of its identity.
    order = np.argsort(faces.identity, kind="stable")
    ids_sorted = faces.identity[order]
    first = order[:-1][ids_sorted[:-1] == ids_sorted[1:]]
    second = order[1:][ids_sorted[:-1] == ids_sorted[1:]]
    first, second = first[: 10 * sample], second[: 10 * sample]
    same = 1.0 - np.einsum("ij,ij->i", faces.vectors[first].astype(np.float64), faces.vectors[second])
    return {
        "same_identity_mean": float(same.mean()) if len(same) else float("nan"),
        "same_identity_p99": float(np.percentile(same, 99)) if len(same) else float("nan"),
        "different_identity_mean": float(different.mean()),
        "different_identity_p1": float(np.percentile(different, 1)),
    }
