"""Frame sources: a camera, a video file, a folder of images, or a stream URL.

This is the only module that touches `cv2.VideoCapture`. Use `open_source`
to get a `FrameSource`, then `frames()` in a `with` block. Live sources
(cameras, streams) are read on a background thread that keeps only the
newest frame, so a slow consumer never lags behind reality; files and
folders are read in order, every frame, a little ahead on the same kind of
thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2

from facerec.errors import CameraError, ImageError
from facerec.types import Image
from facerec.vision.images import IMAGE_SUFFIXES, load_image

log = logging.getLogger(__name__)

# OpenCV prints its own multi-line warnings when a camera is missing; our
# CameraError says it in one line instead.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


@dataclass(frozen=True)
class Frame:
    """One frame of a source.

    `index`: 0-based frame number. `timestamp`: seconds on the source's own
    clock (the video's timeline for files, wall time for cameras), which is
    what tracking timers use, so a file gives the same result however fast it
    is processed. `read_at`: `time.perf_counter()` when the frame was read,
    for measuring latency.
    """

    index: int
    image: Image
    timestamp: float
    read_at: float


class FrameSource:
    """Base class: `read()` gives the next frame or None at the end.

    `live`: frames come in real time (a camera, a stream, or a file played
    with `realtime=True`); a slow consumer gets the newest frame and the
    others are dropped, as with a real camera.
    """

    description = "source"
    live = False
    fps = 30.0
    paced = False  # a file played in real time: the reader waits 1/fps between frames
    stills = False  # each frame is a photo of its own (an image folder), not a moment of a video

    def read(self) -> Image | None:
        raise NotImplementedError

    def playback_delay_ms(self, frame_started: float) -> int:
        """How long a window should wait for a key after showing a frame whose
        processing began at `frame_started` (perf_counter): files play at their
        own frame rate, cameras as fast as frames come."""
        if self.live:
            return 1
        return max(1, int((1.0 / self.fps - (time.perf_counter() - frame_started)) * 1000))

    def close(self) -> None:
        pass

    def frames(self) -> Iterator[Frame]:
        """All frames, through a reader thread (see module docs)."""
        reader = _Reader(self)
        try:
            yield from reader
        finally:
            reader.stop()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CaptureSource(FrameSource):
    """A camera index, a video file or a stream URL, through OpenCV."""

    def __init__(self, spec: str, width: int | None = None, height: int | None = None) -> None:
        self.spec = spec
        is_camera = spec.isdigit()
        self.live = is_camera or "://" in spec
        if is_camera:
            self.description = f"camera {spec}"
            self._cap = cv2.VideoCapture(int(spec))
            if width and height:
                self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        else:
            self.description = spec if self.live else f"video {spec}"
            if not self.live and not Path(spec).is_file():
                raise CameraError(f"{spec}: no such video file, image folder or camera")
            self._cap = cv2.VideoCapture(spec)
        reported = self._cap.get(cv2.CAP_PROP_FPS) if self._cap.isOpened() else 0
        self.fps = reported if reported and 0 < reported <= 240 else 30.0
        if not self._cap.isOpened():
            self._cap.release()
            hint = "; pass --source with another camera index, a video file or an image folder"
            raise CameraError(f"{self.description} could not be opened{hint}")

    def read(self) -> Image | None:
        ok, frame = self._cap.read()
        return frame if ok else None

    def close(self) -> None:
        self._cap.release()


class FolderSource(FrameSource):
    """The images of a folder, in name order; unreadable files are skipped with a warning."""

    stills = True

    def __init__(self, folder: Path) -> None:
        self.description = f"folder {folder}"
        self._files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not self._files:
            raise CameraError(f"{folder}: no images in this folder")
        self._next = 0

    def read(self) -> Image | None:
        while self._next < len(self._files):
            path = self._files[self._next]
            self._next += 1
            try:
                return load_image(path).pixels
            except ImageError as exc:
                log.warning("skipping %s", exc)
        return None


def open_source(spec: str | int, realtime: bool = False) -> FrameSource:
    """Open a camera index ("0"), a video file, an image folder or a stream URL.

    `realtime=True` plays a file or folder like a camera: at its frame rate,
    dropping frames the consumer is too slow for (for latency measurements).
    """
    spec = str(spec).strip()
    if not spec:
        raise CameraError("empty source; pass a camera index, a video file, an image folder or a URL")
    path = Path(spec)
    source: FrameSource = FolderSource(path) if not spec.isdigit() and path.is_dir() else CaptureSource(spec)
    if realtime and not source.live:
        source.live = source.paced = True
    return source


_END = object()


class _Reader:
    """Reads frames on a thread. Live sources: keep only the newest frame.
    Files: hand over every frame, in order, reading a few ahead."""

    def __init__(self, source: FrameSource) -> None:
        self.source = source
        self._queue: queue.Queue[object] = queue.Queue(maxsize=1 if source.live else 4)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="frame-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        index = 0
        started = time.perf_counter()
        try:
            while not self._stop.is_set():
                if self.source.paced:
                    time.sleep(max(0.0, started + index / self.source.fps - time.perf_counter()))
                image = self.source.read()
                if image is None:
                    break
                now = time.perf_counter()
                frame = Frame(index, image, now if self.source.live else index / self.source.fps, now)
                index += 1
                if self.source.live:
                    self._put_latest(frame)
                else:
                    while not self._stop.is_set():
                        try:
                            self._queue.put(frame, timeout=0.1)
                            break
                        except queue.Full:
                            continue
        except Exception:  # a broken driver must not hang the consumer
            log.exception("frame reader failed")
        finally:
            self._put_latest(_END) if self.source.live else self._put_end()

    def _put_latest(self, item: object) -> None:
        try:
            self._queue.get_nowait()
        except queue.Empty:
            pass
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            pass

    def _put_end(self) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(_END, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[Frame]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            assert isinstance(item, Frame)
            yield item

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
