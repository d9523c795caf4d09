"""`index` started from the page: one run at a time, on a thread of its own
with a database connection of its own (a `Context` of its own), progress
read by the page while it runs. When the photos are stored, the groups are
found again (so the People page shows them) and thumbnails of faces that
are gone are removed. Stopping it (the Stop button, or the server stopping)
keeps what was indexed, as Ctrl-C does for `facerec index`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from facerec.config import Settings
from facerec.errors import FacerecError, UsageError
from facerec.usecases.context import Context
from facerec.usecases.groups.grouping import GroupingProgress
from facerec.usecases.library.index import IndexReport, Progress, index_folders
from facerec.usecases.library.thumbnails import sweep_thumbnails

log = logging.getLogger(__name__)

MAX_FAILED_SHOWN = 20


@dataclass(frozen=True)
class IndexStatus:
    """What the page shows. `state`: idle, running, done, stopped or failed."""

    state: str = "idle"
    folder: str = ""
    done: int = 0
    total: int = 0
    faces: int = 0
    seconds: float = 0.0
    message: str = ""
    failed: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "state": self.state,
            "folder": self.folder,
            "done": self.done,
            "total": self.total,
            "faces": self.faces,
            "seconds": round(self.seconds, 1),
            "message": self.message,
            "failed": [{"picture": p, "error": e} for p, e in self.failed],
        }


class _Stop(KeyboardInterrupt):
    """Raised from the progress callback: `index_folders` stops as on Ctrl-C and keeps what it stored."""


class IndexJobs:
    """At most one index run at a time, for the page."""

    def __init__(
        self, settings: Settings, workers: int | None = None, on_finish: Callable[[], None] = lambda: None
    ) -> None:
        """`on_finish` is called (on the run's thread) when a run ends, however it ends."""
        self.settings = settings
        self.workers = workers
        self.on_finish = on_finish
        self._lock = threading.Lock()
        self._status = IndexStatus()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._started = 0.0

    def status(self) -> IndexStatus:
        with self._lock:
            return self._status

    def start(self, folder: str) -> IndexStatus:
        """Start indexing `folder`; `UsageError` if it is not a folder or a run is going on."""
        text = folder.strip()
        if not text:
            raise UsageError("type the folder to index")
        path = Path(text).expanduser()
        if not path.is_dir():
            raise UsageError(f"{text}: not a folder" if path.exists() else f"{text}: no such folder")
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise UsageError(f"already indexing {self._status.folder}; wait for it or stop it")
            self._stop.clear()
            self._started = time.perf_counter()
            self._status = IndexStatus("running", str(path.absolute()), message="looking for photos")
            self._thread = threading.Thread(target=self._run, args=(path,), name="facerec-web-index", daemon=True)
            self._thread.start()
            return self._status

    def stop(self, wait: float | None = None) -> None:
        """Ask a running index to stop (it keeps what it stored); wait up to `wait` seconds for it."""
        self._stop.set()
        thread = self._thread
        if thread is not None and wait is not None:
            thread.join(wait)

    def _progress(self, p: Progress) -> None:
        with self._lock:
            self._status = replace(
                self._status, done=p.done, total=p.total, faces=p.faces, seconds=p.elapsed, message="indexing"
            )
        if self._stop.is_set() and p.done < p.total:  # after the last photo there is nothing left to stop
            raise _Stop

    def _grouping(self, p: GroupingProgress) -> None:
        self._set(message=f"placing new faces in People ({p.phase} {p.done}/{p.total})")

    def _run(self, folder: Path) -> None:
        try:
            with Context(self.settings) as ctx:
                # New faces are placed in the People groups within the run (incremental, as
                # `index` does): no regroup of the whole library after it (at 100k faces
                # that was 15.7 s more on top of a 3.1 s placement, docs/benchmarks.md).
                report = index_folders(
                    ctx, [folder], self.workers, on_progress=self._progress, on_grouping=self._grouping
                )
                sweep_thumbnails(ctx)
            self._finish(report)
        except FacerecError as exc:
            self._set(state="failed", message=str(exc))
        except Exception as exc:  # a bug must not leave the page saying "running" forever
            log.exception("index from the web page failed")
            self._set(state="failed", message=f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self.on_finish()

    def _finish(self, report: IndexReport) -> None:
        state = "stopped" if report.interrupted else "done"
        message = (
            f"seen {report.seen}, indexed {report.indexed}, skipped {report.skipped} (unchanged), "
            f"{report.faces} faces in {report.seconds:.1f} s"
        )
        failed = report.failed[:MAX_FAILED_SHOWN]
        self._set(state=state, message=message, failed=failed, faces=report.faces, seconds=report.seconds)

    def _set(self, **changes: object) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]
