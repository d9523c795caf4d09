"""`facerec watch`: a library that keeps itself up to date.

The folders are watched with file system events (`watchdog`: inotify on Linux):
- a new or changed file is indexed once its size and modification time have
  not changed for `Settings.watch_settle_s` (a copy in progress is not a photo
  yet), by `index_folders` itself, so a file whose bytes are already known (a
  moved or renamed file, or a whole renamed folder) keeps its faces and their
  names instead of being analysed again, and new faces are placed in People as
  `index` places them;
- a deleted file's faces are pruned (a registration sample stays), after the
  files waiting to settle were indexed: a rename seen as "gone here, new
  there" moves the faces before anything is pruned.
At the start the folders are indexed once (with `--prune`), so what changed
while nothing watched is caught up. When the system refuses the watches
(inotify limits: ENOSPC, EMFILE), it says so once and indexes the folders
again every `Settings.watch_poll_s` seconds instead.

Stop it with the `stop` event (another thread) or Ctrl-C / a signal handler
that raises `KeyboardInterrupt` (the thread running it): what was indexed is
kept, and the report says what was done.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from facerec.errors import FacerecError, InputPathError, UsageError
from facerec.paths import key_path, path_key
from facerec.usecases.context import Context
from facerec.usecases.library.index import IndexReport, check_inputs, index_folders

__all__ = ["WatchEvent", "WatchReport", "watch_folders"]

log = logging.getLogger(__name__)

TICK_S = 0.25
"""How often waiting files are looked at (and a stop request noticed), at most."""
MAX_HOLD_S = 60.0
"""A deletion waits for the files still settling (a rename's new names) at most this long, then is pruned."""
REFUSED = (errno.ENOSPC, errno.EMFILE, errno.ENFILE, errno.ENOMEM)
"""What the kernel says when it refuses more inotify watches or instances."""


class Observer(Protocol):
    """The part of a `watchdog` observer this module uses (tests pass their own)."""

    def schedule(self, event_handler: Any, path: str, *, recursive: bool = False) -> Any: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def join(self, timeout: float | None = None) -> None: ...
    def is_alive(self) -> bool: ...


ObserverFactory = Callable[[], Observer]


def default_observer() -> Observer:
    """The platform's native observer (inotify on Linux)."""
    from watchdog.observers import Observer as NativeObserver

    observer: Observer = NativeObserver()
    return observer


@dataclass(frozen=True)
class WatchEvent:
    """What the watcher tells the edges as it goes.

    `kind`: "watching" (started, with events), "fallback" (the system refused the
    watches: `text` says why and what happens instead; said once), "indexed" (a
    pass over new or changed files: `index` holds its report, `paths` the files),
    "pruned" (`pruned` pictures whose files are gone), "error" (a pass failed;
    the watcher goes on)."""

    kind: str
    text: str
    index: IndexReport | None = None
    pruned: int = 0
    paths: tuple[str, ...] = ()


@dataclass
class WatchReport:
    """What a watch did, from start to stop. `mode`: "events" or "polling" (the fallback)."""

    folders: list[str]
    mode: str = "events"
    fallback: str | None = None
    passes: int = 0
    indexed: int = 0
    moved: int = 0
    copied: int = 0
    pruned: int = 0
    faces: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, report: IndexReport) -> None:
        self.passes += 1
        self.indexed += report.indexed
        self.moved += report.moved
        self.copied += report.copied
        self.pruned += report.pruned
        self.faces += report.faces
        self.failed += report.failed

    def as_json(self) -> dict[str, object]:
        return {
            "folders": self.folders,
            "mode": self.mode,
            "fallback": self.fallback,
            "passes": self.passes,
            "indexed": self.indexed,
            "moved": self.moved,
            "copied": self.copied,
            "pruned": self.pruned,
            "faces": self.faces,
            "failed": [{"picture": p, "error": e} for p, e in self.failed],
            "seconds": round(self.seconds, 1),
        }


def indexed_roots(ctx: Context) -> list[str]:
    """The folders already indexed, as few as cover them all (a folder inside another is watched with it)."""
    roots: list[str] = []
    for folder in sorted(ctx.db.library.indexed_folders()):
        if not any(folder == r or folder.startswith(r.rstrip("/") + "/") for r in roots):
            roots.append(folder)
    return [key_path(r) for r in roots]


def _folders(ctx: Context, folders: Sequence[str | Path] | None) -> list[str]:
    if folders:
        given = [os.path.abspath(os.fspath(f)) for f in folders]
        bad = [
            f"{f}: {'not a folder' if os.path.exists(f) else 'no such folder'}" for f in given if not os.path.isdir(f)
        ]
        if bad:
            raise InputPathError("; ".join(bad) + "; nothing watched")
        return list(dict.fromkeys(given))
    roots = indexed_roots(ctx)
    there = [r for r in roots if os.path.isdir(r)]
    if not there:
        gone = f" (the indexed folders are gone: {', '.join(roots[:3])})" if roots else ""
        raise UsageError(f"nothing to watch{gone}: give the folders to watch (watch DIR)")
    return there


def watch_folders(
    ctx: Context,
    folders: Sequence[str | Path] | None = None,
    workers: int | None = 1,
    on_event: Callable[[WatchEvent], None] | None = None,
    stop: threading.Event | None = None,
    observer_factory: ObserverFactory | None = None,
) -> WatchReport:
    """Keep the library of `folders` (default: the folders already indexed) up to
    date until `stop` is set or Ctrl-C; see the module docstring.

    `workers`: processes analysing new photos (default 1: a watcher runs in the
    background and should leave the machine usable; a big copy is indexed more
    slowly). `on_event` hears each start, pass and fallback. `observer_factory`
    makes the `watchdog` observer (tests pass one that refuses)."""
    roots = _folders(ctx, folders)
    watcher = _Watcher(ctx, roots, workers, on_event, stop or threading.Event(), observer_factory or default_observer)
    return watcher.run()


@dataclass
class _Waiting:
    """A file seen changing: its size and mtime, and since when they are what they are."""

    size: int
    mtime: float
    since: float


class _Handler:
    """Receives `watchdog` events on the observer's thread; puts them in a queue for the watcher's loop."""

    def __init__(self, events: queue.Queue[tuple[str, str, str, bool]]) -> None:
        self.events = events

    def dispatch(self, event: Any) -> None:
        src, dest = os.fsdecode(event.src_path), os.fsdecode(getattr(event, "dest_path", "") or "")
        self.events.put((event.event_type, src, dest, bool(event.is_directory)))


class _Watcher:
    """One watch (see the module docstring)."""

    def __init__(
        self,
        ctx: Context,
        roots: list[str],
        workers: int | None,
        on_event: Callable[[WatchEvent], None] | None,
        stop: threading.Event,
        observer_factory: ObserverFactory,
    ) -> None:
        self.ctx = ctx
        self.roots = roots
        self.workers = workers
        self.on_event = on_event or (lambda e: None)
        self.stop = stop
        self.observer_factory = observer_factory
        self.settle = ctx.settings.watch_settle_s
        self.poll = ctx.settings.watch_poll_s
        self.events: queue.Queue[tuple[str, str, str, bool]] = queue.Queue()
        self.waiting: dict[str, _Waiting] = {}
        self.gone: dict[str, tuple[bool, float]] = {}
        self.report = WatchReport(list(roots))
        self.observer: Observer | None = None
        self.census_due: float | None = time.monotonic()
        self.short = False
        self.last_error: str | None = None

    def run(self) -> WatchReport:
        start = time.monotonic()
        try:
            self._start_observer()
            self._index(self.roots, prune=True)  # what changed while nothing watched
            if self.observer is not None:
                self._wait_for_recent()  # left by that pass as still being written, maybe with no event to come
                self.on_event(WatchEvent("watching", f"watching {', '.join(self.roots)} for changes"))
                self._loop_events()
            else:
                self._loop_polling()
        except KeyboardInterrupt as exc:
            if type(exc) is not KeyboardInterrupt:  # the terminal's SIGHUP/SIGTERM: on up, after the clean-up
                raise
        finally:
            self._stop_observer()
            self.report.seconds = time.monotonic() - start
        return self.report

    # -- the observer ------------------------------------------------------------------

    def _start_observer(self) -> None:
        observer = None
        try:
            observer = self.observer_factory()
            handler = _Handler(self.events)
            for root in self.roots:
                observer.schedule(handler, root, recursive=True)
            observer.start()
            self.observer = observer
        except OSError as exc:
            if observer is not None:
                _quietly_stop(observer)
            self._fall_back(exc)

    def _fall_back(self, exc: OSError | None) -> None:
        """Say once that events are refused, and why; from now on the folders are indexed every `poll` seconds."""
        if exc is not None and exc.errno in REFUSED:
            why = f"the system refuses more file watches ({exc.strerror or exc}; {_limits()})"
        elif exc is not None:
            why = f"file watching failed ({exc.strerror or exc})"
        else:
            why = "file watching stopped working"
        text = f"{why}: indexing the folders every {self.poll:g} s instead"
        log.info("%s", text)  # said by the edges (`on_event`), once
        self.report.mode, self.report.fallback = "polling", text
        self.on_event(WatchEvent("fallback", text))

    def _stop_observer(self) -> None:
        if self.observer is not None:
            _quietly_stop(self.observer)
            self.observer = None

    def _observer_alive(self) -> bool:
        observer = self.observer
        if observer is None or not observer.is_alive():
            return False
        emitters = getattr(observer, "emitters", None)  # a watch refused later (a new folder) ends its emitter
        return emitters is None or all(e.is_alive() for e in list(emitters))

    def _refused(self, now: float) -> OSError | None:
        """Why the events can no longer be trusted, if they cannot: the observer died, or
        folders went unwatched (watchdog skips a subfolder whose watch the system refuses,
        without a word: counted here, at the start and after folders arrive, twice a
        second apart so a folder still being added is not taken for a refusal)."""
        if not self._observer_alive():
            return OSError(0, "the file watcher stopped")
        if self.census_due is None or now < self.census_due:
            return None
        missing = _unwatched(self.observer, self.roots)
        if not missing:
            self.census_due, self.short = None, False
            return None
        if not self.short:
            self.census_due, self.short = now + 1.0, True
            return None
        return OSError(errno.ENOSPC, f"{missing} folder{'s' * (missing != 1)} could not be watched")

    # -- the loops -------------------------------------------------------------------------

    def _loop_polling(self) -> None:
        next_pass = time.monotonic() + self.poll
        while not self.stop.wait(min(TICK_S * 4, max(0.0, next_pass - time.monotonic()))):
            if time.monotonic() >= next_pass:
                self._index(self.roots, prune=True)
                next_pass = time.monotonic() + self.poll

    def _loop_events(self) -> None:
        tick = min(TICK_S, self.settle / 4)
        while not self.stop.is_set():
            try:
                self._take(*self.events.get(timeout=tick))
                while True:
                    self._take(*self.events.get_nowait())
            except queue.Empty:
                pass
            refused = self._refused(time.monotonic())
            if refused is not None:
                self._stop_observer()
                self._fall_back(refused)
                self._index(self.roots, prune=True)
                self._loop_polling()
                return
            ready = self._settled(time.monotonic())
            if ready:
                self._index(ready, prune=False)
            if self.gone and (not self.waiting or self._held() > MAX_HOLD_S):
                self._prune()

    def _held(self) -> float:
        """How long the oldest deletion has waited."""
        return time.monotonic() - min(t for _, t in self.gone.values())

    def _take(self, kind: str, src: str, dest: str, is_dir: bool) -> None:
        """One file system event."""
        if kind == "moved":
            self.gone[src] = (is_dir, time.monotonic())
            self._arrived(dest, is_dir)
        elif kind == "deleted":
            self.gone[src] = (is_dir, time.monotonic())
        elif kind in ("created", "modified", "closed", "attrib") and not (is_dir and kind != "created"):
            self._arrived(src, is_dir)

    def _arrived(self, path: str, is_dir: bool) -> None:
        """A file (or every file of a folder) that appeared or changed: wait for it to settle."""
        if not is_dir:
            self._wait_for(path)
            return
        self.census_due = self.census_due or time.monotonic() + 1.0  # are its folders watched?
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for name in sorted(filenames):
                self._wait_for(os.path.join(dirpath, name))

    def _wait_for_recent(self) -> None:
        """Wait for the files modified in the last settle time, as if an event had said so."""
        recent = time.time() - self.settle
        for root in self.roots:
            for dirpath, _, filenames in os.walk(root):
                for name in filenames:
                    path = os.path.join(dirpath, name)
                    try:
                        if os.stat(path).st_mtime > recent:
                            self._wait_for(path)
                    except OSError:
                        continue

    def _wait_for(self, path: str) -> None:
        try:
            check_inputs([path])  # what `index` takes (photos by their names), and nothing else
            st = os.stat(path)
        except (InputPathError, OSError):
            return
        known = self.waiting.get(path)
        if known is None or (known.size, known.mtime) != (st.st_size, st.st_mtime):
            self.waiting[path] = _Waiting(st.st_size, st.st_mtime, time.monotonic())

    def _settled(self, now: float) -> list[str]:
        """The waiting files that have not changed for the settle time (taken off the waiting list)."""
        ready = []
        for path, w in list(self.waiting.items()):
            try:
                st = os.stat(path)
            except OSError:  # gone again (a temporary file renamed): its event says what became of it
                del self.waiting[path]
                continue
            if (st.st_size, st.st_mtime) != (w.size, w.mtime):
                self.waiting[path] = _Waiting(st.st_size, st.st_mtime, now)
            elif now - w.since >= self.settle:
                ready.append(path)
                del self.waiting[path]
        return sorted(ready)

    # -- the work ---------------------------------------------------------------------------

    def _index(self, paths: list[str], prune: bool) -> None:
        """One `index` pass; Ctrl-C in it stops the watch (what was indexed is kept)."""
        paths = [p for p in paths if os.path.exists(p)]
        if not paths:
            return
        try:
            # A pass over the folders (the start, the fallback) leaves a file still being written for later;
            # the files of an event pass have settled already.
            report = index_folders(self.ctx, paths, self.workers, prune=prune, settle=self.settle if prune else 0.0)
        except FacerecError as exc:  # e.g. the database restarting: said (once while it lasts), the watch goes on
            self._error(f"index failed: {exc}", paths)
            return
        self.last_error = None
        self.report.add(report)
        if report.indexed or report.moved or report.copied or report.pruned or report.failed:
            self.on_event(WatchEvent("indexed", _summary(report), index=report, paths=tuple(paths)))
        if report.interrupted:
            raise KeyboardInterrupt

    def _error(self, text: str, paths: list[str] | None = None) -> None:
        """A pass failed: said once, not again at every pass while the same trouble lasts."""
        log.info("watch: %s", text)
        if text != self.last_error:
            self.last_error = text
            self.on_event(WatchEvent("error", text, paths=tuple(paths or ())))

    def _prune(self) -> None:
        """Forget the pictures whose files (or folders) are gone and stay gone."""
        gone, self.gone = self.gone, {}
        keys: set[str] = set()
        for path, (is_dir, _) in gone.items():
            key = path_key(path)
            keys.add(key)
            if is_dir:
                keys.update(self.ctx.db.library.indexed_under([key]))
        missing = sorted(k for k in keys if not os.path.lexists(key_path(k)))
        try:
            pruned = self.ctx.db.library.prune(missing) if missing else 0
        except FacerecError as exc:
            self._error(f"prune failed: {exc}")
            return
        if pruned:
            self.report.pruned += pruned
            self.on_event(WatchEvent("pruned", f"pruned {pruned} (files gone)", pruned=pruned))


def _unwatched(observer: Observer | None, roots: list[str]) -> int:
    """How many folders under `roots` watchdog's inotify emitters hold no watch for
    (0 when that cannot be known: another platform, another watchdog)."""
    watched: set[str] = set()
    for emitter in list(getattr(observer, "emitters", ())):
        paths = getattr(getattr(emitter, "_inotify", None), "_active_callbacks_by_path", None)
        if not isinstance(paths, dict):
            return 0
        watched.update(os.fsdecode(p) for p in list(paths))
    if not watched:
        return 0
    missing = 0
    for root in roots:
        for dirpath, dirnames, _ in os.walk(root):
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
            missing += dirpath not in watched
    return missing


def _summary(report: IndexReport) -> str:
    text = f"indexed {report.indexed}, moved {report.moved}, copies {report.copied}, pruned {report.pruned}"
    return text + f"; {report.faces} faces" + (f", {len(report.failed)} failed" if report.failed else "")


def _limits() -> str:
    """The inotify limits, and how to raise them."""
    values = []
    for name, path in (
        ("fs.inotify.max_user_watches", "/proc/sys/fs/inotify/max_user_watches"),
        ("fs.inotify.max_user_instances", "/proc/sys/fs/inotify/max_user_instances"),
        ("user.max_inotify_watches", "/proc/sys/user/max_inotify_watches"),  # this user namespace's (containers)
    ):
        try:
            value = Path(path).read_text().strip()
        except OSError:
            continue
        if name != "user.max_inotify_watches" or int(value) < 2**31 - 1:
            values.append(f"{name} = {value}")
    raise_it = "raise it with e.g. 'sudo sysctl fs.inotify.max_user_watches=524288'"
    return f"{', '.join(values)}; {raise_it}" if values else raise_it


def _quietly_stop(observer: Observer) -> None:
    try:
        observer.stop()
        if observer.is_alive():
            observer.join(5)
    except (OSError, RuntimeError) as exc:
        log.debug("stopping the file watcher: %s", exc)
