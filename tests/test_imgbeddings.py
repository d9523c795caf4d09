"""imgbeddings (CLIP, 768-d) end to end, through the imgbeddings package's own
code: its square padding, CLIP image processor, batching and onnxruntime session.

The real model cannot be downloaded here, so the tests build a tiny stand-in
with the same input and output (`pixel_values` -> `embeddings`, 768 numbers)
with the `onnx` helper API, and a Hugging Face cache (a temporary HF_HOME)
holding a CLIP processor constructed locally (`CLIPImageProcessor()`, whose
defaults are CLIP's). The stand-in averages 32x32 patches of the 224x224
input and projects them to 768 numbers at random: its vectors say nothing
about identity, so these tests check plumbing, storage and search, and that
an image embedded twice lands on itself, not accuracy.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from facerec.db import Database
from facerec.db.people import Sample
from facerec.types import Box, Face
from facerec.vision.embedders import EMBEDDERS, normalize
from facerec.vision.images import load_image
from facerec.vision.pipeline import Pipeline
from tests.helpers import CLI, FaceSet, count

MODEL_REPO = "minimaxir/imgbeddings"
MODEL_FILE = "patch32_v1.onnx"
PROCESSOR_REPO = "openai/clip-vit-base-patch32"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
PATCH = 32
GRID = 224 // PATCH


def closed_port() -> int:
    """A local port nothing listens on: connecting fails at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Tiny:
    """The stand-in model and a Hugging Face cache with the CLIP processor files."""

    onnx: Path
    weights: np.ndarray  # (3 * GRID * GRID, 768)
    hf_home: Path
    processor_files: dict[str, bytes]

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for the CLI: this model, this cache, and a Hub that cannot be reached."""
        return {
            "FACEREC_IMGBEDDINGS_MODEL": str(self.onnx),
            "HF_HOME": str(self.hf_home),
            "HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}",
            **extra,
        }


def build_tiny_onnx(path: Path) -> np.ndarray:
    """pixel_values (N, 3, 224, 224) -> 32x32 average pool -> flatten -> MatMul -> embeddings (N, 768).
    The Flatten only fits a 224x224 input: a preprocessing that gave any other size fails."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.random.default_rng(7).standard_normal((3 * GRID * GRID, 768)).astype(np.float32)
    nodes = [
        helper.make_node("AveragePool", ["pixel_values"], ["patches"], kernel_shape=[PATCH] * 2, strides=[PATCH] * 2),
        helper.make_node("Flatten", ["patches"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "weights"], ["embeddings"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_imgbeddings",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, 224, 224])],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", 768])],
        [numpy_helper.from_array(weights, "weights")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return weights


def build_processor(folder: Path) -> dict[str, bytes]:
    """CLIP's processor saved as the Hub repo holds it: the image processor with
    its default (CLIP's) settings, and a tokenizer with a toy vocabulary (the
    processor needs one; imgbeddings never tokenizes)."""
    from transformers import CLIPImageProcessor, CLIPProcessor, CLIPTokenizer

    folder.mkdir(parents=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for letter in "abcdefghijklmnopqrstuvwxyz":
        vocab[letter] = len(vocab)
        vocab[letter + "</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    CLIPProcessor(image_processor=CLIPImageProcessor(), tokenizer=tokenizer).save_pretrained(folder)
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def put_in_cache(hf_home: Path, repo: str, files: dict[str, bytes]) -> None:
    """Lay files out as huggingface_hub's cache does (refs/main -> snapshots/<commit>/)."""
    root = hf_home / "hub" / ("models--" + repo.replace("/", "--"))
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(COMMIT)
    snapshot = root / "snapshots" / COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (snapshot / name).write_bytes(data)
    (hf_home / "hub" / "version.txt").write_text("1")


@pytest.fixture
def cli(cli: CLI) -> CLI:
    """Real processes here: the Hugging Face libraries read HF_HOME and HF_HUB_OFFLINE when
    they are imported, so each test's settings need a process of their own."""
    cli.in_process = False
    return cli


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tiny]:
    """Built once. This process's HF_HOME points at the cache before anything imports
    huggingface_hub (which reads it once), so in-process tests load from it too."""
    if "huggingface_hub" in sys.modules:
        pytest.fail("huggingface_hub was imported before the imgbeddings tests could set HF_HOME")
    root = tmp_path_factory.mktemp("imgbeddings")
    hf_home = root / "hf"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HOME", str(hf_home))
        env.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")  # never the real Hub
        env.delenv("HF_HUB_OFFLINE", raising=False)
        weights = build_tiny_onnx(root / "tiny.onnx")
        files = build_processor(root / "processor")
        put_in_cache(hf_home, PROCESSOR_REPO, files)
        yield Tiny(root / "tiny.onnx", weights, hf_home, files)


def tiny_forward(pixel_values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """What the stand-in model computes, in numpy."""
    n = pixel_values.shape[0]
    patches = pixel_values.reshape(n, 3, GRID, PATCH, GRID, PATCH).mean(axis=(3, 5))
    return patches.reshape(n, -1) @ weights


def square_on_black(rgb: np.ndarray) -> np.ndarray:
    """The crop centred on a black square, as imgbeddings documents it pads."""
    h, w = rgb.shape[:2]
    side = max(h, w)
    out = np.zeros((side, side, 3), np.uint8)
    y, x = (side - h) // 2, (side - w) // 2
    out[y : y + h, x : x + w] = rgb
    return out


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in lines(stdout)]


def assert_one_clean_error(result, *fragments: str) -> None:
    err = lines(result.stderr)
    assert result.returncode == 1, result
    assert len(err) == 1, result.stderr
    for fragment in fragments:
        assert fragment in err[0], err[0]
    assert "Traceback" not in result.stderr


# -- the embedder, in this process --------------------------------------------


def test_faces_go_through_imgbeddings_own_preprocessing_batching_and_session(
    tiny: Tiny, faces: FaceSet, pipeline: Pipeline
):
    import imgbeddings
    import onnxruntime
    from transformers import CLIPImageProcessor

    from facerec.vision.imgbeddings import ImgbeddingsEmbedder

    embedder = ImgbeddingsEmbedder(str(tiny.onnx))
    assert isinstance(embedder.model, imgbeddings.imgbeddings)
    assert isinstance(embedder.model.session, onnxruntime.InferenceSession)
    assert EMBEDDERS["imgbeddings"].dim == embedder.dim == 768

    image = load_image(faces.photo("groups/fr_two_people.jpg")).pixels
    found = pipeline.detect(image)
    assert len(found) == 2
    vectors = embedder.embed(image, found)
    assert vectors.shape == (2, 768) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed(image, []).shape == (0, 768)

    # The crop is the detector's box exactly, in RGB.
    crop = embedder.crop(image, found[0])
    assert crop.mode == "RGB" and crop.size == (found[0].box.w, found[0].box.h)

    # What the model saw is CLIP's processing of the crop padded square on black,
    # without centre crop: the package's path, checked against an independent one.
    squares = [square_on_black(np.asarray(embedder.crop(image, f))) for f in found]
    pixels = CLIPImageProcessor(do_center_crop=False)(images=squares, return_tensors="np")["pixel_values"]
    assert np.allclose(vectors, normalize(tiny_forward(pixels, tiny.weights)), atol=1e-4)

    # imgbeddings' batch loop (one face per batch here) gives the same vectors.
    embedder.batch_size = 1
    assert np.allclose(embedder.embed(image, found), vectors, atol=1e-6)


def test_without_a_setting_the_model_is_found_in_the_hugging_face_cache(tiny: Tiny):
    from facerec.vision.imgbeddings import load_model

    hub = tiny.hf_home / "hub"
    # Where `huggingface-cli download minimaxir/imgbeddings patch32_v1.onnx` puts it,
    put_in_cache(tiny.hf_home, MODEL_REPO, {MODEL_FILE: tiny.onnx.read_bytes()})
    try:
        assert load_model("").model_path == str(hub_file(tiny.hf_home, MODEL_REPO, MODEL_FILE))
    finally:
        shutil.rmtree(hub / "models--minimaxir--imgbeddings")
    # and where imgbeddings' own download left it.
    shutil.copy(tiny.onnx, hub / MODEL_FILE)
    try:
        assert load_model("").model_path == str(hub / MODEL_FILE)
    finally:
        (hub / MODEL_FILE).unlink()


# -- storage and search ---------------------------------------------------------


def test_768_d_searches_use_their_own_partial_hnsw_index(db: Database, tmp_path: Path):
    rng = np.random.default_rng(1)
    samples = [
        Sample(
            picture=str(tmp_path / f"{i}.jpg"),
            source="file",
            sha256=None,
            width=100,
            height=100,
            face=Face(Box(10, 10, 50, 50), 0.9),
            embedding=normalize(rng.standard_normal((1, 768)))[0],
            model="imgbeddings",
        )
        for i in range(3)
    ]
    db.stores("imgbeddings", 768).people.add_samples("someone", samples)
    query = [normalize(rng.standard_normal((1, 768)))[0], samples[0].embedding]
    # Once autovacuum has analyzed `faces`, a seq scan wins on three rows; the
    # question here is whether the query can use the index, so take that choice away.
    with db.transaction() as cur:
        cur.execute("SET enable_seqscan = off")
    try:
        plan = db.stores("imgbeddings", 768).people.explain_nearest(query)
    finally:
        with db.transaction() as cur:
            cur.execute("RESET enable_seqscan")
    assert "Index Scan using faces_imgbeddings_people_hnsw" in plan, plan
    assert "Seq Scan on faces" not in plan
    found = db.stores("imgbeddings", 768).people.nearest(query)
    assert found[1][0].name == "someone" and found[1][0].distance < 1e-5
    assert db.stores("sface", 128).people.nearest([np.eye(128, dtype=np.float32)[0]]) == [[]]


def test_register_and_recognize_store_768_d_vectors_beside_sface_and_never_mix_them(
    cli: CLI, faces: FaceSet, db: Database, tiny: Tiny
):
    people = faces.people()
    obama, biden, kit = people["barack_obama"][0], people["joe_biden"][0], people["kit_harington"][0]
    env = tiny.env()
    assert cli("register", "kit", str(kit), **env).returncode == 0  # SFace (the default) only
    r = cli("--embedder", "imgbeddings", "register", "obama", str(obama), **env)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no notices from transformers or onnxruntime
    r = cli("register", "biden", str(biden), FACEREC_EMBEDDER="imgbeddings", **env)
    assert r.returncode == 0, r.stderr

    assert count(db, "SELECT count(*) FROM faces WHERE model = 'imgbeddings' AND vector_dims(embedding) = 768") == 2
    assert count(db, "SELECT count(*) FROM faces WHERE model = 'sface' AND vector_dims(embedding) = 128") == 1
    assert count(db, "SELECT count(*) FROM faces") == 3

    r = cli("--json", "--embedder", "imgbeddings", "recognize", str(obama), str(kit), **env)
    assert r.returncode == 0, r.stderr
    by_image = {rec["image"]: rec for rec in records(r.stdout)}
    assert by_image[str(obama)]["name"] == "obama" and by_image[str(obama)]["distance"] < 1e-4
    assert by_image[str(kit)]["name"] != "kit"  # kit has SFace vectors only: never compared

    # And SFace searches never see the imgbeddings rows.
    r = cli("--json", "recognize", str(obama), str(kit), **env)
    by_image = {rec["image"]: rec for rec in records(r.stdout)}
    assert by_image[str(obama)]["name"] is None and by_image[str(kit)]["name"] == "kit"

    r = cli("--json", "--embedder", "imgbeddings", "users", "list", **env)
    assert {rec["name"]: rec["samples"] for rec in records(r.stdout)} == {"biden": 1, "kit": 0, "obama": 1}
    r = cli("--json", "--embedder", "imgbeddings", "embed", str(obama), **env)
    (rec,) = records(r.stdout)
    assert rec["model"] == "imgbeddings" and len(rec["embedding"]) == 768


# -- a missing model --------------------------------------------------------------


@pytest.mark.parametrize(
    "case, fragments",
    [
        ("offline", ["imgbeddings model not available", "HF_HUB_OFFLINE is set"]),
        ("unreachable", ["imgbeddings model not available", "cannot be reached"]),
        ("no such file", ["FACEREC_IMGBEDDINGS_MODEL=", "no such file"]),
        ("not a model", ["cannot load the imgbeddings model", "INVALID_PROTOBUF"]),
    ],
)
def test_a_missing_model_is_one_clear_line_and_exit_1(
    cli: CLI, faces: FaceSet, db: Database, tiny: Tiny, tmp_path: Path, case: str, fragments: list[str]
):
    empty = {"HF_HOME": str(tmp_path / "empty-hf"), "HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}"}
    text = tmp_path / "notes.onnx"
    text.write_text("not a model")
    env = {
        "offline": {**empty, "HF_HUB_OFFLINE": "1"},
        "unreachable": empty,
        "no such file": tiny.env(FACEREC_IMGBEDDINGS_MODEL=str(tmp_path / "nope.onnx")),
        "not a model": tiny.env(FACEREC_IMGBEDDINGS_MODEL=str(text)),
    }[case]
    photos = [str(p) for p in faces.people()["barack_obama"][:2]]
    started = time.monotonic()
    r = cli("--embedder", "imgbeddings", "recognize", *photos, **env)
    assert time.monotonic() - started < 30
    assert_one_clean_error(r, *fragments)
    if case in ("offline", "unreachable"):
        assert f"huggingface-cli download {MODEL_REPO} {MODEL_FILE}" in r.stderr
        assert "FACEREC_IMGBEDDINGS_MODEL=/path/to/patch32_v1.onnx" in r.stderr
        assert str(tmp_path / "empty-hf") in r.stderr
    r = cli("--embedder", "imgbeddings", "register", "obama", *photos, **env)
    assert_one_clean_error(r, *fragments)
    assert count(db, "SELECT count(*) FROM faces") == 0


@pytest.mark.slow
def test_a_hub_that_never_answers_fails_within_the_timeout(cli: CLI, faces: FaceSet, tmp_path: Path):
    from facerec.vision.imgbeddings import HUB_TIMEOUT_S

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections, never answers
        port = silent.getsockname()[1]
        started = time.monotonic()
        r = cli(
            "--embedder",
            "imgbeddings",
            "recognize",
            str(faces.people()["barack_obama"][0]),
            HF_HOME=str(tmp_path / "empty-hf"),
            HF_ENDPOINT=f"http://127.0.0.1:{port}",
        )
        elapsed = time.monotonic() - started
    assert_one_clean_error(r, "cannot be reached")
    assert HUB_TIMEOUT_S <= elapsed < HUB_TIMEOUT_S + 15


# -- first use with a network -----------------------------------------------------


@dataclass
class FakeHub:
    """Serves files as huggingface.co does for huggingface_hub (HEAD + GET on
    /<repo>/resolve/<revision>/<file>); records every request."""

    files: dict[str, dict[str, bytes]]
    requests: list[str] = field(default_factory=list)

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                hub.requests.append(f"{self.command} {self.path}")
                parts = self.path.split("?")[0].strip("/").split("/")
                data = None
                if len(parts) >= 5 and parts[2] == "resolve":
                    data = hub.files.get(f"{parts[0]}/{parts[1]}", {}).get("/".join(parts[4:]))
                if data is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("X-Repo-Commit", COMMIT)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{abs(hash(data))}"')
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def fake_hub(tiny: Tiny) -> Iterator[tuple[FakeHub, str]]:
    hub = FakeHub({MODEL_REPO: {MODEL_FILE: tiny.onnx.read_bytes()}, PROCESSOR_REPO: tiny.processor_files})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), hub.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hub, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_first_use_downloads_once_and_later_runs_make_no_connection(
    cli: CLI, faces: FaceSet, fake_hub: tuple[FakeHub, str], tmp_path: Path
):
    hub, url = fake_hub
    env = {"HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": url}
    photo = str(faces.people()["barack_obama"][0])
    r = cli("--json", "--embedder", "imgbeddings", "embed", photo, **env)
    assert r.returncode == 0, r.stderr
    assert len(records(r.stdout)[0]["embedding"]) == 768
    (notice,) = lines(r.stderr)
    size_mb = os.path.getsize(hub_file(tmp_path / "hf", MODEL_REPO, MODEL_FILE)) / 1e6
    assert f"downloading {MODEL_FILE} ({size_mb:.1f} MB)" in notice
    assert f"once into {tmp_path / 'hf' / 'hub'}" in notice
    assert any(MODEL_FILE in req for req in hub.requests)
    assert any("preprocessor_config.json" in req for req in hub.requests)

    asked = len(hub.requests)
    r = cli("--json", "--embedder", "imgbeddings", "embed", photo, **env)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert len(hub.requests) == asked  # everything came from the cache


def hub_file(hf_home: Path, repo: str, filename: str) -> Path:
    snapshots = hf_home / "hub" / ("models--" + repo.replace("/", "--")) / "snapshots"
    (path,) = snapshots.glob(f"*/{filename}")
    return path


# -- reembed ----------------------------------------------------------------------


def test_reembed_gives_every_stored_face_the_other_model_and_keeps_everyone_searchable(
    cli: CLI, faces: FaceSet, db: Database, tiny: Tiny, settings, tmp_path: Path
):
    people = faces.people()
    env = tiny.env()
    for name, photos in (
        ("obama", people["barack_obama"][:1]),
        ("biden", people["joe_biden"][:1]),
        ("angelina", people["deepface_angelina"][:2]),
    ):
        assert cli("register", name, *map(str, photos), **env).returncode == 0
    # A registration whose photo and crop are both gone,
    gone = tmp_path / "gone.jpg"
    gone.write_bytes(people["kit_harington"][0].read_bytes())
    assert cli("register", "kit", str(gone), **env).returncode == 0
    gone.unlink()
    (settings.data_dir / crop_of(db, "kit")[0]).unlink()
    # and one whose crop is gone but whose photo is still there.
    (settings.data_dir / crop_of(db, "angelina")[1]).unlink()
    assert count(db, "SELECT count(*) FROM faces WHERE model = 'sface'") == 5

    r = cli("--embedder", "imgbeddings", "reembed", **env)
    assert r.returncode == 1, r.stderr  # one face skipped
    assert "imgbeddings: 4 vector(s) added, 1 face(s) skipped" in r.stdout
    assert f"skipped {gone}: no longer exists" in r.stderr
    # Each new row is its SFace twin's face: same picture, person, box, landmarks, score, crop.
    twins = count(
        db,
        "SELECT count(*) FROM faces s JOIN faces i ON i.picture_id = s.picture_id AND i.box = s.box"
        " AND i.person_id = s.person_id AND i.landmarks = s.landmarks AND i.score = s.score"
        " AND i.crop IS NOT DISTINCT FROM s.crop"
        " WHERE s.model = 'sface' AND i.model = 'imgbeddings' AND vector_dims(i.embedding) = 768",
    )
    assert twins == 4

    r = cli("--json", "--embedder", "imgbeddings", "reembed", **env)  # a second run adds nothing
    assert records(r.stdout)[-1] == {"model": "imgbeddings", "added": 0, "skipped": 1}
    assert count(db, "SELECT count(*) FROM faces WHERE model = 'imgbeddings'") == 4

    # Every person is found again from the very pixels that were re-embedded: the
    # stored crop (detected again) or, for angelina's second sample, the photo.
    sources = [(name, settings.data_dir / crop_of(db, name)[0]) for name in ("obama", "biden", "angelina")]
    sources.append(("angelina", people["deepface_angelina"][1]))
    r = cli("--json", "--embedder", "imgbeddings", "recognize", *(str(p) for _, p in sources), **env)
    assert r.returncode == 0, r.stderr
    found = records(r.stdout)
    for name, path in sources:
        main = max((rec for rec in found if rec["image"] == str(path)), key=lambda rec: rec["box"][2] * rec["box"][3])
        assert main["name"] == name and main["distance"] < 1e-4, (name, main)

    # The other way: someone registered with imgbeddings only gets SFace vectors,
    # and real SFace then recognizes them in another photo.
    assert cli("--embedder", "imgbeddings", "register", "jack", str(people["deepface_jack"][0]), **env).returncode == 0
    r = cli("reembed", **env)
    assert r.returncode == 0 and "sface: 1 vector(s) added, 0 face(s) skipped" in r.stdout  # kit has SFace already
    r = cli("--json", "recognize", str(people["deepface_jack"][1]), **env)
    assert [rec["name"] for rec in records(r.stdout)] == ["jack"]


def crop_of(db: Database, name: str) -> list[str]:
    """The registration crops of `name`, in the order the samples were stored."""
    with db.transaction() as cur:
        cur.execute(
            "SELECT f.crop FROM faces f JOIN people p ON p.id = f.person_id WHERE p.name = %s ORDER BY f.id", (name,)
        )
        return [row[0] for row in cur.fetchall()]


def test_with_the_model_file_given_only_the_processor_files_are_downloaded(
    cli: CLI, faces: FaceSet, fake_hub: tuple[FakeHub, str], tiny: Tiny, tmp_path: Path
):
    hub, url = fake_hub
    env = {"HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": url, "FACEREC_IMGBEDDINGS_MODEL": str(tiny.onnx)}
    r = cli("--json", "--embedder", "imgbeddings", "embed", str(faces.people()["joe_biden"][0]), **env)
    assert r.returncode == 0, r.stderr
    (notice,) = lines(r.stderr)
    assert f"downloading the CLIP processor files ({PROCESSOR_REPO}) once" in notice
    assert not any(MODEL_FILE in req for req in hub.requests)
