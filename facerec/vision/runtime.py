"""Where the ONNX face networks run: OpenVINO (default) or OpenCV's dnn module.

Both run the same shipped model files and give the same numbers (SFace
vectors agree to a cosine of 0.9999999 on the dev faces), so vectors stored
with one are searched with the other. OpenVINO is the faster one on a CPU:
per process on one core here, SFace takes about 7 ms per face against 24 ms,
and YuNet on a 640x480 image about 5 ms against 12 ms. Choose with
`FACEREC_RUNTIME=openvino|opencv`; `opencv` needs nothing beyond OpenCV.

OpenVINO is always asked for float32 arithmetic: on CPUs with bfloat16 support
it would otherwise pick bfloat16, which moves the vectors (cosine 0.9993).

Privacy: `import openvino` also imports its model converter, which sends a
usage event to Google Analytics (the `openvino-telemetry` package) unless the
user has opted out. facerec blocks both modules before importing OpenVINO
(neither is needed to run an ONNX file), so nothing leaves the machine;
`tests/test_privacy.py` checks this with strace.

Networks are loaded once per process: `load_network` keeps each one, so the
live loop's detector (320 px) and the pipeline's (640 px), or a Haar
detector's YuNet landmarker, share one YuNet. A network may be called from
several threads (the web page serves requests on threads); calls take turns.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from facerec.config import RUNTIMES
from facerec.errors import ModelError

log = logging.getLogger(__name__)

_threads = 0
_core: Any = None
_loaded: dict[tuple[str, str, tuple[int, ...], int], Network] = {}
_loading = threading.Lock()


def set_threads(threads: int) -> None:
    """Threads each network, and OpenCV's own functions, may use (0: the
    library decides, usually every core). Index workers set 1: one process per
    core is faster than threads. Applies to networks loaded afterwards."""
    global _threads
    _threads = max(0, threads)
    cv2.setNumThreads(threads if threads > 0 else -1)


class Network(Protocol):
    """A loaded network: one float32 NCHW blob in, its named outputs out."""

    def run(self, blob: np.ndarray, outputs: Sequence[str]) -> list[np.ndarray]:
        """The outputs called `outputs`, in that order."""
        ...


class OpenCVNetwork:
    """`cv2.dnn`: any input size, batch or not."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        try:
            self._net = cv2.dnn.readNetFromONNX(str(path))
        except cv2.error as exc:
            raise ModelError(f"cannot load {path.name}: {exc}") from None

    def run(self, blob: np.ndarray, outputs: Sequence[str]) -> list[np.ndarray]:
        with self._lock:
            self._net.setInput(blob)
            return list(self._net.forward(list(outputs)))


class OpenVINONetwork:
    """OpenVINO on the CPU, compiled once for `shape` (-1 marks a dimension
    that may change from call to call: the batch, or a detector's image size)."""

    def __init__(self, path: Path, shape: Sequence[int]) -> None:
        core = _openvino_core()
        config = {
            "INFERENCE_PRECISION_HINT": "f32",
            "PERFORMANCE_HINT": "LATENCY",
            # Index workers are separate processes: pinning would stack them on one core.
            "ENABLE_CPU_PINNING": False,
        }
        if _threads:
            config["INFERENCE_NUM_THREADS"] = _threads
        try:
            model = core.read_model(str(path))
            model.reshape({model.inputs[0].get_any_name(): list(shape)})
            self._compiled = core.compile_model(model, "CPU", config)
        except RuntimeError as exc:
            raise ModelError(f"cannot load {path.name} in OpenVINO: {str(exc).splitlines()[0]}") from None
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()

    def run(self, blob: np.ndarray, outputs: Sequence[str]) -> list[np.ndarray]:
        with self._lock:
            self._request.infer({0: np.ascontiguousarray(blob, dtype=np.float32)})
            return [self._request.get_tensor(name).data.copy() for name in outputs]


_BLOCKED = ("openvino_telemetry", "openvino.tools.ovc")
"""Modules `import openvino` would load that send usage data over the network.
A `None` entry in `sys.modules` makes importing them fail, which OpenVINO
handles (both imports sit in `try/except ImportError`)."""


def _openvino_core() -> Any:
    global _core
    if _core is None:
        for name in _BLOCKED:
            sys.modules.setdefault(name, None)  # type: ignore[arg-type]
        try:
            import openvino
        except ImportError:
            raise ModelError(
                "the OpenVINO runtime is not installed: pip install openvino, or set FACEREC_RUNTIME=opencv"
            ) from None
        _core = openvino.Core()
    return _core


def load_network(path: Path, runtime: str, shape: Sequence[int]) -> Network:
    """The ONNX model at `path` in `runtime` (`openvino` or `opencv`), loaded on
    the first call and kept for the process; `shape` is its input shape with -1
    for sizes that vary (see `OpenVINONetwork`)."""
    if runtime not in RUNTIMES:
        raise ModelError(f"unknown runtime {runtime!r}; choose from: {', '.join(RUNTIMES)}")
    key = (str(path), runtime, tuple(shape), _threads)
    with _loading:
        network = _loaded.get(key)
        if network is None:
            start = time.perf_counter()
            network = OpenVINONetwork(path, shape) if runtime == "openvino" else OpenCVNetwork(path)
            log.debug("loaded %s in %s in %.0f ms", path.name, runtime, (time.perf_counter() - start) * 1000)
            _loaded[key] = network
    return network
