"""Real-time recognition on a camera, video file, image folder or stream.

Per frame: detect on a downscaled copy (YuNet at 320 px costs about a third
of 640 px), follow faces with the `Tracker`, and embed + search only the
faces that are new or due for a refresh, all of them in one database query.
`LiveLoop` is that per-frame logic; `run_live` adds the source, the window,
the keys and the headless event stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from facerec.errors import FacerecError, LooksLikeSomeoneElseError
from facerec.files import make_private_dir
from facerec.rules.naming import one_to_one
from facerec.types import Box, Candidate, Image
from facerec.usecases.context import Context
from facerec.usecases.people.register import register_frames
from facerec.video import overlay
from facerec.video.camera import Frame, FrameSource, open_source
from facerec.video.tracking import Track, Tracker
from facerec.video.window import KEY_ESC, Window
from facerec.vision.detectors import get_detector
from facerec.vision.images import save_private_image

__all__ = ["LiveEvent", "LiveLoop", "LiveOptions", "LiveReport", "run_live"]

log = logging.getLogger(__name__)

DETECT_SIDE = 320
"""Longer side of the frame copy the detector sees in live mode (640x480 -> 320x240).
Faces down to about 40 px in the full frame are still found."""

HELP = "q/Esc quit  p pause  s snapshot  r register face  h help"
FPS_REFRESH_S = 0.5
"""How often the FPS figure in the window changes."""
NOTICE_S = 2.5
"""How long a notice ("snapshot saved") stays in the window, in seconds."""
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
    snapshots: list[Path] = field(default_factory=list)

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


@dataclass
class LiveOptions:
    """How `run_live` behaves. `ask_name` is called (in the terminal) when `r`
    is pressed; return None to cancel. `confirm_guard(finding)` asks, in the same
    place, when the guard finds the face looks like someone else. `on_event` receives every event.
    `naive`, `draw` and `realtime` are for the benchmark: no tracking (embed
    and search every face of every frame), draw the overlays even without a
    window, and play a file like a camera (see `open_source`)."""

    source: str
    window: bool = True
    max_frames: int | None = None
    naive: bool = False
    draw: bool = False
    realtime: bool = False
    on_event: Callable[[LiveEvent], None] = lambda e: None
    ask_name: Callable[[], str | None] = lambda: None
    on_message: Callable[[str], None] = lambda m: None
    confirm_guard: Callable[[LooksLikeSomeoneElseError], bool] = lambda finding: False


def run_live(ctx: Context, options: LiveOptions) -> LiveReport:
    """Run recognition until the source ends or the user quits; returns the report."""
    loop = LiveLoop(ctx, naive=options.naive)
    with open_source(options.source, realtime=options.realtime) as source:
        window = Window("facerec - live", ctx.settings.display) if options.window else None
        session = _Session(ctx, loop, options, window)
        try:
            session.run(source)
        finally:
            if window is not None:
                window.close()
    return session.report


class _Session:
    """One run of the live window (or headless loop): frames in, keys handled.

    What a key did is confirmed in the window itself (a notice for a few
    seconds, "PAUSED" while paused), not only in the terminal."""

    def __init__(self, ctx: Context, loop: LiveLoop, options: LiveOptions, window: Window | None) -> None:
        self.ctx, self.loop, self.options, self.window = ctx, loop, options, window
        self.report = LiveReport()
        self.show_help = True
        self.notice: tuple[str, float] | None = None

    def run(self, source: FrameSource) -> None:
        report, window = self.report, self.window
        start = time.perf_counter()
        last: Frame | None = None
        fps_shown: float | None = None
        fps_at = start
        frames = source.frames()
        while True:
            t_wait = time.perf_counter()
            frame = next(frames, None)
            report.stage_ms["capture"] += (time.perf_counter() - t_wait) * 1000
            if frame is None:
                break
            last = frame
            for event in self.loop.step(frame, report):
                self.options.on_event(event)
            report.frames += 1
            if window is not None or self.options.draw:
                t_draw = time.perf_counter()
                if t_draw - fps_at >= FPS_REFRESH_S or fps_shown is None:  # readable, and its text is drawn once
                    fps_shown, fps_at = report.frames / (t_draw - start), t_draw
                drawn = self._draw(frame, f"{fps_shown:5.1f} FPS  {len(self.loop.visible)} face(s)")
                report.stage_ms["draw"] += (time.perf_counter() - t_draw) * 1000
            if window is not None:
                action = self._key(window.key(source.playback_delay_ms(t_wait)), frame, drawn)
                if action == "pause":
                    action = self._still(frame, drawn, until="pause", banner="PAUSED")
                if action == "quit" or window.closed():
                    break
            if self.options.max_frames is not None and report.frames >= self.options.max_frames:
                break
        report.seconds = time.perf_counter() - start
        if window is not None and last is not None and frame is None:
            # End of a file: keep the last frame up until the user closes the window.
            self._still(last, self._draw(last, "end of video - press q to close"), until="quit")

    def say(self, message: str, in_window: str | None = None) -> None:
        """Tell the user: in the terminal, and for a few seconds in the window
        (`in_window`, if shorter words fit it better)."""
        self.options.on_message(message)
        self.notice = (in_window or message, time.monotonic() + NOTICE_S)

    def _with_notice(self, drawn: Image, banner: str | None = None) -> Image:
        notice = self.notice if self.notice is not None and time.monotonic() < self.notice[1] else None
        if notice is None and banner is None:
            return drawn
        shown = drawn.copy()
        if banner is not None:
            overlay.draw_banner(shown, banner, avoid=self._faces())
        if notice is not None:
            overlay.draw_notice(shown, notice[0])
        return shown

    def _faces(self) -> list[Box]:
        """Where the faces in view are drawn (box and label): a banner stays off them."""
        return [overlay.face_region(t.face.box, t.name, t.distance) for t in self.loop.visible]

    def _draw(self, frame: Frame, status: str, chosen: Track | None = None) -> Image:
        """The frame as drawn (what a snapshot saves); the window also shows any notice."""
        drawn = self.loop.draw(frame.image, status, HELP if self.show_help else None, chosen)
        if self.window is not None:
            self.window.show(self._with_notice(drawn))
        return drawn

    def _still(self, frame: Frame, drawn: Image, until: str, banner: str | None = None) -> str:
        """Keep handling keys on a still frame until the `until` action (or quit)."""
        assert self.window is not None
        shown_notice: object = ()
        while not self.window.closed():
            if self.notice is not None and time.monotonic() >= self.notice[1]:
                self.notice = None
            if self.notice != shown_notice:  # show the banner, and a notice as it comes and goes
                self.window.show(self._with_notice(drawn, banner))
                shown_notice = self.notice
            action = self._key(self.window.key(50), frame, drawn)
            if action in ("quit", until):
                return action
        return "quit"

    def _key(self, key: int, frame: Frame, drawn: Image) -> str | None:
        if key in (ord("q"), ord("Q"), KEY_ESC):
            return "quit"
        if key in (ord("p"), ord(" ")):
            return "pause"
        if key == ord("h"):
            self.show_help = not self.show_help
        elif key == ord("s"):
            path = save_snapshot(self.ctx, drawn, frame.index)
            self.report.snapshots.append(path)
            self.say(f"snapshot saved: {path}", f"snapshot saved: {path.name}")
        elif key == ord("r"):
            self._register_in_view(frame)
        return None

    def _register_in_view(self, frame: Frame) -> None:
        """`r`: the largest face in view (boxed in amber) becomes a sample of the name typed in the terminal."""
        ctx, loop = self.ctx, self.loop
        if not loop.visible:
            self.say("no face in view to register")
            return
        track = max(loop.visible, key=lambda t: t.face.box.area)
        many = len(loop.visible) > 1
        which = f"the largest of {len(loop.visible)} faces (amber box)" if many else "the face in view"
        self.options.on_message(f"registering {which}: type the name in the terminal")
        if self.window is not None:
            drawn = self._draw(frame, "registering: type the name in the terminal", chosen=track)
            shown = drawn.copy()
            overlay.draw_banner(shown, "type the name in the terminal", avoid=self._faces())
            if many:
                overlay.draw_notice(shown, "registering the largest face (amber box)")
            self.window.show(shown)
            self.window.key(1)  # paint it before the terminal blocks
        chosen = ctx.pipeline.embed(frame.image, [track.face])[0]
        name = self.options.ask_name()
        if not name:
            self.say("registration cancelled")
            return
        try:
            try:
                result = register_frames(ctx, name, [(frame.image, chosen)])
            except LooksLikeSomeoneElseError as exc:  # the guard: ask, where the name was asked
                if not self.options.confirm_guard(exc):
                    self.say(f"not registered: {exc}", "not registered: looks like someone else")
                    return
                result = register_frames(ctx, name, [(frame.image, chosen)], force=True)
        except FacerecError as exc:
            self.say(f"not registered: {exc}")
            return
        for warning in result.warnings:
            self.options.on_message(f"warning (stored anyway): {warning}")
        self.say(f"registered a sample of {result.name}")
        loop.forget_identities()


def save_snapshot(ctx: Context, image: Image, frame_index: int) -> Path:
    """Save the frame as drawn (with its boxes and names) as a private PNG in the data directory."""
    make_private_dir(ctx.settings.snapshots_dir)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = ctx.settings.snapshots_dir / f"snapshot-{stamp}-frame{frame_index}.png"
    save_private_image(path, image)
    return path
