"""Settings, read once from the environment and an optional `.env` file.

This is the only module that reads `os.environ`. Everything else receives a
`Settings` object. Precedence: command-line options (applied by the CLI with
`dataclasses.replace`) > environment variables > `.env` in the current
directory > defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from facerec.errors import ConfigError

DEFAULT_DETECTOR = "yunet"
DEFAULT_DETECT_SIZE = 640
DEFAULT_EMBEDDER = "sface"
DEFAULT_RUNTIME = "openvino"
RUNTIMES = ("openvino", "opencv")

# The People view (facerec.usecases.groups.grouping); measured effects in the README. The
# grouping distance and the blur gate are the embedder's (facerec.vision.embedders):
# their settings are None unless set.
DEFAULT_PEOPLE_MIN_FACES = 2
DEFAULT_PEOPLE_MIN_FACE_PX = 40
DEFAULT_PEOPLE_MIN_SCORE = 0.85

# `facerec watch` (facerec.usecases.library.watch): a file is indexed once its size and
# modification time have not changed for the settle time (a copy in progress is not a photo
# yet); when the system refuses file watches (inotify limits), the folders are indexed
# again every poll interval instead.
DEFAULT_WATCH_SETTLE_S = 2.0
DEFAULT_WATCH_POLL_S = 300.0


def default_data_dir(env: dict[str, str]) -> Path:
    """Per-user data directory: `$XDG_DATA_HOME/facerec` or `~/.local/share/facerec`."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "facerec"


@dataclass(frozen=True)
class Settings:
    """Everything the program can be configured with.

    `database_url` empty means: use the embedded PostgreSQL kept in `data_dir`.
    `threshold` is a cosine *distance* (1 - cosine similarity); `None` means the
    embedder's calibrated default (see `facerec.embedders`). `display` is the
    X11 display windows open on (`DISPLAY`; OpenCV's Qt windows need X11 or
    XWayland); empty means no window can be opened. `runtime` runs the face
    networks (`openvino` or `opencv`, see `facerec.vision.runtime`).

    The People view (`facerec.usecases.groups.grouping`): faces closer than
    `people_max_distance` (cosine; None: the embedder's `group_distance`) are
    linked when grouping; groups with fewer than `people_min_faces` faces are
    not listed. The quality gates keep a face out of the groups (it stays
    searchable) when its box is narrower or lower than `people_min_face_px`
    pixels, its aligned crop is less sharp than `people_min_sharpness` (None:
    the embedder's blur gate), or its detector score is under
    `people_min_score` (0..1; YuNet keeps faces from 0.8).

    `facerec watch`: a changed file is indexed once it has not changed for
    `watch_settle_s` seconds; without file system events (the system refused
    the watches) the folders are indexed again every `watch_poll_s` seconds.
    """

    database_url: str = ""
    data_dir: Path = field(default_factory=lambda: default_data_dir({}))
    detector: str = DEFAULT_DETECTOR
    embedder: str = DEFAULT_EMBEDDER
    threshold: float | None = None
    camera: str = "0"
    log_level: str = "WARNING"
    imgbeddings_model: str = ""
    detect_size: int = DEFAULT_DETECT_SIZE
    runtime: str = DEFAULT_RUNTIME
    display: str = ""
    people_max_distance: float | None = None
    people_min_faces: int = DEFAULT_PEOPLE_MIN_FACES
    people_min_face_px: int = DEFAULT_PEOPLE_MIN_FACE_PX
    people_min_sharpness: float | None = None
    people_min_score: float = DEFAULT_PEOPLE_MIN_SCORE
    watch_settle_s: float = DEFAULT_WATCH_SETTLE_S
    watch_poll_s: float = DEFAULT_WATCH_POLL_S

    @property
    def pgdata(self) -> Path:
        """Where the embedded PostgreSQL keeps its files."""
        return self.data_dir / "pgdata"

    @property
    def captures_dir(self) -> Path:
        """Registration captures (face images taken from the camera)."""
        return self.data_dir / "captures"

    @property
    def snapshots_dir(self) -> Path:
        """Snapshots saved from the live window."""
        return self.data_dir / "snapshots"


def _float_or_none(name: str, value: str | None) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {value!r}") from None


def _size(name: str, value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        size = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of pixels, got {value!r}") from None
    if not 160 <= size <= 4096:
        raise ConfigError(f"{name} must be between 160 and 4096 pixels, got {size}")
    return size


def _number(name: str, value: str | None, default: float | None, low: float, high: float) -> float | None:
    """A number setting between `low` and `high`, or `default` when unset."""
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return number


def _number_or(name: str, value: str | None, default: float, low: float, high: float) -> float:
    """`_number` with a default: never None."""
    number = _number(name, value, default, low, high)
    return default if number is None else number


def _count(name: str, value: str | None, default: int, low: int, high: int) -> int:
    """A whole-number setting between `low` and `high`, or `default` when unset."""
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {number}")
    return number


def _choice(name: str, value: str | None, choices: tuple[str, ...], default: str) -> str:
    chosen = (value or "").strip().lower() or default
    if chosen not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return chosen


def load_settings(env: dict[str, str] | None = None, dotenv_path: Path | None = None) -> Settings:
    """Build `Settings` from `env` (default: `os.environ`) layered over `.env`.

    `.env` is only ever read, never written. Pass `env` explicitly in tests.
    """
    if env is None:
        env = dict(os.environ)
    path = dotenv_path if dotenv_path is not None else Path.cwd() / ".env"
    merged: dict[str, str] = {}
    try:
        if path.is_file():
            merged.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    merged.update(env)

    data_dir = merged.get("FACEREC_DATA_DIR") or str(default_data_dir(merged))
    return Settings(
        database_url=merged.get("DATABASE_URL", "").strip(),
        data_dir=Path(data_dir).expanduser().absolute(),
        detector=merged.get("FACEREC_DETECTOR", DEFAULT_DETECTOR).strip() or DEFAULT_DETECTOR,
        embedder=merged.get("FACEREC_EMBEDDER", DEFAULT_EMBEDDER).strip() or DEFAULT_EMBEDDER,
        threshold=_float_or_none("FACEREC_THRESHOLD", merged.get("FACEREC_THRESHOLD")),
        camera=merged.get("FACEREC_CAMERA", "0").strip() or "0",
        log_level=merged.get("FACEREC_LOG_LEVEL", "WARNING").strip().upper() or "WARNING",
        imgbeddings_model=merged.get("FACEREC_IMGBEDDINGS_MODEL", "").strip(),
        detect_size=_size("FACEREC_DETECT_SIZE", merged.get("FACEREC_DETECT_SIZE"), DEFAULT_DETECT_SIZE),
        runtime=_choice("FACEREC_RUNTIME", merged.get("FACEREC_RUNTIME"), RUNTIMES, DEFAULT_RUNTIME),
        display=env.get("DISPLAY", "").strip(),
        people_max_distance=_number(
            "FACEREC_PEOPLE_MAX_DISTANCE", merged.get("FACEREC_PEOPLE_MAX_DISTANCE"), None, 0, 2
        ),
        people_min_faces=_count(
            "FACEREC_PEOPLE_MIN_FACES", merged.get("FACEREC_PEOPLE_MIN_FACES"), DEFAULT_PEOPLE_MIN_FACES, 1, 1_000_000
        ),
        people_min_face_px=_count(
            "FACEREC_PEOPLE_MIN_FACE_PX",
            merged.get("FACEREC_PEOPLE_MIN_FACE_PX"),
            DEFAULT_PEOPLE_MIN_FACE_PX,
            0,
            10_000,
        ),
        people_min_sharpness=_number(
            "FACEREC_PEOPLE_MIN_SHARPNESS", merged.get("FACEREC_PEOPLE_MIN_SHARPNESS"), None, 0, 1e9
        ),
        people_min_score=_number_or(
            "FACEREC_PEOPLE_MIN_SCORE", merged.get("FACEREC_PEOPLE_MIN_SCORE"), DEFAULT_PEOPLE_MIN_SCORE, 0, 1
        ),
        watch_settle_s=_number_or(
            "FACEREC_WATCH_SETTLE_S", merged.get("FACEREC_WATCH_SETTLE_S"), DEFAULT_WATCH_SETTLE_S, 0.1, 3600
        ),
        watch_poll_s=_number_or(
            "FACEREC_WATCH_POLL_S", merged.get("FACEREC_WATCH_POLL_S"), DEFAULT_WATCH_POLL_S, 1, 86400
        ),
    )
