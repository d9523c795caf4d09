"""What the routes share for one server start (`WebState`): the context (one
database connection, so use cases run one at a time, under a lock, on a worker
thread), the secrets, uploads held in memory, one-time messages, the index run,
and the cached thumbnails known to be up to date."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.templating import Jinja2Templates

from facerec.usecases.context import Context
from facerec.usecases.library.thumbnails import Thumbnail, sweep_thumbnails
from facerec.usecases.library.upload import PhotoFaces, SearchCache
from facerec.web import actions
from facerec.web.jobs import IndexJobs
from facerec.web.security import Secrets

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
"""The largest photo the page accepts (25 MB: a 50-megapixel JPEG)."""
UPLOAD_TTL_S = 15 * 60
"""An uploaded photo is forgotten this long after it was sent (and when the server stops)."""
MAX_UPLOADS = 8
"""At most this many uploaded photos are held in memory; the oldest goes first."""

T = TypeVar("T")


@dataclass
class Upload:
    """An uploaded photo held in memory: its faces and a JPEG preview to show."""

    photo: PhotoFaces
    preview: bytes
    width: int
    height: int
    created: float
    searches: SearchCache = field(default_factory=SearchCache)


class Uploads:
    """Uploaded photos by random id, in memory only."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Upload] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, upload: Upload) -> str:
        key = secrets.token_urlsafe(12)
        with self._lock:
            self._expire()
            self._items[key] = upload
            while len(self._items) > MAX_UPLOADS:
                self._items.popitem(last=False)
        return key

    def get(self, key: str) -> Upload | None:
        with self._lock:
            self._expire()
            return self._items.get(key)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def _expire(self) -> None:
        cutoff = time.monotonic() - UPLOAD_TTL_S
        for key in [k for k, u in self._items.items() if u.created < cutoff]:
            del self._items[key]


class Flashes:
    """One-time messages shown after a change (POST, then redirect, then GET shows it once)."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, text: str, kind: str = "ok") -> str:
        key = secrets.token_urlsafe(8)
        with self._lock:
            self._items[key] = (kind, text)
            while len(self._items) > 100:
                self._items.popitem(last=False)
        return key

    def pop(self, key: str | None) -> tuple[str, str] | None:
        if not key:
            return None
        with self._lock:
            return self._items.pop(key, None)


class Thumbnails:
    """The cached thumbnails known to be up to date, by `cache_name` ('face:12',
    'card:12_15'): served without asking the database. Filled from a verified
    sweep at start and as thumbnails are made; forgotten after an index run
    (photos may have changed)."""

    def __init__(self, known: dict[str, Thumbnail]) -> None:
        self._known = dict(known)
        self._lock = threading.Lock()

    def get(self, name: str) -> Thumbnail | None:
        with self._lock:
            return self._known.get(name)

    def add(self, name: str, thumb: Thumbnail) -> None:
        with self._lock:
            self._known[name] = thumb

    def forget(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._known.clear()
            else:
                self._known.pop(name, None)


class WebState:
    """What the routes share: the context, the secrets, uploads, messages, the index job, thumbnails."""

    def __init__(self, ctx: Context, keys: Secrets, index_workers: int | None = None) -> None:
        self.ctx = ctx
        self.keys = keys
        self.uploads = Uploads()
        self.flashes = Flashes()
        self.thumbnails = Thumbnails(sweep_thumbnails(ctx, verify=True).kept)
        self.jobs = IndexJobs(ctx.settings, index_workers, on_finish=self.thumbnails.forget)
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        self.templates.env.globals.update(csrf=keys.csrf, features=actions)
        self._db_lock = threading.Lock()

    def locked(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a use case with the context, alone (on the calling thread)."""
        with self._db_lock:
            return fn(self.ctx, *args)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a use case with the context, alone, on a worker thread."""
        return await run_in_threadpool(self.locked, fn, *args)
