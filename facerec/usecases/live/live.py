"""Real-time recognition on a camera, video file, image folder or stream.

Per frame: detect on a downscaled copy (YuNet at 320 px costs about a third
of 640 px), follow faces with the `Tracker`, and embed + search only the
faces that are new or due for a refresh, all of them in one database query.
`LiveLoop` is that per-frame logic; `run_live` feeds it the source's frames
and hands each one, drawn, to a `LiveView` when there is one: the window,
with its keys, banners and help, is the terminal edge's
(`facerec.ui.windows.live`). Without a view it is the headless event stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from facerec.files import make_private_dir
from facerec.rules.naming import one_to_one
from facerec.types import Box, Candidate, Image
from facerec.usecases.context import Context
from facerec.video import overlay
from facerec.video.camera import Frame, FrameSource, open_source
from facerec.video.tracking import Track, Tracker
from facerec.vision.detectors import get_detector
from facerec.vision.images import save_private_image

__all__ = ["LiveEvent", "LiveLoop", "LiveOptions", "LiveReport", "LiveView", "run_live"]

log = logging.getLogger(__name__)

DETECT_SIDE = 320
"""Longer side of the frame copy the detector sees in live mode (640x480 -> 320x240).
Faces down to about 40 px in the full frame are still found."""

FPS_REFRESH_S = 0.5
"""How often the FPS figure in the window changes."""
STAGES = ("capture", "detect", "embed", "search", "draw")


@dataclass(frozen=True)
class LiveEvent:
    """A face identified for the first time, or identified as someone else.

    `latency_ms`: from the moment the frame was read to the moment its name was known.
    """

    frame: int
    track: int
    name: str | None
    distance: float | None
    latency_ms: float
    box: Box | None = None


@dataclass
class LiveReport:
    """What a live run did, with per-stage times (mean ms per frame)."""

    frames: int = 0
    seconds: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    events: list[LiveEvent] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def mean_ms(self) -> dict[str, float]:
        return {k: v / max(1, self.frames) for k, v in self.stage_ms.items()}


class LiveLoop:
    """Detection, tracking and identification for a stream of frames.

    `naive=True` embeds and searches every face of every frame (no tracking):
    the baseline the benchmark compares against.
    """

    def __init__(self, ctx: Context, detect_side: int = DETECT_SIDE, naive: bool = False) -> None:
        self.ctx = ctx
        # Its own detector for the smaller frames; the network is the pipeline's (see vision.runtime).
        self.detector = get_detector(ctx.settings.detector, max_side=detect_side, runtime=ctx.settings.runtime)
        _ = ctx.pipeline  # load the embedder now, not while the first face waits for its name
        self.tracker = Tracker()
        self.naive = naive
        self.visible: list[Track] = []
        self._candidates: dict[int, list[Candidate]] = {}
        """Track id -> its nearest registered people, as last looked up."""

    def step(self, frame: Frame, report: LiveReport) -> list[LiveEvent]:
        """Process one frame; returns the identification events it produced."""
        t0 = time.perf_counter()
        faces = self.detector.detect(frame.image)
        t1 = time.perf_counter()
        now = frame.timestamp
        self.visible = self.tracker.update(faces, now, frame.image)
        due = list(self.visible) if self.naive else self.tracker.due(self.visible, now)
        events: list[LiveEvent] = []
        t2 = t3 = t1
        if due:
            embedded = self.ctx.pipeline.embed(frame.image, [t.face for t in due])
            t2 = time.perf_counter()
            found = self.ctx.db.people.nearest([e.embedding for e in embedded])
            for track, candidates in zip(due, found):
                self._candidates[track.id] = candidates
            t3 = time.perf_counter()
            events = self._name_visible(set(id(t) for t in due), frame, now, t3)
        elif self._conflicts_possible():
            events = self._name_visible(set(), frame, now, t1)
        report.stage_ms["detect"] += (t1 - t0) * 1000
        report.stage_ms["embed"] += (t2 - t1) * 1000
        report.stage_ms["search"] += (t3 - t2) * 1000
        report.events.extend(events)
        return events

    def _conflicts_possible(self) -> bool:
        """Whether a track that left could free a name another track was denied."""
        visible = {t.id for t in self.visible}
        gone = [k for k in self._candidates if k not in visible]
        for k in gone:
            del self._candidates[k]
        return bool(gone) and len(visible) > 0

    def _name_visible(self, due: set[int], frame: Frame, now: float, known_at: float) -> list[LiveEvent]:
        """Name the visible faces one-to-one (a person is in a frame at most once), from
        each track's nearest people as last looked up; events for tracks whose name is news."""
        tracks = [t for t in self.visible if t.id in self._candidates]
        chosen = one_to_one([self._candidates[t.id] for t in tracks], self.ctx.threshold)  # one frame: the naming rule
        events = []
        for track, pick in zip(tracks, chosen):
            candidates = self._candidates[track.id]
            name = pick.name if pick is not None else None
            distance = pick.distance if pick is not None else (candidates[0].distance if candidates else None)
            if id(track) in due:
                news = self.tracker.set_identity(track, name, distance, now)
            elif name != track.name:
                track.name, track.distance, news = name, distance, True
            else:
                news = False
            if news:
                latency = (known_at - frame.read_at) * 1000
                events.append(LiveEvent(frame.index, track.id, name, distance, latency, track.face.box))
        return events

    def draw(self, image: Image, status: str, help_text: str | None, chosen: Track | None = None) -> Image:
        """A copy of `image` with boxes, names, distances, status and help;
        `chosen` (the face `r` registers) gets a box of its own."""
        out = image.copy()
        for t in self.visible:
            overlay.draw_face(out, t.face.box, t.name, t.distance, chosen=t is chosen)
        overlay.draw_status(out, status)
        if help_text:
            overlay.draw_help(out, help_text)
        return out

    def forget_identities(self) -> None:
        """Make every track re-identify on the next frame (after a registration)."""
        for t in self.tracker.tracks:
            t.identified_at = None


class LiveView(Protocol):
    """Where the frames are shown as they are processed (a window), and what the user
    does there. `show` returns "quit" to stop; it may hold a frame (pause) meanwhile."""

    def show(self, frame: Frame, drawn: Image, delay_ms: int) -> str | None: ...

    def hold(self, frame: Frame, drawn: Image) -> None:
        """The source ended: keep its last frame shown until the user closes the view."""

    def help(self) -> str | None:
        """The key help to draw on the frames (None: not now)."""

    def close(self) -> None:
        """The run is over."""


@dataclass
class LiveOptions:
    """How `run_live` behaves. `on_event` receives every event. `naive`, `draw` and
    `realtime` are for the benchmark: no tracking (embed and search every face of
    every frame), draw the overlays even without a view, and play a file like a
    camera (see `open_source`)."""

    source: str
    max_frames: int | None = None
    naive: bool = False
    draw: bool = False
    realtime: bool = False
    on_event: Callable[[LiveEvent], None] = lambda e: None


def run_live(
    ctx: Context,
    options: LiveOptions,
    view: Callable[[LiveLoop], LiveView] | None = None,
) -> LiveReport:
    """Run recognition until the source ends or the user quits; returns the report.
    `view` makes the view that shows the frames (given the loop, whose faces it may
    act on), or None for the headless event stream."""
    loop = LiveLoop(ctx, naive=options.naive)
    report = LiveReport()
    with open_source(options.source, realtime=options.realtime) as source:
        shown = view(loop) if view is not None else None
        try:
            _play(loop, source, options, shown, report)
        finally:
            if shown is not None:
                shown.close()
    return report


def _play(
    loop: LiveLoop, source: FrameSource, options: LiveOptions, shown: LiveView | None, report: LiveReport
) -> None:
    """Frames through the loop (and the view) until the source ends, the user quits or enough frames were read."""
    start = time.perf_counter()
    last: tuple[Frame, Image] | None = None
    fps_shown: float | None = None
    fps_at = start
    ended = False
    frames = source.frames()
    while True:
        t_wait = time.perf_counter()
        frame = next(frames, None)
        report.stage_ms["capture"] += (time.perf_counter() - t_wait) * 1000
        if frame is None:
            ended = True
            break
        for event in loop.step(frame, report):
            options.on_event(event)
        report.frames += 1
        if shown is not None or options.draw:
            t_draw = time.perf_counter()
            if t_draw - fps_at >= FPS_REFRESH_S or fps_shown is None:  # readable, and its text is drawn once
                fps_shown, fps_at = report.frames / (t_draw - start), t_draw
            status = f"{fps_shown:5.1f} FPS  {len(loop.visible)} face(s)"
            drawn = loop.draw(frame.image, status, shown.help() if shown is not None else None)
            report.stage_ms["draw"] += (time.perf_counter() - t_draw) * 1000
            last = (frame, drawn)
            if shown is not None and shown.show(frame, drawn, source.playback_delay_ms(t_wait)) == "quit":
                break
        if options.max_frames is not None and report.frames >= options.max_frames:
            break
    report.seconds = time.perf_counter() - start
    if shown is not None and last is not None and ended:  # the end of a file: its last frame stays up
        shown.hold(last[0], loop.draw(last[0].image, "end of video - press q to close", shown.help()))


def save_snapshot(ctx: Context, image: Image, frame_index: int) -> Path:
    """Save the frame as drawn (with its boxes and names) as a private PNG in the data directory."""
    make_private_dir(ctx.settings.snapshots_dir)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = ctx.settings.snapshots_dir / f"snapshot-{stamp}-frame{frame_index}.png"
    save_private_image(path, image)
    return path
