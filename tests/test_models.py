"""The models behind their small interfaces: detection, alignment, embedding, hash checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from facerec import modelfiles
from facerec.errors import ModelError
from facerec.images import load_image
from facerec.pipeline import Pipeline
from tests.conftest import FaceSet


def test_batched_sface_gives_the_same_vectors_as_opencvs_face_recognizer(pipeline: Pipeline, faces: FaceSet):
    import cv2

    image = load_image(faces.photo("groups/cf_016_8.jpg")).pixels
    found = pipeline.detect(image)
    assert len(found) == 8
    batched = pipeline.embedder.embed(image, found)
    reference = cv2.FaceRecognizerSF.create(str(modelfiles.model_path(modelfiles.SFACE)), "")
    for face, vector in zip(found, batched):
        one = reference.feature(pipeline.embedder.align(image, face)).reshape(-1)  # type: ignore[attr-defined]
        one /= np.linalg.norm(one)
        assert float(np.dot(one, vector)) > 0.9999
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_a_corrupted_model_file_is_refused_with_its_name(tmp_path: Path):
    bad = tmp_path / modelfiles.SFACE
    shutil.copy(modelfiles.MODELS_DIR / modelfiles.SFACE, bad)
    with bad.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00corrupt")
    with pytest.raises(ModelError, match=f"model file corrupted: {bad}"):
        modelfiles.verify(bad, modelfiles.SHA256[modelfiles.SFACE])
    with pytest.raises(ModelError, match="model file missing"):
        modelfiles.verify(tmp_path / "absent.onnx", "0" * 64)


def test_detectors_give_boxes_inside_the_image_left_to_right(pipeline: Pipeline, faces: FaceSet):
    from facerec.detectors import get_detector

    image = load_image(faces.photo("groups/cf_015_6.jpg")).pixels
    h, w = image.shape[:2]
    for detector in (pipeline.detector, get_detector("haar")):
        found = detector.detect(image)
        assert len(found) >= 5, detector.name
        xs = [f.box.x for f in found]
        assert xs == sorted(xs)
        for f in found:
            assert 0 <= f.box.x and f.box.x + f.box.w <= w and 0 <= f.box.y and f.box.y + f.box.h <= h
    with pytest.raises(ModelError, match="unknown detector 'dlib'"):
        get_detector("dlib")


def test_an_image_without_faces_gives_an_empty_list(pipeline: Pipeline, faces: FaceSet):
    image = load_image(faces.of_kind("noface")[0].path).pixels
    assert pipeline.analyze(image) == []
