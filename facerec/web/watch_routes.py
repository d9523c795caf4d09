"""The Library screen's watch switch: `facerec watch` as a background job of the page.

One watcher at a time, on a thread of its own with a database connection of its
own (a `Context` of its own), as the page's index run has. Switching it off (or
the server stopping) stops it cleanly; what it indexed is kept. Both switches are
POST forms with the CSRF token (`facerec.web.routes._post`); the page's token
guards them as it guards every route. `install(app, state)` adds the routes, the
template's `watch()` and the stop at shutdown (one line in `create_app`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from facerec.config import Settings
from facerec.errors import FacerecError, UsageError
from facerec.usecases.context import Context
from facerec.usecases.library.watch import WatchEvent, watch_folders
from facerec.web.pages import _post, _redirect, _text
from facerec.web.state import WebState

log = logging.getLogger(__name__)

STOP_WAIT_S = 30.0
"""How long the server waits, when it stops, for a watcher in the middle of an index pass."""


@dataclass(frozen=True)
class WatchStatus:
    """What the page shows. `state`: off, starting, watching, polling (the fallback), failed."""

    state: str = "off"
    folders: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def running(self) -> bool:
        return self.state in ("starting", "watching", "polling")

    @property
    def text(self) -> str:
        label = {"polling": "watching (by checking)", "failed": "failed"}.get(self.state, self.state)
        return f"{label}: {self.message}" if self.message else label


class WatchJob:
    """At most one watcher, for the page."""

    def __init__(self, settings: Settings, on_change: Callable[[], None] = lambda: None) -> None:
        """`on_change` is called (on the watcher's thread) after it indexed or pruned something."""
        self.settings = settings
        self.on_change = on_change
        self._lock = threading.Lock()
        self._status = WatchStatus()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def status(self) -> WatchStatus:
        with self._lock:
            return self._status

    def start(self, folder: str) -> None:
        """Watch `folder` (empty: the folders already indexed); `UsageError` if it is not a folder or one runs."""
        text = folder.strip()
        path = Path(text).expanduser().absolute() if text else None
        if path is not None and not path.is_dir():
            raise UsageError(f"{text}: not a folder" if path.exists() else f"{text}: no such folder")
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise UsageError("already watching; switch it off first")
            self._stop.clear()
            self._status = WatchStatus("starting", [str(path)] if path else [], "catching up with what changed")
            self._thread = threading.Thread(target=self._run, args=(path,), name="facerec-web-watch", daemon=True)
            self._thread.start()

    def stop(self, wait: float | None = None) -> None:
        """Switch it off (what was indexed is kept); wait up to `wait` seconds for it."""
        self._stop.set()
        thread = self._thread
        if thread is not None and wait is not None:
            thread.join(wait)

    def _run(self, folder: Path | None) -> None:
        try:
            with Context(self.settings) as ctx:
                report = watch_folders(ctx, [folder] if folder else None, 1, self._event, self._stop)
            done = f"indexed {report.indexed}, moved {report.moved}, pruned {report.pruned}"
            self._set(state="off", message=f"stopped; {done} in {report.seconds:.0f} s")
        except FacerecError as exc:
            self._set(state="failed", message=str(exc))
        except Exception as exc:  # a bug must not leave the page saying "watching" forever
            log.exception("watch from the web page failed")
            self._set(state="failed", message=f"internal error: {type(exc).__name__}: {exc}")

    def _event(self, event: WatchEvent) -> None:
        stamp = time.strftime("%H:%M")
        if event.kind == "watching":
            self._set(state="watching", message=event.text)
        elif event.kind == "fallback":
            self._set(state="polling", message=event.text)
        else:
            self._set(message=f"{stamp} {event.text}")
            if event.kind in ("indexed", "pruned"):
                self.on_change()

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)


def _job(request: Request) -> WatchJob:
    job: WatchJob = request.app.state.watch
    return job


async def start_watch(request: Request, form: FormData) -> Response:
    _job(request).start(_text(form, "folder"))  # a UsageError is said on the Library page
    return _redirect(request, "/library", "watching: new, changed, moved and deleted photos are indexed as they settle")


async def stop_watch(request: Request, form: FormData) -> Response:
    _job(request).stop()
    return _redirect(request, "/library", "watching stopped: what was indexed is kept")


def install(app: Starlette, state: WebState) -> None:
    """Add the switch to `app`: its two POST routes, `watch()` for the templates, and its stop at shutdown."""
    job = WatchJob(state.ctx.settings, on_change=state.thumbnails.forget)
    app.state.watch = job
    state.templates.env.globals["watch"] = job.status
    app.router.routes[0:0] = [
        Route("/library/watch", _post(start_watch), methods=["POST"]),
        Route("/library/watch/stop", _post(stop_watch), methods=["POST"]),
    ]
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Any]:
        async with inner(app) as value:
            try:
                yield value
            finally:
                job.stop(wait=STOP_WAIT_S)

    app.router.lifespan_context = lifespan
