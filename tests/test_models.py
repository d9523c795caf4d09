"""The models behind their small interfaces: detection, alignment, embedding, hash checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from facerec.errors import ModelError
from facerec.resources import models_dir
from facerec.vision import modelfiles
from facerec.vision.images import load_image
from facerec.vision.pipeline import Pipeline
from tests.helpers import FaceSet


def test_our_alignment_and_batched_sface_give_opencvs_face_recognizer_vectors(pipeline: Pipeline, faces: FaceSet):
    import cv2

    reference = cv2.FaceRecognizerSF.create(str(modelfiles.model_path(modelfiles.SFACE)), "")
    checked = 0
    for photo in faces.of_kind("group"):
        image = load_image(photo.path).pixels
        found = pipeline.detect(image)
        batched = pipeline.embedder.embed(image, found)
        for face, vector in zip(found, batched):
            b = face.box
            row = np.concatenate([[b.x, b.y, b.w, b.h], face.landmarks.reshape(-1), [face.score]])  # type: ignore[union-attr]
            theirs = reference.alignCrop(image, row.astype(np.float32).reshape(1, -1))
            ours = pipeline.embedder.align(image, face)  # type: ignore[attr-defined]
            # the same warp up to rounding: a few pixels differ by more than 1 level
            assert np.mean(np.abs(theirs.astype(int) - ours.astype(int))) < 0.05
            one = reference.feature(theirs).reshape(-1)
            one /= np.linalg.norm(one)
            assert float(np.dot(one, vector)) > 0.99999
            checked += 1
        assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert checked >= 40


def test_a_corrupted_model_file_is_refused_with_its_name(tmp_path: Path):
    bad = tmp_path / modelfiles.SFACE
    shutil.copy(models_dir() / modelfiles.SFACE, bad)
    with bad.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00corrupt")
    with pytest.raises(ModelError, match=f"model file corrupted: {bad}"):
        modelfiles.verify(bad, modelfiles.SHA256[modelfiles.SFACE])
    with pytest.raises(ModelError, match="model file missing"):
        modelfiles.verify(tmp_path / "absent.onnx", "0" * 64)


def test_detectors_give_boxes_inside_the_image_left_to_right(pipeline: Pipeline, faces: FaceSet):
    from facerec.vision.detectors import get_detector

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


# -- runtimes: OpenVINO (default) and cv2.dnn run the same networks to the same numbers -----------


@pytest.fixture(scope="module")
def dev_images(faces: FaceSet) -> list[tuple[Path, np.ndarray]]:
    """Every dev photo, shrunk as the detector shrinks it (640 px)."""
    from facerec.vision.detectors import _shrink

    return [(p.path, _shrink(load_image(p.path).pixels, 640)[0]) for p in faces.photos]


@pytest.mark.parametrize("runtime", ["openvino", "opencv"])
def test_yunet_decoding_matches_opencvs_face_detector_on_every_dev_photo(runtime: str, dev_images: list):
    import cv2

    from facerec.vision.detectors import YuNetDetector

    reference = cv2.FaceDetectorYN.create(str(modelfiles.model_path(modelfiles.YUNET)), "", (320, 320), 0.8, 0.3, 5000)
    ours = YuNetDetector(runtime=runtime)
    total = 0
    for path, image in dev_images:
        reference.setInputSize((image.shape[1], image.shape[0]))
        expected = reference.detect(image)[1]
        expected = np.zeros((0, 15), np.float32) if expected is None else expected
        got = ours.detect_rows(image)
        assert len(got) == len(expected), path
        order = lambda rows: rows[np.lexsort((rows[:, 1], rows[:, 0]))]  # noqa: E731
        # boxes and landmarks within 0.01 px, scores within 0.01
        assert np.allclose(order(got), order(expected), atol=0.01), path
        total += len(got)
    assert total >= 130  # YuNet finds 141 faces in the 99 dev photos at 640 px


def test_sface_vectors_are_the_same_in_both_runtimes(faces: FaceSet, pipeline: Pipeline):
    from facerec.vision.embedders import SFaceEmbedder

    vectors = {runtime: SFaceEmbedder(runtime) for runtime in ("openvino", "opencv")}
    checked = 0
    for photo in faces.of_kind("group") + faces.of_kind("distractor"):
        image = load_image(photo.path).pixels
        found = pipeline.detect(image)
        if found:
            a, b = (vectors[r].embed(image, found) for r in ("openvino", "opencv"))
            assert np.min(np.sum(a * b, axis=1)) > 0.99999, photo.path
            checked += len(found)
    assert checked >= 40


def test_a_missing_openvino_is_one_clear_error(monkeypatch: pytest.MonkeyPatch):
    import sys

    from facerec.vision import runtime

    monkeypatch.setattr(runtime, "_core", None)
    monkeypatch.setattr(runtime, "_loaded", {})  # networks are kept per process: load afresh
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino now raises ImportError
    with pytest.raises(ModelError, match="pip install openvino, or set FACEREC_RUNTIME=opencv"):
        runtime.load_network(modelfiles.model_path(modelfiles.SFACE), "openvino", (-1, 3, 112, 112))
    with pytest.raises(ModelError, match="unknown runtime 'tensorrt'"):
        runtime.load_network(modelfiles.model_path(modelfiles.SFACE), "tensorrt", (-1, 3, 112, 112))
