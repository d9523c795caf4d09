"""Detector + embedder, loaded once per process and used together."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from facerec.config import Settings
from facerec.types import EmbeddedFace, Face, Image
from facerec.vision.detectors import Detector, get_detector
from facerec.vision.embedders import Embedder, get_embedder


@dataclass
class Pipeline:
    """Finds faces and embeds them. Get the one `Settings` describe with
    `load_pipeline(settings)`; `Pipeline.load` builds one by name."""

    detector: Detector
    embedder: Embedder

    @classmethod
    def load(
        cls, detector: str, embedder: str, settings: Settings | None = None, **detector_options: int | float | bool
    ) -> Pipeline:
        settings = settings if settings is not None else Settings()
        detector_ = get_detector(detector, runtime=settings.runtime, **detector_options)
        return cls(detector_, get_embedder(embedder, settings))

    @classmethod
    def from_settings(cls, settings: Settings) -> Pipeline:
        """The detector and embedder `settings` name (with the embedder's own settings)."""
        return cls.load(settings.detector, settings.embedder, settings, max_side=settings.detect_size)

    def detect(self, image: Image) -> list[Face]:
        return self.detector.detect(image)

    def embed(self, image: Image, faces: Sequence[Face]) -> list[EmbeddedFace]:
        if not faces:
            return []
        vectors = self.embedder.embed(image, faces)
        return [EmbeddedFace(face, vec, self.embedder.name) for face, vec in zip(faces, vectors)]

    def analyze(self, image: Image) -> list[EmbeddedFace]:
        """Every face in `image` with its embedding, left to right."""
        return self.embed(image, self.detect(image))


_pipelines: dict[tuple[object, ...], Pipeline] = {}
_lock = threading.Lock()


def load_pipeline(settings: Settings) -> Pipeline:
    """The pipeline `settings` describe, built on the first call and kept for the
    process (the networks themselves are shared too: see `facerec.vision.runtime`)."""
    key = (settings.detector, settings.embedder, settings.runtime, settings.detect_size, settings.imgbeddings_model)
    with _lock:
        pipeline = _pipelines.get(key)
        if pipeline is None:
            pipeline = _pipelines[key] = Pipeline.from_settings(settings)
    return pipeline
