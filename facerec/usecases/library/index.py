"""Indexing folders of photos: every face of every photo, stored and searchable.

The run is incremental and safe to interrupt:
- a file whose size and mtime match what was stored is skipped without being read;
- a changed or new file is read and hashed by a worker; if its bytes are already
  known (a moved, renamed or copied file) its faces are moved or copied in the
  database, not computed again;
- otherwise the worker decodes it once (large JPEGs at reduced size:
  `facerec.vision.pipeline.DECODE_SIDE`), finds every face with several looks
  (`Pipeline.analyze_photo`: faces filling the frame, crowds of small faces,
  a photo lying on its side), embeds them, and the main process stores photos in small batches, each
  batch one transaction: an interrupted run loses at most the batch in flight,
  and the next run picks up exactly the photos that are not stored.
Video clips are indexed too, each as one picture with one face per person on
screen and their times (`facerec.usecases.library.clips`).
Worker processes (default: one per CPU core) each load the models once, and
die with the run: a run killed with SIGKILL (`kill -9`) takes them with it,
quietly (no traceback from a worker whose parent is gone).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import logging
import multiprocessing
import multiprocessing.resource_tracker
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from facerec.config import Settings
from facerec.db.library import IndexedPhoto, PictureState
from facerec.errors import FacerecError, InputPathError, ModelError
from facerec.logs import configure_logging
from facerec.paths import key_path, path_key
from facerec.usecases.context import Context
from facerec.usecases.groups.grouping import GroupingReport, ProgressCallback, update_groups
from facerec.usecases.metadata.names_in import NamesFromFiles, names_from_files
from facerec.video.suffixes import VIDEO_SUFFIXES
from facerec.vision import runtime
from facerec.vision.images import IMAGE_SUFFIXES, read_bytes
from facerec.vision.pipeline import DECODE_SIDE, Pipeline, load_pipeline

__all__ = ["DECODE_SIDE", "IndexReport", "Progress", "index_folders"]  # DECODE_SIDE: the pipeline's

log = logging.getLogger(__name__)

INDEXED_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES
"""Photos and video clips (`facerec.usecases.library.clips`)."""

BATCH_PHOTOS = 32
BATCH_SECONDS = 1.0


@dataclass
class IndexReport:
    """What an index run did. `failed` holds (file, reason) pairs."""

    seen: int = 0
    indexed: int = 0
    skipped: int = 0
    moved: int = 0
    copied: int = 0
    pruned: int = 0
    faces: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0
    grouping: GroupingReport | None = None
    """What the People step after the run did (None if it did not run)."""
    grouping_error: str | None = None
    """Why the People step failed, if it did (the photos are indexed all the same)."""
    names: NamesFromFiles | None = None
    """Names read from the photos' face regions (XMP, sidecars) and what became of them."""

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "seen": self.seen,
            "indexed": self.indexed,
            "skipped": self.skipped,
            "moved": self.moved,
            "copied": self.copied,
            "pruned": self.pruned,
            "faces": self.faces,
            "failed": [{"picture": p, "error": e} for p, e in self.failed],
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3),
        }
        if self.grouping is not None:
            out["people"] = self.grouping.as_json()
        if self.grouping_error is not None:
            out["people_error"] = self.grouping_error
        if self.names is not None:
            out["names"] = self.names.as_json()
        return out


@dataclass(frozen=True)
class Progress:
    """Passed to the progress callback after each photo."""

    done: int
    total: int
    faces: int
    elapsed: float

    @property
    def photos_per_s(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def faces_per_s(self) -> float:
        return self.faces / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta_s(self) -> float:
        rate = self.photos_per_s
        return (self.total - self.done) / rate if rate > 0 else 0.0


# -- walking ------------------------------------------------------------------


@dataclass(frozen=True)
class FoundFile:
    """A photo or clip found by the walk: its key (`facerec.paths.path_key`), where it is,
    and its size and mtime (an unchanged file is skipped on those alone)."""

    key: str
    path: str
    size: int
    mtime: float


def check_inputs(folders: Sequence[str | Path]) -> None:
    """Refuse, before anything is read, a folder or file that does not exist, or a
    file that is not a photo by its name: one line for all of them."""
    problems = []
    for folder in folders:
        root = os.fspath(folder)
        if not os.path.exists(root):
            problems.append(f"{root}: no such folder or file")
        elif not os.path.isdir(root) and os.path.splitext(root)[1].lower() not in INDEXED_SUFFIXES:
            kinds, clips = ", ".join(sorted(IMAGE_SUFFIXES)), ", ".join(sorted(VIDEO_SUFFIXES))
            problems.append(f"{root}: not a folder or a photo or video (photos are {kinds}; videos {clips})")
    if problems:
        raise InputPathError("; ".join(problems) + "; nothing indexed")


def walk(folders: Sequence[str | Path], failed: list[tuple[str, str]]) -> Iterator[FoundFile]:
    """Image files under `folders`, recursively, in a stable order, each once
    (folders may overlap: `index photos photos/2024`). A photo file given
    itself is taken as it is.

    Symbolic links to files are followed; links to folders are not (no loops).
    A broken link, a link loop or an unreadable folder is added to `failed`.
    """
    seen: set[str] = set()
    for folder in folders:
        root = os.fspath(folder)
        if not os.path.isdir(root):
            if os.path.exists(root) and os.path.splitext(root)[1].lower() in INDEXED_SUFFIXES:
                key = path_key(root)
                if key not in seen:
                    seen.add(key)
                    st = os.stat(root)
                    if stat.S_ISREG(st.st_mode):
                        yield FoundFile(key, root, st.st_size, st.st_mtime)
                    else:
                        failed.append((key, "not a regular file"))
                continue
            failed.append((path_key(root), "not a folder" if os.path.exists(root) else "no such folder"))
            continue

        def on_error(err: OSError, root: str = root) -> None:
            failed.append((path_key(err.filename or root), f"cannot read folder ({err.strerror})"))

        for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):
            dirnames.sort()
            for name in sorted(filenames):
                if os.path.splitext(name)[1].lower() not in INDEXED_SUFFIXES:
                    continue
                path = os.path.join(dirpath, name)
                key = path_key(path)
                if key in seen:
                    continue
                seen.add(key)
                try:
                    st = os.stat(path)
                except OSError as exc:
                    reason = "broken symbolic link" if os.path.islink(path) else f"cannot read ({exc.strerror})"
                    if exc.errno == 40:  # ELOOP
                        reason = "symbolic link loop"
                    failed.append((key, reason))
                    continue
                if not stat.S_ISREG(st.st_mode):
                    failed.append((key, "not a regular file"))
                    continue
                yield FoundFile(key, path, st.st_size, st.st_mtime)


# -- worker processes ------------------------------------------------------------


@dataclass(frozen=True)
class Analysis:
    """A worker's answer for one file."""

    candidate: FoundFile
    sha256: str = ""
    photo: IndexedPhoto | None = None
    known: bool = False
    error: str | None = None
    fatal: FacerecError | None = None
    """Set when the worker could not load the models: the run stops with it."""


_worker: tuple[Pipeline, frozenset[str]] | FacerecError | None = None


PR_SET_PDEATHSIG = 1
"""Linux prctl(2) option: the signal this process gets when its parent dies."""
ORPHAN_CHECK_S = 1.0
"""Where prctl is missing (not Linux), how often a worker checks that its parent is alive."""


def _die_with_parent(parent: int) -> None:
    """Make this worker end, without a word, when the index process that started it
    ends in any way (kill -9 included): SIGTERM from the kernel when the parent dies
    (Linux), else a thread that watches the parent; and SIGPIPE's default action, so
    a result written to a parent that is gone ends the worker instead of printing a
    BrokenPipeError traceback."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    armed = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
        except (OSError, AttributeError) as exc:
            log.debug("prctl(PR_SET_PDEATHSIG) unavailable: %s", exc)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(0)
    if not armed:

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(ORPHAN_CHECK_S)
            os._exit(0)

        threading.Thread(target=watch, name="orphan-check", daemon=True).start()


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker (it removes the pool's semaphores
    when the run is killed) without its "leaked semaphore objects" warning: after
    a kill -9 the clean-up is what should happen, not news to the user."""
    quiet = "ignore::UserWarning:multiprocessing.resource_tracker"
    sys.warnoptions.append(quiet)  # the tracker is started with the -W options of this process
    try:
        multiprocessing.resource_tracker.ensure_running()
    finally:
        sys.warnoptions.remove(quiet)


def _init_worker(settings: Settings, known_hashes: frozenset[str], log_level: int, parent: int) -> None:
    """Runs once in each worker: ends with the parent (`_die_with_parent`),
    logging like the parent's, quiet Ctrl-C (the parent handles it), one thread
    per process, models loaded once. A failure is kept and returned as
    `Analysis.fatal` (a pool whose initializer raises restarts its workers
    forever); the parent stops the run with it."""
    global _worker
    _die_with_parent(parent)
    configure_logging(log_level)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    runtime.set_threads(1)
    try:
        _worker = (load_pipeline(settings), known_hashes)
    except FacerecError as exc:  # a missing or corrupt model file, no runtime: one clear message
        _worker = exc
    except Exception as exc:
        _worker = ModelError(f"index worker could not load the models: {type(exc).__name__}: {exc}")


def _analyze(candidate: FoundFile) -> Analysis:
    if not isinstance(_worker, tuple):
        fatal = _worker or ModelError("index worker not initialised")
        return Analysis(candidate, error=str(fatal), fatal=fatal)
    pipeline, known = _worker
    return analyze_file(pipeline, known, candidate)


def analyze_file(pipeline: Pipeline, known_hashes: frozenset[str], candidate: FoundFile) -> Analysis:
    """Hash a file; unless its bytes are known, decode it once and find (every look:
    `Pipeline.analyze_photo`), embed and measure its faces."""
    try:
        if os.path.splitext(candidate.path)[1].lower() in VIDEO_SUFFIXES:
            from facerec.usecases.library.clips import analyze_video

            c = candidate
            digest, clip = analyze_video(pipeline, known_hashes, c.key, c.path, c.size, c.mtime)
            return Analysis(candidate, digest, clip, known=clip is None)
        data = read_bytes(Path(candidate.path))
        digest = hashlib.sha256(data).hexdigest()
        if digest in known_hashes:
            return Analysis(candidate, digest, known=True)
        found = pipeline.analyze_photo(data, candidate.path)
        del data
        photo = IndexedPhoto(
            candidate.key,
            digest,
            candidate.size,
            candidate.mtime,
            found.width,
            found.height,
            found.faces,
            found.sharpness,
            found.small,
            found.turn,
        )
        return Analysis(candidate, digest, photo)
    except FacerecError as exc:
        return Analysis(candidate, error=_reason(exc, candidate.path))
    except MemoryError:
        return Analysis(candidate, error="out of memory decoding this image")
    except Exception as exc:  # one bad file must never stop a run
        log.debug("unexpected error on %s", candidate.path, exc_info=True)
        return Analysis(candidate, error=f"unexpected error: {type(exc).__name__}: {exc}")


def _reason(exc: Exception, path: str) -> str:
    """The error message without the leading 'path: ' (the report names the file)."""
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


# -- the run ------------------------------------------------------------------------


def index_folders(
    ctx: Context,
    folders: Sequence[str | Path],
    workers: int | None = None,
    prune: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    group: bool = True,
    on_grouping: ProgressCallback | None = None,
    settle: float = 0.0,
) -> IndexReport:
    """Index every photo under `folders` into the library (incremental, resumable).

    `workers`: processes analysing photos (default: one per CPU core).
    `prune`: forget indexed photos under the folders whose files are gone.
    `on_progress` is called after every photo (for a progress bar).
    A folder or file that does not exist, or a file that is not a photo, is
    refused (`InputPathError`) before anything is indexed. `group`: then place
    the new faces in the People groups (`facerec.usecases.groups.grouping.update_groups`,
    progress to `on_grouping`); Ctrl-C there keeps what was indexed and the
    groups as they were. `settle` (`facerec watch`): a file modified in the
    last `settle` seconds is being written; it is left for a later run.
    """
    check_inputs(folders)
    report = _Indexer(ctx, workers, on_progress).run(folders, prune, settle)
    report.names = None if report.interrupted else names_from_files(ctx, folders)
    if group and not report.interrupted:
        try:
            report.grouping = update_groups(ctx, on_grouping)
        except KeyboardInterrupt:
            report.interrupted = True
        except FacerecError as exc:  # the photos are stored; `people` places their faces later
            log.warning("the People groups were not updated: %s", exc)
            report.grouping_error = str(exc)
    return report


class _Indexer:
    """One index run (see the module docstring)."""

    def __init__(
        self, ctx: Context, workers: int | None = None, on_progress: Callable[[Progress], None] | None = None
    ) -> None:
        self.ctx = ctx
        self.library = ctx.db.library
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.on_progress = on_progress or (lambda p: None)

    def run(self, folders: Sequence[str | Path], prune: bool = False, settle: float = 0.0) -> IndexReport:
        report = IndexReport()
        start = time.perf_counter()
        known = self.library.pictures()
        todo: list[FoundFile] = []
        now = time.time()
        for cand in walk(folders, report.failed):
            if settle and now - settle < cand.mtime <= now:  # still being written: a later run takes it
                continue
            report.seen += 1
            state = known.get(cand.key)
            if state and state.indexed and state.size == cand.size and state.mtime == cand.mtime:
                report.skipped += 1
            else:
                todo.append(cand)
        report.seen += len(report.failed)
        if todo:  # the workers load the models; this process does not need them
            self._process(todo, known, report, start)
        if prune and not report.interrupted:
            roots = [path_key(f) for f in folders]
            gone = [k for k in self.library.indexed_under(roots) if not os.path.lexists(key_path(k))]
            report.pruned = self.library.prune(gone)
        report.seconds = time.perf_counter() - start
        return report

    def _process(
        self, todo: list[FoundFile], known: dict[str, PictureState], report: IndexReport, start: float
    ) -> None:
        by_hash: dict[str, list[PictureState]] = {}
        for state in known.values():
            if state.indexed and state.sha256:
                by_hash.setdefault(state.sha256, []).append(state)
        hashes = frozenset(by_hash)
        pending: list[IndexedPhoto] = []
        last_flush = time.perf_counter()
        done = 0
        mp = multiprocessing.get_context("spawn")
        level = logging.getLogger().getEffectiveLevel()
        _start_resource_tracker()
        initargs = (self.ctx.settings, hashes, level, os.getpid())
        pool = mp.Pool(self.workers, initializer=_init_worker, initargs=initargs)
        try:
            for result in pool.imap_unordered(_analyze, todo, chunksize=2):
                if result.fatal is not None:
                    self._flush(pending, report)
                    raise result.fatal
                done += 1
                self._record(result, by_hash, pending, report)
                if len(pending) >= BATCH_PHOTOS or time.perf_counter() - last_flush >= BATCH_SECONDS:
                    self._flush(pending, report)
                    last_flush = time.perf_counter()
                self.on_progress(Progress(done, len(todo), report.faces, time.perf_counter() - start))
            self._flush(pending, report)
            pool.close()
        except KeyboardInterrupt:
            report.interrupted = True
            pool.terminate()
            self._flush(pending, report)
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()

    def _record(
        self, result: Analysis, by_hash: dict[str, list[PictureState]], pending: list[IndexedPhoto], report: IndexReport
    ) -> None:
        cand = result.candidate
        if result.error is not None:
            report.failed.append((cand.key, result.error))
        elif result.photo is not None:
            pending.append(result.photo)
        elif result.known:
            self._reuse(cand, by_hash[result.sha256], report)

    def _reuse(self, cand: FoundFile, same_bytes: list[PictureState], report: IndexReport) -> None:
        """A file whose bytes are already indexed: touched, moved, or a copy."""
        for state in same_bytes:
            if state.picture == cand.key:
                self.library.touch(state.id, cand.size, cand.mtime)
                report.skipped += 1
                return
        for state in same_bytes:
            if not os.path.lexists(key_path(state.picture)):
                self.library.move(state.id, cand.key, cand.size, cand.mtime)
                same_bytes.remove(state)
                same_bytes.append(PictureState(state.id, cand.key, state.sha256, cand.size, cand.mtime, True))
                report.moved += 1
                return
        report.faces += self.library.copy(same_bytes[0].id, cand.key, cand.size, cand.mtime)
        report.copied += 1
        report.indexed += 1

    def _flush(self, pending: list[IndexedPhoto], report: IndexReport) -> None:
        if not pending:
            return
        report.faces += self.library.save_photos(pending)
        report.indexed += len(pending)
        pending.clear()
