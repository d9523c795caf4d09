"""The package as users get it: a wheel that carries its models, schema and cascade,
and that runs from any folder with nothing of this checkout on the path."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from facerec.version import __version__
from tests.helpers import CLI, PROJECT, FaceSet

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(PROJECT)],
        check=True,
        capture_output=True,
        text=True,
    )
    (built,) = out.glob("facerec-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    return target


def test_the_wheel_carries_the_models_with_their_licences_the_schema_and_the_cascade(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    for model in ("face_detection_yunet_2023mar.onnx", "face_recognition_sface_2021dec.onnx"):
        assert f"facerec/vision/models/{model}" in names
    assert {
        "facerec/vision/models/LICENSE-face_detection_yunet",
        "facerec/vision/models/LICENSE-face_recognition_sface",
    } <= names
    assert "facerec/vision/models/haarcascade_frontalface_default.xml" in names
    schema = sorted(p.name for p in (PROJECT / "sql").glob("*.sql"))
    assert schema and all(f"facerec/db/sql/{name}" in names for name in schema)
    assert not any(n.startswith(("tests/", "bench/", "sql/")) for n in names)
    web = [
        p.relative_to(PROJECT).as_posix()
        for d in ("templates", "static")
        for p in (PROJECT / "facerec/web" / d).iterdir()
    ]
    assert web and set(web) <= names  # the web page's templates, CSS and JavaScript
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert re.search(r"^facerec = facerec\.ui\.cli:main$", text, re.M), text


def test_the_installed_package_runs_from_any_folder(installed: Path, cli: CLI, faces: FaceSet, tmp_path: Path):
    env = {**cli.env, "PYTHONPATH": str(installed)}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), capture_output=True, text=True, env=env, cwd=elsewhere, timeout=120)

    where = run(sys.executable, "-c", "import facerec.resources as r; print(r.sql_dir()); print(r.haar_cascade())")
    assert where.stdout.splitlines() == [
        str(installed / "facerec" / "db" / "sql"),
        str(installed / "facerec" / "vision" / "models" / "haarcascade_frontalface_default.xml"),
    ], where.stderr
    version = run(sys.executable, "-m", "facerec", "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"facerec {__version__}"

    script = installed / "bin" / "facerec"
    photo = str(faces.people()["barack_obama"][0])
    registered = run(str(script), "--detector", "haar", "register", "obama", photo, "--largest")
    assert registered.returncode == 0, registered.stderr
    users = run(str(script), "users")
    assert users.returncode == 0 and "obama" in users.stdout, users.stderr
    assert run(sys.executable, "-m", "facerec", "users").stdout == users.stdout
    assert os.path.isfile(script)


def test_the_readme_api_example_runs_as_written(cli: CLI, faces: FaceSet, tmp_path: Path):
    readme = (PROJECT / "README.md").read_text()
    match = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", readme, re.S)
    assert match, "the README's API example is marked <!-- api-example -->"
    (tmp_path / "obama.jpg").write_bytes(faces.people()["barack_obama"][0].read_bytes())
    (tmp_path / "group.jpg").write_bytes(faces.photo("groups/fr_two_people.jpg").read_bytes())
    (tmp_path / "example.py").write_text(match.group(1))
    env = {**cli.env, "PYTHONPATH": str(PROJECT)}
    r = subprocess.run(
        [sys.executable, "example.py"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "2 faces in group.jpg"
    distances = [float(v) for v in re.findall(r"[\d.]+", lines[1])]
    assert len(distances) == 2 and min(distances) < 0.3 < 0.6 < max(distances)
    assert lines[2].startswith("Barack Obama 0.") and lines[3].startswith("Unknown 0."), lines
