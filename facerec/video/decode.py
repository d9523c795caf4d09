"""Reading video files: frames, upright and in BGR, with their times.

The only module that imports PyAV (`av`), whose wheels carry FFmpeg's
decoders: H.264, HEVC (8- and 10-bit, as phones record it), VP8/VP9, AV1
(dav1d), MPEG-4 part 2, H.263, MPEG-1/2, MJPEG and more, in MP4/MOV, Matroska/WebM,
AVI, 3GP and MPEG transport streams, with nothing else to install.
OpenCV's own FFmpeg build decodes the same files, but turns 10-bit HEVC
(iPhone video since 2020) into BGR about 10x slower and with shifted colours,
and hides the rotation, timestamps and errors that PyAV reports
(measurements in `docs/benchmarks.md`).

Every way a file can be wrong (missing, not a regular file, not a video, no
video stream, too large a frame, a decoder error on every packet, longer to
read than `max_seconds`) becomes a `VideoError` that names the file. A file cut
short (a copy in progress, a broken download) ends where its data ends.
Decoding opens the file and nothing else: no network, nothing written.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.frame import VideoFrame

from facerec.errors import VideoError
from facerec.types import Image
from facerec.video.suffixes import VIDEO_SUFFIXES as VIDEO_SUFFIXES  # where it used to be
from facerec.vision.images import MAX_PIXELS

log = logging.getLogger(__name__)

SCENE_CUT = 0.15
"""`scene_change` from one frame to the next at and above which a new shot starts.
The cuts of the test and bench clips score 0.22 and 0.46; pans, zooms, people
entering, leaving or swapped within a shot at most 0.04."""

MAX_ERRORS = 50
"""Packets in a row the decoder may reject before the rest of the file is given up as damaged."""

_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
_PLANAR_LUMA = ("yuv", "yuvj", "yuva", "nv12", "nv21", "nv16", "gray", "gbrp", "p010", "p016")


@dataclass(frozen=True)
class ClipInfo:
    """What a clip's header says.

    `duration_s`: seconds (0.0 when the container does not say, as in some
    WebM files; the analysis then uses the last frame's time). `fps`: the
    average frame rate (frames per second; phones record 24-60, and VFR clips
    vary around it). `width`, `height`: the upright picture in pixels (after
    rotation and non-square pixels). `rotation`: degrees clockwise applied to
    the stored frames to make them upright (0, 90, 180 or 270: a phone held
    upright records 90). `codec`, `container`: FFmpeg's names (`hevc`,
    `mov,mp4,m4a,3gp,3g2,mj2`). `decoder`: what decoded it, with versions.
    """

    path: Path
    duration_s: float
    fps: float
    width: int
    height: int
    rotation: int
    codec: str
    container: str
    decoder: str


@dataclass(frozen=True)
class Sample:
    """One decoded frame handed on for analysis.

    `time_s`: its presentation time in seconds from the start of the clip
    (what an HTML5 player's `currentTime` calls it). `image`: upright BGR.
    `scene_cut`: the picture changed completely since the previous decoded
    frame (a cut between shots). `frames_decoded`: frames decoded so far,
    this one included.
    """

    time_s: float
    image: Image
    scene_cut: bool
    frames_decoded: int


def decoder_name() -> str:
    """PyAV's and FFmpeg's versions, e.g. `PyAV 18.1.0 (libavcodec 62.28.102)`."""
    codec = ".".join(str(n) for n in av.library_versions.get("libavcodec", ()))
    return f"PyAV {av.__version__} (libavcodec {codec})"


def _describe(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", None) or exc).strip()
    return text.split(":")[0].strip() if ": '" in text else text


class Clip:
    """An open video file. Use `open_clip(path)` in a `with` block."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.frames_decoded = 0
        """Frames decoded by `samples` so far."""
        self._read = False  # frames were read since the file was opened
        try:
            if path.is_dir():
                raise VideoError(f"{path}: is a directory, not a video")
            if not path.exists():
                raise VideoError(f"{path}: no such file")
            if not path.is_file():  # a FIFO or a device would block or never end
                raise VideoError(f"{path}: not a regular file")
            self._container = av.open(str(path), mode="r", metadata_errors="ignore")
        except VideoError:
            raise
        except PermissionError:
            raise VideoError(f"{path}: permission denied") from None
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise VideoError(f"{path}: not a video facerec can read ({_describe(exc)})") from None
        try:
            if self._container.format.name == "image2" or self._container.format.name.endswith("_pipe"):
                raise VideoError(f"{path}: is a still image, not a video")
            if not self._container.streams.video:
                raise VideoError(f"{path}: no video stream in this file")
            self._stream = self._container.streams.video[0]
            self._stream.thread_type = "AUTO"  # frame threads: every core decodes
            self.info = self._read_info()
        except BaseException:
            self._container.close()
            raise

    def _read_info(self) -> ClipInfo:
        stream, ctx = self._stream, self._stream.codec_context
        width, height = ctx.width, ctx.height
        if width <= 0 or height <= 0:
            raise VideoError(f"{self.path}: the video stream has no picture size")
        if width * height > MAX_PIXELS:
            raise VideoError(f"{self.path}: frames of {width}x{height} are too large")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate and 0 < float(rate) <= 1000 else 30.0
        if stream.duration is not None and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif self._container.duration is not None:
            duration = self._container.duration / av.time_base
        else:
            duration = 0.0
        self._sar = _aspect(stream.sample_aspect_ratio or ctx.sample_aspect_ratio)
        display_w = _even(width * self._sar) if self._sar != 1 else width
        self._start = (
            float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0
        )
        self._rotation = self._first_rotation()
        w, h = (height, display_w) if self._rotation in (90, 270) else (display_w, height)
        return ClipInfo(
            self.path,
            max(0.0, duration),
            fps,
            w,
            h,
            self._rotation,
            ctx.name,
            self._container.format.name,
            decoder_name(),
        )

    def _first_rotation(self) -> int:
        """The display matrix's rotation, as degrees clockwise to apply (read from
        the first frame, where PyAV exposes it; the stream is rewound after)."""
        try:
            frame = next(self._decoded(), None)
        finally:
            self._rewind()
        if frame is None:
            return 0
        return (-round(frame.rotation / 90) * 90) % 360

    def _rewind(self) -> None:
        """Back to the first frame: the file is opened again (seeking to 0 is not
        exact in every container, e.g. MPEG-TS)."""
        self._container.close()
        self._container = av.open(str(self.path), mode="r", metadata_errors="ignore")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._read = False

    def _decoded(self, deadline: float | None = None) -> Iterator[VideoFrame]:
        """Every frame in order; a damaged packet is skipped, and the file ends
        after `MAX_ERRORS` in a row (or at `deadline`, perf_counter seconds: `VideoError`)."""
        errors = 0
        self._read = True
        try:
            for packet in self._container.demux(self._stream):
                if deadline is not None and time.perf_counter() > deadline:
                    raise VideoError(f"{self.path}: decoding took too long; the file may be damaged")
                try:
                    frames = packet.decode()
                except av.FFmpegError as exc:
                    errors += 1
                    log.debug("%s: skipped a packet the decoder rejected (%s)", self.path, exc)
                    if errors >= MAX_ERRORS:
                        log.warning("%s: the rest of the file cannot be decoded; stopped there", self.path)
                        return
                    continue
                errors = 0
                yield from frames
        except av.FFmpegError as exc:  # the demuxer: a file cut short, a broken index
            log.info("%s: the file ends early (%s)", self.path, _describe(exc))

    def _time(self, frame: VideoFrame, index: int) -> float:
        t = frame.time
        return max(0.0, t - self._start) if t is not None else index / self.info.fps

    def upright(self, frame: VideoFrame) -> Image:
        """`frame` in BGR, rotated upright, with square pixels."""
        width = _even(frame.width * self._sar) if self._sar != 1 else frame.width
        src_range = frame.color_range if frame.color_range == 2 else None  # full-range YUV not tagged as yuvj
        image = frame.reformat(width=width, height=frame.height, format="bgr24", src_color_range=src_range).to_ndarray()
        rotate = _ROTATE.get((-round(frame.rotation / 90) * 90) % 360)
        return cv2.rotate(image, rotate) if rotate is not None else image

    def samples(
        self,
        interval_s: float,
        scene_threshold: float = SCENE_CUT,
        max_seconds: float | None = None,
        every_frame: bool = False,
    ) -> Iterator[Sample]:
        """The frames to analyse: one every `interval_s` seconds of video, and
        the first frame of each new shot (`scene_cut`; see `scene_change`, 0..1,
        `scene_threshold` the cut-off). Only these are converted to BGR. Frames
        no other frame refers to (B-frames) are not decoded at all unless
        `every_frame`: that halves the decoding of clips that have them (most
        cameras' H.264 and HEVC) and moves a sample by a frame at most.
        `max_seconds`: wall-clock bound on the whole read (`VideoError` past it)."""
        deadline = None if max_seconds is None else time.perf_counter() + max_seconds
        if self._read:
            self._rewind()
        if not every_frame:
            self._stream.codec_context.skip_frame = "NONREF"
        next_t = 0.0
        interval_s = max(interval_s, 1e-3)
        slack = min(0.01, interval_s / 10)  # times rounded to the container's clock (1 ms in Matroska)
        previous: np.ndarray | None = None
        decoded = 0
        for frame in self._decoded(deadline):
            decoded += 1
            self.frames_decoded = decoded
            t = self._time(frame, decoded - 1)
            signature = _signature(frame)
            cut = previous is not None and scene_change(previous, signature) >= scene_threshold
            previous = signature
            if t + slack >= next_t or cut:
                yield Sample(t, self.upright(frame), cut, decoded)
                next_t = (np.floor(t / interval_s + 1e-6) + 1) * interval_s  # the next point of the grid
        if decoded == 0:
            raise VideoError(f"{self.path}: no frame could be decoded")

    def frame_at(self, seconds: float) -> Image:
        """The upright BGR frame shown at `seconds` (the last one at or before it;
        the first frame for 0 or less, the last frame past the end)."""
        target = max(0.0, seconds)
        ts = int((target + self._start) / self._stream.time_base) if self._stream.time_base else 0
        best: VideoFrame | None = None
        self._stream.codec_context.skip_frame = "DEFAULT"  # every frame: the one asked for may be a B-frame
        try:
            self._container.seek(ts, stream=self._stream, backward=True, any_frame=False)
            best = self._last_before(target)
        except av.FFmpegError:
            pass
        if best is None:  # the key frame's data is missing (a file cut short): read from the start
            self._rewind()
            best = self._last_before(target)
        if best is None:
            raise VideoError(f"{self.path}: no frame could be decoded")
        return self.upright(best)

    def _last_before(self, target: float) -> VideoFrame | None:
        """The last frame at or before `target`, decoding on from where the file
        is; None if the first one is already past it (a seek that overshot)."""
        best: VideoFrame | None = None
        for index, frame in enumerate(self._decoded(time.perf_counter() + 60.0)):
            if self._time(frame, index) > target + 1e-3:
                if best is None and target > 0:
                    return None
                return best or frame
            best = frame
        return best

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> Clip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_DONE = object()


def read_ahead(samples: Iterator[Sample], size: int = 2) -> Generator[Sample, None, None]:
    """`samples`, produced on a thread up to `size` ahead of the consumer: FFmpeg
    decodes the next frames while the consumer works on this one (both release
    Python's lock). Errors are raised in the consumer; stopping early stops the thread."""
    out: queue.Queue[object] = queue.Queue(maxsize=size)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for sample in samples:
                if not put(sample):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=run, name="clip-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, Sample)
            yield item
    finally:
        stop.set()
        thread.join(timeout=10)


def open_clip(path: str | Path) -> Clip:
    """Open a video file (`VideoError` if it cannot be read as one)."""
    return Clip(Path(path))


def frame_at(path: str | Path, seconds: float) -> Image:
    """The upright BGR frame of the video at `path` shown at `seconds` (for contact
    sheets and thumbnails). Seeks to the key frame before it and decodes from there
    (phones put a key frame every 1-2 s: tens of milliseconds at 1080p)."""
    with open_clip(path) as clip:
        return clip.frame_at(seconds)


def scene_change(a: np.ndarray, b: np.ndarray) -> float:
    """How different two frame signatures (`_signature`) are, 0..1: the smaller of
    (1) half the L1 distance between their brightness histograms (16 bands), which a
    pan or a moving person keeps low, and (2) the share of sample points whose
    brightness moved by more than 1/8 of the range, which a slow change of exposure
    keeps low (see `SCENE_CUT`)."""
    ha = np.bincount(a.reshape(-1) >> 4, minlength=16)
    hb = np.bincount(b.reshape(-1) >> 4, minlength=16)
    histogram = float(np.abs(ha - hb).sum()) / (2 * a.size)
    moved = float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16)) > 32))
    return min(histogram, moved)


def _signature(frame: VideoFrame) -> np.ndarray:
    """A 36x64 grid of brightness samples (uint8) of `frame`: about 0.03 ms for a
    planar YUV frame (read straight from its luma plane), a small rescale otherwise."""
    fmt = frame.format
    if fmt.name.startswith(_PLANAR_LUMA):
        plane = frame.planes[0]
        bits = fmt.components[0].bits if fmt.components else 8
        dtype = np.uint16 if bits > 8 else np.uint8
        rows: np.ndarray = np.frombuffer(memoryview(plane), dtype).reshape(plane.height, -1)[:, : plane.width]
        sy, sx = max(1, plane.height // 36), max(1, plane.width // 64)
        grid = rows[sy // 2 :: sy, sx // 2 :: sx][:36, :64]
        if bits > 8:
            grid = np.right_shift(grid, bits - 8)
        return np.ascontiguousarray(grid, dtype=np.uint8)
    return frame.reformat(width=64, height=36, format="gray").to_ndarray().astype(np.uint8)


def _aspect(sar: Fraction | None) -> float:
    if not sar or sar.numerator <= 0 or sar.denominator <= 0:
        return 1.0
    value = float(sar)
    return value if 0.25 <= value <= 4 and abs(value - 1) > 1e-3 else 1.0


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)
