"""imgbeddings, the original tutorial's embedder: CLIP ViT-B/32 image features, 768-d.

It runs the `imgbeddings` package (0.1.0): an ONNX export of CLIP's vision
tower (`patch32_v1.onnx`, 88 MB, Hugging Face repo `minimaxir/imgbeddings`)
behind CLIP's image processor (`openai/clip-vit-base-patch32`). It is a
generic image model, not a face model: faces that merely look alike (same
pose, light, glasses) come out close. Use SFace to tell people apart; use this
to stay compatible with the tutorial or with 768-d vectors you already have.

What the model sees: the detector's box exactly (no margin, no alignment),
as an RGB image, like the tutorial's `img[y:y+h, x:x+w]` (its boxes are
Haar's: `--detector haar` gives the closest match). imgbeddings pads the
crop to a square with black, resizes it to 224x224 (bicubic, no centre
crop), normalises it with CLIP's mean and std and runs the model; facerec
scales each vector to unit length.

Threshold: `EMBEDDERS["imgbeddings"].threshold` (0.10) is provisional. The
real model cannot be downloaded where facerec was built, so it is not
calibrated; CLIP features of two face crops are expected to be much closer
than SFace's. Calibrate it on your own photos before trusting a name (see
the README) and pass `--threshold` / `FACEREC_THRESHOLD` meanwhile.

Where the model comes from, first match wins:
1. `FACEREC_IMGBEDDINGS_MODEL=/path/patch32_v1.onnx` (`Settings.imgbeddings_model`);
2. the Hugging Face cache (`HF_HOME`, default `~/.cache/huggingface`), filled
   by `huggingface-cli download`, or by an earlier imgbeddings run (which
   kept the file as `hub/patch32_v1.onnx`);
3. a one-time download from the Hub, announced with its size and destination.
The CLIP processor files (about 4 MB) always come from the cache, or are
downloaded with the model. When everything is cached, loading makes no
network connection at all; when something is missing and the Hub cannot be
reached, `ModelError` says what is missing and how to provide it.
"""

from __future__ import annotations

import importlib
import logging
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
from PIL import Image as PILImage

from facerec.errors import ModelError
from facerec.types import Face, Image
from facerec.vision.geometry import face_crop, normalize

log = logging.getLogger(__name__)

MODEL_REPO = "minimaxir/imgbeddings"
MODEL_FILE = "patch32_v1.onnx"
PROCESSOR_REPO = "openai/clip-vit-base-patch32"
PROCESSOR_FILES = ("preprocessor_config.json", "tokenizer_config.json")
"""Checked in the cache to decide whether the processor can load offline
(transformers also reads the tokenizer files next to them)."""

HUB_TIMEOUT_S = 3.0
"""How long to wait for the Hub before saying the model cannot be downloaded."""

PINS = "imgbeddings==0.1.0, huggingface_hub>=0.25,<0.26, transformers>=4.46,<4.47"


class ImgbeddingsEmbedder:
    """imgbeddings on the face's box. The model loads when the embedder is built
    (facerec builds it only when something must be embedded).

    `model_path`: the ONNX file; empty means the Hugging Face cache (see module doc).
    `margin`: grow the box by this fraction of its size on each side (0 = the box, as the tutorial).
    `batch_size`: faces per model call; imgbeddings shows a progress bar from this many faces on.
    """

    name = "imgbeddings"
    dim = 768

    def __init__(self, model_path: str = "", margin: float = 0.0, batch_size: int = 64) -> None:
        self.margin = margin
        self.batch_size = batch_size
        started = time.perf_counter()
        self.model = load_model(model_path)
        log.info("imgbeddings model loaded in %.1f s", time.perf_counter() - started)

    def crop(self, image: Image, face: Face) -> PILImage.Image:
        """What the model is given for `face`: its box (plus `margin`) as an RGB PIL image."""
        return PILImage.fromarray(cv2.cvtColor(face_crop(image, face, self.margin), cv2.COLOR_BGR2RGB))

    def embed(self, image: Image, faces: Sequence[Face]) -> np.ndarray:
        if not faces:
            return np.zeros((0, self.dim), np.float32)
        crops = [self.crop(image, face) for face in faces]
        vectors = np.asarray(self.model.to_embeddings(crops, batch_size=self.batch_size), dtype=np.float32)
        if vectors.shape != (len(faces), self.dim):
            raise ModelError(f"the imgbeddings model gave an array of shape {vectors.shape}; expected (n, {self.dim})")
        return normalize(vectors)


def load_model(model_path: str = "") -> Any:
    """The package's model object (`imgbeddings.imgbeddings`), ready for `to_embeddings`.

    Raises `ModelError` (one line: what is missing and how to provide it) when
    the files are neither given, nor cached, nor downloadable within
    `HUB_TIMEOUT_S`.
    """
    hub = _import("huggingface_hub")
    onnx = _given_model(model_path) if model_path else _cached_model(hub)
    processor_cached = all(isinstance(hub.try_to_load_from_cache(PROCESSOR_REPO, f), str) for f in PROCESSOR_FILES)
    if onnx is not None and processor_cached:
        with _no_network(hub):
            return _build(onnx, hub)

    processor = f"the CLIP processor files ({PROCESSOR_REPO})"
    if onnx is None:
        size_mb = _hub_file_mb(hub, MODEL_REPO, MODEL_FILE)
        missing = f"{MODEL_FILE} ({MODEL_REPO})" + ("" if processor_cached else f" and {processor}")
        what = f"{MODEL_FILE} ({size_mb or 0:.1f} MB)" + ("" if processor_cached else " and the processor files (4 MB)")
    else:
        size_mb = _hub_file_mb(hub, PROCESSOR_REPO, PROCESSOR_FILES[0])
        missing = what = processor
    if size_mb is None:
        raise ModelError(_missing_message(hub, missing))
    log.warning("first use of imgbeddings: downloading %s once into %s", what, hub.constants.HF_HUB_CACHE)
    _import("imgbeddings")  # before the cache fills: transformers would "migrate" it on import
    try:
        if onnx is None:
            onnx = hub.hf_hub_download(MODEL_REPO, MODEL_FILE, etag_timeout=HUB_TIMEOUT_S)
        return _build(onnx, hub)
    except OSError as exc:  # requests' and huggingface_hub's errors are OSErrors
        raise ModelError(f"downloading imgbeddings files failed ({_first_line(exc)}); {_how_to_provide(hub)}") from None


def _given_model(model_path: str) -> str:
    path = Path(model_path).expanduser()
    if not path.is_file():
        raise ModelError(
            f"FACEREC_IMGBEDDINGS_MODEL={model_path}: no such file; point it at {MODEL_FILE} "
            "or unset it to use the Hugging Face cache"
        )
    return str(path)


def _cached_model(hub: ModuleType) -> str | None:
    """The ONNX file in the Hugging Face cache, if there: where `huggingface-cli download`
    puts it, or the flat `<cache>/patch32_v1.onnx` imgbeddings' own download leaves."""
    found = hub.try_to_load_from_cache(MODEL_REPO, MODEL_FILE)
    if isinstance(found, str):
        return found
    legacy = Path(hub.constants.HF_HUB_CACHE) / MODEL_FILE
    return str(legacy) if legacy.is_file() else None


def _hub_file_mb(hub: ModuleType, repo: str, filename: str) -> float | None:
    """Size in MB of a file on the Hub, or None when the Hub cannot be reached in time."""
    try:
        meta = hub.get_hf_file_metadata(hub.hf_hub_url(repo, filename), timeout=HUB_TIMEOUT_S)
    except OSError as exc:  # no network, DNS failure, timeout, HF_HUB_OFFLINE, HTTP error
        log.debug("Hugging Face Hub not reachable: %s", _first_line(exc))
        return None
    return (meta.size or 0) / 1e6


def _build(onnx: str, hub: ModuleType) -> Any:
    """Run imgbeddings' own loader on `onnx` (the processor comes from the cache or the Hub)."""
    package = _import("imgbeddings")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # its `feature_extractor` is deprecated
            model = package.imgbeddings(model_path=onnx)
    except OSError as exc:  # transformers: a processor file missing (or its download failed)
        raise ModelError(
            f"cannot load the CLIP processor files ({PROCESSOR_REPO}): {_first_line(exc)}; {_how_to_provide(hub)}"
        ) from None
    except Exception as exc:  # onnxruntime refuses the file (its errors have no common base class)
        raise ModelError(f"cannot load the imgbeddings model {onnx}: {_first_line(exc)}") from None
    inputs = [i.name for i in model.session.get_inputs()]
    outputs = {o.name: o.shape for o in model.session.get_outputs()}
    if "pixel_values" not in inputs or "embeddings" not in outputs:
        raise ModelError(
            f"{onnx} is not an imgbeddings model: it takes {inputs} and gives {list(outputs)} "
            "(expected pixel_values -> embeddings)"
        )
    width = outputs["embeddings"][-1]
    if isinstance(width, int) and width != ImgbeddingsEmbedder.dim:
        raise ModelError(f"{onnx} gives {width}-d vectors; imgbeddings' are {ImgbeddingsEmbedder.dim}-d")
    return model


def _import(name: str) -> ModuleType:
    """Import `huggingface_hub` or `imgbeddings` (with transformers), quietly and only when needed."""
    # transformers logs notices on import ("None of PyTorch, TensorFlow >= 2.0, or Flax
    # have been found"; a one-time cache migration): not for facerec's users.
    quiet = [logging.getLogger(n) for n in ("transformers", "transformers.utils.hub")]
    was_disabled = [q.disabled for q in quiet]
    for q in quiet:
        q.disabled = True
    try:
        module = importlib.import_module(name)
        if name == "imgbeddings":
            import transformers

            transformers.logging.set_verbosity_error()
    except ImportError as exc:
        raise ModelError(
            f"the imgbeddings package cannot be imported ({exc}); "
            f"install it with facerec's pins ({PINS}): pip install -e '.[imgbeddings]'"
        ) from None
    finally:
        for q, was in zip(quiet, was_disabled):
            q.disabled = was
    return module


@contextmanager
def _no_network(hub: ModuleType) -> Iterator[None]:
    """Make huggingface_hub (and so transformers) answer from the cache only,
    as HF_HUB_OFFLINE=1 does: no update checks, no waiting on a firewall."""
    import requests

    class NoNetwork(requests.adapters.HTTPAdapter):
        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
            raise hub.utils.OfflineModeIsEnabled(f"facerec: files are cached, not fetching {request.url}")

    def session() -> requests.Session:
        s = requests.Session()
        s.mount("http://", NoNetwork())
        s.mount("https://", NoNetwork())
        return s

    hub.configure_http_backend(backend_factory=session)
    try:
        yield
    finally:
        hub.configure_http_backend()


def _how_to_provide(hub: ModuleType) -> str:
    return (
        f"to provide them, on a machine with internet run `huggingface-cli download {MODEL_REPO} {MODEL_FILE}` "
        f"and `huggingface-cli download {PROCESSOR_REPO} --include '*.json' '*.txt'`, "
        f"copy its ~/.cache/huggingface to {hub.constants.HF_HOME} (or set HF_HOME to the copy); "
        f"or set FACEREC_IMGBEDDINGS_MODEL=/path/to/{MODEL_FILE} (the processor files are still needed in the cache)"
    )


def _missing_message(hub: ModuleType, missing: str) -> str:
    if hub.constants.HF_HUB_OFFLINE:
        why = "HF_HUB_OFFLINE is set"
    else:
        why = f"{hub.constants.ENDPOINT} cannot be reached"
    return (
        f"imgbeddings model not available: {missing} not in the Hugging Face cache "
        f"{hub.constants.HF_HUB_CACHE}, and {why}; {_how_to_provide(hub)}"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
