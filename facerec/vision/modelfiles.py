"""The model files shipped in `facerec/vision/models/` (and the tutorial's Haar
cascade), checked by SHA-256 before use."""

from __future__ import annotations

import hashlib
from pathlib import Path

from facerec.errors import ModelError
from facerec.resources import HAAR_CASCADE, haar_cascade, models_dir

YUNET = "face_detection_yunet_2023mar.onnx"
SFACE = "face_recognition_sface_2021dec.onnx"
HAAR = HAAR_CASCADE

SHA256 = {
    YUNET: "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
    SFACE: "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
    HAAR: "0f7d4527844eb514d4a4948e822da90fbb16a34a0bbbbc6adc6498747a5aafb0",
}

_verified: set[Path] = set()


def model_path(name: str) -> Path:
    """Path of a shipped model file, verified once per process.

    Raises `ModelError` naming the file if it is missing or its SHA-256 differs
    from the one recorded here (a truncated download, a bad checkout, tampering).
    """
    path = model_file(name)
    if path in _verified:
        return path
    verify(path, SHA256[name])
    _verified.add(path)
    return path


def model_file(name: str) -> Path:
    """Where a shipped model file should be (not checked: see `model_path`)."""
    return haar_cascade() if name == HAAR else models_dir() / name


def verify(path: Path, expected: str) -> None:
    """Raise `ModelError` unless `path` exists and hashes to `expected`."""
    if not path.is_file():
        raise ModelError(f"model file missing: {path}")
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise ModelError(
            f"model file corrupted: {path} (SHA-256 {digest.hexdigest()[:12]}..., expected {expected[:12]}...)"
        )
