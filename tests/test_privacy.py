"""Privacy and security (issue 6): erasure, no network, private files, `.env`,
and SQL that never contains user text."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from dotenv import dotenv_values

from facerec.config import Settings, load_settings
from facerec.db import Database
from facerec.db.server import EmbeddedServer
from facerec.errors import DatabaseError
from facerec.types import Box
from facerec.ui.sheets import Tile, make_sheet
from facerec.usecases.context import Context
from facerec.usecases.library.index import index_folders
from facerec.usecases.library.recognize import largest, recognize_photo
from facerec.usecases.live.live import save_snapshot
from facerec.usecases.people.register import register_frames, register_photos
from facerec.vision.images import load_image
from facerec.vision.pipeline import Pipeline
from tests.helpers import CLI, PROJECT, FaceSet, count

# -- erasure -----------------------------------------------------------------------------


def files_of(db: Database, settings: Settings, person_id: int) -> list[Path]:
    """Every file the database links to a person: sample crops and camera captures."""
    with db.transaction() as cur:
        cur.execute(
            "SELECT f.crop FROM faces f WHERE f.person_id = %s AND f.crop IS NOT NULL"
            " UNION SELECT p.picture FROM faces f JOIN pictures p ON p.id = f.picture_id"
            " WHERE f.person_id = %s AND p.source = 'capture'",
            (person_id, person_id),
        )
        return sorted({settings.data_dir / r[0] for r in cur.fetchall()})


def frame_sample(pipeline: Pipeline, photo: Path) -> tuple:
    pixels = load_image(photo).pixels
    return pixels, largest(pipeline.analyze(pixels))


def test_deleting_a_person_removes_every_embedding_capture_and_crop_of_them(
    cli: CLI, ctx: Context, db: Database, settings: Settings, faces: FaceSet, pipeline: Pipeline, tmp_path: Path
):
    people = faces.people()
    ada, bob = people["deepface_angelina"], people["barack_obama"]
    # Ada is everywhere: two photo samples, a camera capture, a face of an indexed
    # library photo, and a vector of a second model.
    register_photos(ctx, "Ada", ada[:2])
    register_frames(ctx, "Ada", [frame_sample(pipeline, ada[2])])
    library = tmp_path / "library"
    library.mkdir()
    shutil.copy(ada[3], library / "party.jpg")
    shutil.copy(bob[1], library / "speech.jpg")
    index_folders(ctx, workers=1, folders=[library])
    register_photos(ctx, "Ada", [library / "party.jpg"])  # names her face in the library photo
    flipped = dataclasses.replace(settings, embedder="sface-flip")
    flip = Context(flipped, db=db, pipeline=Pipeline.load("yunet", "sface-flip"))
    register_photos(flip, "Ada", [ada[0]])
    # Bob must keep everything.
    register_photos(ctx, "Bob", [bob[0]])
    register_frames(ctx, "Bob", [frame_sample(pipeline, bob[2])])

    people = db.stores("sface", 128).people
    ada_id, bob_id = people.person_id("Ada"), people.person_id("Bob")
    ada_files, bob_files = files_of(db, settings, ada_id), files_of(db, settings, bob_id)
    assert count(db, "SELECT count(*) FROM faces WHERE person_id = %s", ada_id) == 5
    assert count(db, "SELECT count(DISTINCT model) FROM faces WHERE person_id = %s", ada_id) == 2
    assert len(ada_files) == 5 and all(f.exists() for f in ada_files)
    bob_faces = count(db, "SELECT count(*) FROM faces WHERE person_id = %s", bob_id)

    r = cli("users", "delete", "Ada", "--yes")
    assert r.returncode == 0, r.stderr
    assert "removed 5 stored face crops; your photos were not touched" in r.stdout

    assert count(db, "SELECT count(*) FROM people WHERE name = 'Ada'") == 0
    assert count(db, "SELECT count(*) FROM faces WHERE person_id = %s", ada_id) == 0
    assert count(db, "SELECT count(*) FROM face_not_person WHERE person_id = %s", ada_id) == 0
    keys = [str(f.relative_to(settings.data_dir)) for f in ada_files] + [str(f) for f in ada_files]
    assert count(db, "SELECT count(*) FROM faces WHERE crop = ANY(%s)", keys) == 0
    assert count(db, "SELECT count(*) FROM pictures WHERE picture = ANY(%s)", keys) == 0
    assert [f for f in ada_files if f.exists()] == []
    # Her face is gone from the library photo too; the photo itself stays indexed.
    party = str(library / "party.jpg")
    in_party = "SELECT count(*) FROM faces f JOIN pictures p ON p.id = f.picture_id WHERE p.picture = %s"
    assert count(db, in_party, party) == 0
    assert count(db, "SELECT count(*) FROM pictures WHERE picture = %s AND indexed_at IS NOT NULL", party) == 1
    # Nobody else lost anything.
    assert count(db, "SELECT count(*) FROM faces WHERE person_id = %s", bob_id) == bob_faces
    assert all(f.exists() for f in bob_files)
    assert sorted(settings.captures_dir.iterdir()) == bob_files
    (rec,) = recognize_photo(ctx, ada[1]).faces
    assert rec.name is None


# -- no network --------------------------------------------------------------------------


def _inet_socket_inodes() -> set[str]:
    inodes = set()
    for table in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        path = Path("/proc/net") / table
        if path.exists():
            for line in path.read_text().splitlines()[1:]:
                inodes.add(line.split()[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry.name))
    return kids


def test_the_embedded_server_has_no_network_socket_only_its_unix_socket(db: Database, settings: Settings):
    with db.transaction() as cur:
        cur.execute("SHOW listen_addresses")
        assert cur.fetchone()[0] == ""
    postmaster = int((settings.pgdata / "postmaster.pid").read_text().split()[0])
    processes = [postmaster, *_children(postmaster)]
    sockets = set().union(*(_socket_inodes(pid) for pid in processes))
    assert sockets, "the server's sockets should be visible"
    assert sockets & _inet_socket_inodes() == set()
    unix = [line.split() for line in Path("/proc/net/unix").read_text().splitlines()[1:]]
    listening = [f[-1] for f in unix if len(f) == 8 and f[-2] in sockets]
    assert any(path.endswith("/.s.PGSQL.5432") for path in listening), listening


@pytest.fixture
def strace() -> str:
    path = shutil.which("strace")
    if path is None:
        reason = "strace is not installed (apt-get install strace)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " - required under CI")
        pytest.skip(reason)
    return path


@pytest.mark.slow
def test_register_recognize_and_index_open_no_network_connection(cli: CLI, strace: str, faces: FaceSet, tmp_path: Path):
    photos = faces.people()["barack_obama"]
    library = tmp_path / "library"
    library.mkdir()
    for p in photos[1:3]:
        shutil.copy(p, library / p.name)
    # As a user runs it: libraries that phone home stay quiet under CI (OpenVINO's
    # telemetry does), so the CI markers are removed; a fresh HOME shows what is left behind.
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in cli.env.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")} | {"HOME": str(home)}
    calls = []
    for args in (["register", "obama", str(photos[0])], ["recognize", str(photos[3])], ["index", str(library)]):
        log = tmp_path / f"{args[0]}.strace"
        r = subprocess.run(
            [strace, "-f", "-qq", "-e", "trace=connect,bind,sendto,sendmsg", "-e", "signal=none", "-o", str(log),
             sys.executable, str(PROJECT / "face_recognition.py"), *args],
            capture_output=True, text=True, env=env, cwd=cli.cwd, timeout=180,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        calls += log.read_text().splitlines()
    assert [c for c in calls if "AF_INET" in c] == []  # AF_INET and AF_INET6
    assert any("AF_UNIX" in c and ".s.PGSQL.5432" in c for c in calls), "the database socket should show up"
    assert list(home.rglob("*")) == []  # e.g. no ~/intel/openvino_ga_cid telemetry id


# -- private files ---------------------------------------------------------------------------


def _modes(root: Path) -> dict[Path, int]:
    out = {root: stat.S_IMODE(root.lstat().st_mode)}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            out[path] = stat.S_IMODE(path.lstat().st_mode)
    return out


def test_everything_in_the_data_directory_is_private_to_the_user(
    ctx: Context, settings: Settings, faces: FaceSet, pipeline: Pipeline, tmp_path: Path
):
    photos = faces.people()["barack_obama"]
    register_photos(ctx, "obama", photos[:1])
    pixels, face = frame_sample(pipeline, photos[1])
    register_frames(ctx, "obama", [(pixels, face)])
    save_snapshot(ctx, pixels, 7)
    modes = _modes(settings.data_dir)
    assert {p.name for p in settings.data_dir.iterdir()} >= {"pgdata", "captures", "snapshots"}
    assert len(list(settings.captures_dir.iterdir())) == 2 and len(list(settings.snapshots_dir.iterdir())) == 1
    # The data directory is 0700, or 0711 as root: the `facerec` database user
    # may pass through to pgdata, but nobody else may list or read anything.
    assert modes.pop(settings.data_dir) == (0o711 if os.geteuid() == 0 else 0o700)
    leaks = {str(p): oct(m) for p, m in modes.items() if m & 0o077}
    assert leaks == {}
    for sub in ("captures", "snapshots", "pgdata"):
        assert modes[settings.data_dir / sub] == 0o700, sub
    for f in [*settings.captures_dir.iterdir(), *settings.snapshots_dir.iterdir()]:
        assert modes[f] == 0o600, f


def test_a_data_directory_made_for_crops_alone_is_private_even_with_umask_0(
    db: Database, faces: FaceSet, pipeline: Pipeline, tmp_path: Path
):
    """With DATABASE_URL set, the embedded server never creates the data directory:
    the first crop or snapshot does."""
    data = tmp_path / "home" / "facerec"
    settings = load_settings({"FACEREC_DATA_DIR": str(data)}, dotenv_path=tmp_path / "none")
    ctx = Context(settings, db=db, pipeline=pipeline)
    photo = faces.people()["barack_obama"][0]
    old = os.umask(0)
    try:
        register_photos(ctx, "obama", [photo])
        save_snapshot(ctx, load_image(photo).pixels, 0)
        sheet = make_sheet([Tile(str(photo), Box(1, 1, 50, 50), "x")], data / "sheet.jpg")
    finally:
        os.umask(old)
    modes = _modes(tmp_path / "home")
    assert {str(p): oct(m) for p, m in modes.items() if m & 0o077} == {}
    assert modes[sheet.path] == 0o600


# -- .env -------------------------------------------------------------------------------


def test_dotenv_is_read_and_never_written(cli: CLI, faces: FaceSet):
    dotenv = cli.cwd / ".env"
    content = b"# my settings\nFACEREC_THRESHOLD=2.0\nFACEREC_LOG_LEVEL=WARNING\n"
    dotenv.write_bytes(content)
    past = time.time() - 3600
    os.utime(dotenv, (past, past))
    photos = faces.people()["barack_obama"]
    assert cli("register", "obama", str(photos[0])).returncode == 0
    stranger = cli("--json", "recognize", str(faces.photo("distractors/amy_adams.jpg")))
    assert json.loads(stranger.stdout)["name"] == "obama"  # threshold 2 from .env: it was read
    for args in (["users"], ["index", str(photos[0].parent)], ["users", "rename", "obama", "Barack"]):
        assert cli(*args).returncode == 0
    assert dotenv.read_bytes() == content
    assert dotenv.stat().st_mtime == past
    assert os.listdir(cli.cwd) == [".env"]  # nothing else written where facerec runs


def test_dotenv_example_holds_no_secret():
    example = PROJECT / ".env.example"
    assert dotenv_values(example) == {}  # every setting is commented out
    text = example.read_text()
    urls = re.findall(r"postgres(?:ql)?://\S+", text)
    assert urls, "the example shows the shape of a DATABASE_URL"
    for url in urls:
        assert urlsplit(url).password in (None, "YOUR-PASSWORD"), url
    assert not re.search(r"AVNS_\w+|sk-\w{20,}|[0-9a-f]{32,}", text)  # no token-shaped strings


def test_the_embedded_database_accepts_no_password_login_from_the_network(settings: Settings, db: Database):
    hba = (settings.pgdata / "pg_hba.conf").read_text()
    rules = [line.split() for line in hba.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert all(rule[0] == "local" or rule[-1] == "reject" for rule in rules), rules


# -- SQL never contains user text -----------------------------------------------------------------


def _formatted(node: ast.expr) -> bool:
    """An f-string, `%` / `+` on a string, or `"...".format(...)`: SQL built from values."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return any(isinstance(side, ast.Constant | ast.JoinedStr) for side in (node.left, node.right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return isinstance(node.func.value, ast.Constant)
    return False


def test_sql_is_only_in_the_store_and_never_built_from_values():
    runs_sql: dict[str, list[int]] = {}
    for path in sorted((PROJECT / "facerec").rglob("*.py")):
        source = path.relative_to(PROJECT / "facerec")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("execute", "executemany", "mogrify", "execute_values"):
                runs_sql.setdefault(source.as_posix(), []).append(node.lineno)
                query = node.args[1 if name == "execute_values" else 0]
                assert not _formatted(query), f"{source}:{node.lineno}: SQL built by string formatting"
    outside = sorted(f for f in runs_sql if not f.startswith("db/"))
    assert outside == [], f"SQL outside facerec/db/: {outside}"
    assert sum(map(len, runs_sql.values())) > 50


def test_a_guessable_socket_folder_made_by_someone_else_is_refused(tmp_path: Path):
    """A data directory path too long for a Unix socket puts the socket in /tmp,
    under a name anyone can compute: one that already exists and is not ours is refused."""
    data = tmp_path / ("long-" * 20)
    pgdata = data / "pgdata"
    tag = hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]
    planted = Path(tempfile.gettempdir()) / f"facerec-{os.getuid()}-{tag}"
    planted.mkdir(mode=0o700)
    try:
        if os.geteuid() == 0:
            os.chown(planted, 65534, 65534)  # made by `nobody`
        else:
            planted.chmod(0o777)  # writable by anyone
        settings = load_settings({"FACEREC_DATA_DIR": str(data)}, dotenv_path=tmp_path / "none")
        with pytest.raises(DatabaseError, match="the database socket's folder\\) is not private to you; remove it"):
            Database.open(settings)
        assert not EmbeddedServer(data).is_running()
    finally:
        planted.rmdir()
