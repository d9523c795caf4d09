"""Face detectors: image in, list of `Face` out (boxes in original pixels).

Pick one by name with `get_detector`:
- `yunet` (default): OpenCV's YuNet CNN. Boxes, five landmarks and a score;
  robust to pose and lighting. About 1.3 ms at 320x240 and 5 ms at 640x480
  per core here with OpenVINO (4 and 12 ms with `FACEREC_RUNTIME=opencv`).
- `haar`: the classic Viola-Jones frontal-face cascade of the original
  tutorial. Frontal faces only, more false positives, no landmarks: facerec
  finds the landmarks by running YuNet inside each Haar box, so the embedding
  sees an aligned face (measured better than an unaligned crop; see README).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import cv2
import numpy as np

from facerec.config import DEFAULT_DETECT_SIZE, DEFAULT_RUNTIME
from facerec.errors import ModelError
from facerec.types import Box, Face, Image
from facerec.vision import modelfiles
from facerec.vision.runtime import load_network

log = logging.getLogger(__name__)

DEFAULT_MAX_SIDE = DEFAULT_DETECT_SIZE
"""Images are shrunk so their longer side is at most this before detection
(`FACEREC_DETECT_SIZE`). YuNet misses faces that fill a very large image, and
time grows with pixels. On the dev set 640 finds every face 960 finds and a
few more, in about 60% of the time; faces smaller than about 1/40 of the
photo's longer side are lost, so raise it for crowds of tiny faces."""


class Detector(Protocol):
    """What every detector provides."""

    name: str

    def detect(self, image: Image) -> list[Face]:
        """Faces in `image`, left to right; an empty list when there are none."""
        ...


def _shrink(image: Image, max_side: int) -> tuple[Image, float]:
    """Return (image shrunk to `max_side`, factor to multiply its coordinates by)."""
    h, w = image.shape[:2]
    longest = max(h, w)
    if longest <= max_side:
        return image, 1.0
    f = max_side / longest
    small = cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return small, longest / max_side


def _pad_to(image: Image, size: int) -> Image:
    """`image` with black added at the right and bottom to make it `size` x `size`."""
    h, w = image.shape[:2]
    if h == size and w == size:
        return image
    return cv2.copyMakeBorder(image, 0, size - h, 0, size - w, cv2.BORDER_CONSTANT, value=(0, 0, 0))


def _clip_box(x: float, y: float, w: float, h: float, width: int, height: int) -> Box | None:
    x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
    x1, y1 = min(width, int(round(x + w))), min(height, int(round(y + h)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return Box(x0, y0, x1 - x0, y1 - y0)


YUNET_STRIDES = (8, 16, 32)
YUNET_OUTPUTS = tuple(f"{kind}_{stride}" for kind in ("cls", "obj", "bbox", "kps") for stride in YUNET_STRIDES)
TILE_BATCH = 1
"""Tiles per network call in `rows_in_tiles`. Measured on this 2-core machine
(OpenVINO, one thread, the 48 tiles of a 12 MP photo; CPU time, under load):
1 per call 888 ms, 4 per call 915 ms, 8 per call 1026 ms (and one call per tile
through the any-size network 878 ms): batching saves no arithmetic and costs
cache, so tiles go one by one; raise it where a runtime gains from batches."""


class YuNetDetector:
    """OpenCV's YuNet network, run by `facerec.vision.runtime` and decoded here the
    way `cv2.FaceDetectorYN` decodes it (a test checks they agree).

    `score_threshold`: 0..1, higher keeps only clearer faces; 0.8 keeps
    profile-ish and small faces while rejecting almost all non-faces.
    `max_side`: see `DEFAULT_MAX_SIDE`. `runtime`: see `facerec.vision.runtime`.
    """

    name = "yunet"

    def __init__(
        self,
        max_side: int = DEFAULT_MAX_SIDE,
        score_threshold: float = 0.8,
        nms_threshold: float = 0.3,
        top_k: int = 5000,
        runtime: str = DEFAULT_RUNTIME,
    ) -> None:
        self.max_side = max_side
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k
        self.runtime = runtime
        self._net = load_network(modelfiles.model_path(modelfiles.YUNET), runtime, (1, 3, -1, -1))

    def detect_rows(self, image: Image) -> np.ndarray:
        """Raw YuNet rows (N x 15: box, 5 landmarks, score) in `image` pixels."""
        small, f = _shrink(image, self.max_side)
        rows = self.rows(small)
        rows[:, :14] *= f
        return rows

    def rows(self, image: Image, threshold: float | None = None) -> np.ndarray:
        """Rows of `image` as the network sees it (no shrinking); `threshold`
        overrides `score_threshold` (a lower one also returns the doubtful faces)."""
        # The network wants a BGR float image, unscaled, padded with black at the
        # right and bottom to a multiple of 32 pixels.
        h, w = image.shape[:2]
        pad_h, pad_w = -(-h // 32) * 32, -(-w // 32) * 32
        blob = np.zeros((1, 3, pad_h, pad_w), np.float32)
        blob[0, :, :h, :w] = image.transpose(2, 0, 1)
        outputs = dict(zip(YUNET_OUTPUTS, self._net.run(blob, YUNET_OUTPUTS)))
        return self._rows_from(outputs, pad_w, self.score_threshold if threshold is None else threshold)

    def rows_in_tiles(self, tiles: Sequence[Image], size: int, threshold: float | None = None) -> list[np.ndarray]:
        """`rows` of each image in `tiles` (each at most `size` x `size` pixels, `size`
        a multiple of 32), run in batches through a network compiled for that square
        shape (loaded once per size: see `facerec.vision.runtime`)."""
        net = load_network(modelfiles.model_path(modelfiles.YUNET), self.runtime, (-1, 3, size, size))
        threshold = self.score_threshold if threshold is None else threshold
        out: list[np.ndarray] = []
        for start in range(0, len(tiles), TILE_BATCH):
            chunk = tiles[start : start + TILE_BATCH]
            padded = [_pad_to(tile, size) for tile in chunk]
            blob = cv2.dnn.blobFromImages(padded, 1.0, (size, size), (0, 0, 0), swapRB=False, crop=False)
            # The network folds the batch into its cell axis: item i's cells follow item i-1's.
            merged = dict(zip(YUNET_OUTPUTS, net.run(blob, YUNET_OUTPUTS)))
            for i in range(len(chunk)):
                item = {}
                for name, array in merged.items():
                    cells = array.shape[1] // len(chunk)
                    item[name] = array[:, i * cells : (i + 1) * cells]
                out.append(self._rows_from(item, size, threshold))
        return out

    def _rows_from(self, outputs: dict[str, np.ndarray], pad_w: int, threshold: float) -> np.ndarray:
        found = [self._decode(outputs, stride, pad_w // stride, threshold) for stride in YUNET_STRIDES]
        rows = np.concatenate(found)
        if not len(rows):
            return rows
        boxes = rows[:, :4].astype(np.int32)  # NMS on whole-pixel boxes, as OpenCV does
        keep = cv2.dnn.NMSBoxes(boxes.tolist(), rows[:, 14].tolist(), threshold, self.nms_threshold, top_k=self.top_k)
        return rows[np.asarray(keep, dtype=np.int64).reshape(-1)]

    def _decode(self, outputs: dict[str, np.ndarray], stride: int, cols: int, threshold: float) -> np.ndarray:
        """Rows (box, landmarks, score) of the grid cells at `stride` that pass `threshold`."""
        cls = np.clip(outputs[f"cls_{stride}"].reshape(-1), 0, 1)
        obj = np.clip(outputs[f"obj_{stride}"].reshape(-1), 0, 1)
        score = np.sqrt(cls * obj)
        cells = np.flatnonzero(score >= threshold)
        r, c = (cells // cols).astype(np.float32), (cells % cols).astype(np.float32)
        bbox = outputs[f"bbox_{stride}"].reshape(-1, 4)[cells]
        kps = outputs[f"kps_{stride}"].reshape(-1, 10)[cells]
        rows = np.empty((len(cells), 15), np.float32)
        rows[:, 2] = np.exp(bbox[:, 2]) * stride
        rows[:, 3] = np.exp(bbox[:, 3]) * stride
        rows[:, 0] = (c + bbox[:, 0]) * stride - rows[:, 2] / 2
        rows[:, 1] = (r + bbox[:, 1]) * stride - rows[:, 3] / 2
        rows[:, 4:14:2] = (kps[:, 0::2] + c[:, None]) * stride
        rows[:, 5:14:2] = (kps[:, 1::2] + r[:, None]) * stride
        rows[:, 14] = score[cells]
        return rows

    def detect(self, image: Image) -> list[Face]:
        height, width = image.shape[:2]
        faces = []
        for row in self.detect_rows(image):
            box = _clip_box(row[0], row[1], row[2], row[3], width, height)
            if box is not None:
                faces.append(Face(box, float(row[14]), row[4:14].reshape(5, 2).copy()))
        return sorted(faces, key=lambda fc: (fc.box.x, fc.box.y))

    def landmarks_in(self, image: Image, box: Box) -> np.ndarray | None:
        """The five landmarks of the face in `box` (found by running YuNet on the box
        plus half a face of margin), or None when YuNet sees no face overlapping it."""
        mx, my = box.w // 2, box.h // 2
        x0, y0 = max(0, box.x - mx), max(0, box.y - my)
        crop = image[y0 : box.y + box.h + my, x0 : box.x + box.w + mx]
        best, best_iou = None, 0.3
        for row in self.detect_rows(crop):
            cand = Box(int(row[0]) + x0, int(row[1]) + y0, int(row[2]), int(row[3]))
            iou = cand.iou(box)
            if iou > best_iou:
                best, best_iou = row, iou
        if best is None:
            return None
        points = best[4:14].reshape(5, 2).copy()
        points += (x0, y0)
        return points


class HaarDetector:
    """The tutorial's Haar cascade (`haarcascade_frontalface_default.xml`).

    `landmarks=True` runs YuNet inside each box (with a margin) to find the
    five landmarks the aligner needs; a box where YuNet sees no face keeps
    `landmarks=None` and is embedded unaligned. `min_neighbors`: higher gives
    fewer false faces and more misses (5, the tutorial's value, is the default).
    """

    name = "haar"

    def __init__(
        self,
        max_side: int = DEFAULT_MAX_SIDE,
        min_neighbors: int = 5,
        landmarks: bool = True,
        runtime: str = DEFAULT_RUNTIME,
    ) -> None:
        self.max_side = max_side
        self.min_neighbors = min_neighbors
        path = modelfiles.model_path(modelfiles.HAAR)
        if not hasattr(cv2, "CascadeClassifier"):
            raise ModelError(
                "this OpenCV build has no CascadeClassifier (opencv-python 5 removed it); install opencv-python<5"
            )
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise ModelError(f"cannot load Haar cascade: {path}")
        self._landmarker = YuNetDetector(max_side=320, score_threshold=0.5, runtime=runtime) if landmarks else None

    def detect(self, image: Image) -> list[Face]:
        height, width = image.shape[:2]
        small, f = _shrink(image, self.max_side)
        gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        found = self._cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=self.min_neighbors, minSize=(30, 30))
        faces = []
        for x, y, w, h in found if len(found) else []:
            box = _clip_box(x * f, y * f, w * f, h * f, width, height)
            if box is not None:
                faces.append(Face(box, 1.0, self._landmarks(image, box)))
        return sorted(faces, key=lambda fc: (fc.box.x, fc.box.y))

    def _landmarks(self, image: Image, box: Box) -> np.ndarray | None:
        return None if self._landmarker is None else self._landmarker.landmarks_in(image, box)


DETECTORS = {"yunet": YuNetDetector, "haar": HaarDetector}


def get_detector(name: str, **options: int | float | bool | str) -> Detector:
    """Build the detector called `name` (`yunet` or `haar`)."""
    try:
        factory = DETECTORS[name]
    except KeyError:
        raise ModelError(f"unknown detector {name!r}; choose from: {', '.join(DETECTORS)}") from None
    return factory(**options)  # type: ignore[arg-type]
