"""Guided registration from a camera (or a video / image folder standing in for one).

Frames are judged one by one; a frame becomes a sample only if it shows
exactly one face, big enough, sharp enough, and different enough from the
samples already kept (so the samples cover a few head poses rather than
five copies of one). Samples are spread in time: after one is kept, the
prompt asks for the next pose and no frame is taken for `SAMPLE_INTERVAL_S`
seconds (of the source's own clock, so a video gives the same samples
however fast it is read), time enough to follow it. Nothing is stored until
the samples are collected, and then all of them in one transaction; if the
source ends with fewer, the user is asked whether to keep those. Esc stores
nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from facerec.errors import CameraError, Cancelled, LooksLikeSomeoneElseError
from facerec.types import EmbeddedFace, Image
from facerec.usecases.context import Context
from facerec.usecases.people.names import check_new_name, validate_name
from facerec.usecases.people.register import Registration, register_frames
from facerec.video.camera import Frame, FrameSource, open_source
from facerec.vision.quality import sharpness

__all__ = ["EnrollOptions", "Enrollment", "enroll"]

log = logging.getLogger(__name__)

MIN_FACE_PX = 80
"""Smallest face (box width, pixels) accepted as a sample; smaller faces embed poorly."""

MIN_SHARPNESS = 100.0
"""Floor on the variance of the Laplacian of the 112x112 aligned face. Calibrated
on the dev set with faces scaled to 160 px: every sharp photo scores at least 125
(median 951); after a Gaussian blur of sigma 3, 95% score under 73 (median 31)."""

MIN_CHANGE = 0.03
"""Cosine distance a new sample must have from every kept sample (0 = identical
frame). Consecutive frames of a still face are about 0.01 apart; a slight head
turn is 0.05-0.15."""

SAMPLE_INTERVAL_S = 1.5
"""Seconds (source clock) between two samples: a pose prompt stays up at least this long.
Space takes a sample at once; an image folder (each frame its own photo) has no wait."""

PROMPTS = (
    "look straight at the camera",
    "turn slightly left",
    "turn slightly right",
    "tilt your head up a little",
    "tilt your head down a little",
)


@dataclass(frozen=True)
class FrameVerdict:
    """Whether a frame is a good sample, and why not."""

    face: EmbeddedFace | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass
class Enrollment:
    """Collects samples for one person. Feed frames to `consider`."""

    ctx: Context
    samples: int = 5
    min_face: int = MIN_FACE_PX
    min_sharpness: float = MIN_SHARPNESS
    min_change: float = MIN_CHANGE
    kept: list[tuple[Image, EmbeddedFace]] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)
    frames: int = 0
    """Frames the source gave (most are not judged: samples are taken `SAMPLE_INTERVAL_S` apart)."""

    @property
    def done(self) -> bool:
        return len(self.kept) >= self.samples

    @property
    def pose(self) -> str:
        """What the person should do for the next sample."""
        return PROMPTS[len(self.kept) % len(PROMPTS)]

    @property
    def prompt(self) -> str:
        return f"{len(self.kept) + 1}/{self.samples} - {self.pose}"

    def judge(self, image: Image) -> FrameVerdict:
        pipeline = self.ctx.pipeline
        faces = pipeline.detect(image)
        if not faces:
            return FrameVerdict(None, "no face")
        if len(faces) > 1:
            return FrameVerdict(None, "several faces")
        face = faces[0]
        if face.box.w < self.min_face:
            return FrameVerdict(None, "face too small")
        aligned = getattr(pipeline.embedder, "align", None)
        if aligned is not None and sharpness(aligned(image, face)) < self.min_sharpness:
            return FrameVerdict(None, "blurred")
        embedded = pipeline.embed(image, [face])[0]
        for _, kept in self.kept:
            if 1.0 - float(np.dot(kept.embedding, embedded.embedding)) < self.min_change:
                return FrameVerdict(embedded, "too similar to a kept sample")
        return FrameVerdict(embedded)

    def consider(self, image: Image) -> FrameVerdict:
        """Judge a frame and keep it if it is good."""
        verdict = self.judge(image)
        if verdict.ok and verdict.face is not None:
            self.kept.append((image, verdict.face))
        else:
            self.rejected[verdict.reason or ""] = self.rejected.get(verdict.reason or "", 0) + 1
        return verdict


class EnrollView(Protocol):
    """Where guided registration shows the camera (a window): each frame with the
    verdict on it, if one was made; `show` returns "cancel" (Esc), "capture" (take
    this frame now) or None."""

    def show(self, frame: Frame, enrollment: Enrollment, verdict: FrameVerdict | None, delay_ms: int) -> str | None: ...

    def close(self) -> None: ...


@dataclass
class EnrollOptions:
    """How `enroll` behaves.

    `confirm(question)` is asked (in the terminal) when the name exists, or the
    source ended with fewer good samples than asked; `confirm_guard(finding)`
    when the guard finds the samples look like someone else (no `--yes` for
    that one: a person, or `force`). False stores nothing. `interval_s`: see
    `SAMPLE_INTERVAL_S`. `view(name)` makes the window that shows the camera
    (`facerec.ui.windows.enroll`); None: text mode.
    """

    source: str
    samples: int = 5
    view: Callable[[str], EnrollView] | None = None
    interval_s: float = SAMPLE_INTERVAL_S
    confirm: Callable[[str], bool] = lambda q: False
    confirm_guard: Callable[[LooksLikeSomeoneElseError], bool] = lambda finding: False
    force: bool = False
    on_message: Callable[[str], None] = lambda m: None


def enroll(ctx: Context, name: str, options: EnrollOptions) -> Registration:
    """Collect `options.samples` good samples of `name` and store them together.

    Raises `Cancelled` on Esc / a "no" answer, `CameraError` if the source ends
    first with no good sample, or with some and the answer to keeping them is no.
    """
    name = validate_name(name)
    check_new_name(ctx, name, options.force)
    exists = ctx.db.people.find_person(name) is not None
    if exists and not options.confirm(f"{name!r} is already registered; add samples to them?"):
        raise Cancelled(f"{name!r} is already registered; nothing stored (answer yes, or pass --yes, to add samples)")
    enrollment = Enrollment(ctx, samples=options.samples)
    with open_source(options.source) as source:
        view = options.view(name) if options.view is not None else None
        try:
            _collect(enrollment, source, options, view)
        finally:
            if view is not None:
                view.close()
    if not enrollment.done:
        _ended_early(enrollment, options)
    try:
        return register_frames(ctx, name, enrollment.kept, force=options.force)
    except LooksLikeSomeoneElseError as exc:
        if not options.confirm_guard(exc):
            raise
    return register_frames(ctx, name, enrollment.kept, force=True)


def _collect(enrollment: Enrollment, source: FrameSource, options: EnrollOptions, view: EnrollView | None) -> None:
    last_kept: float | None = None
    action: str | None = None
    options.on_message(enrollment.prompt)
    for frame in source.frames():
        now = time.perf_counter()
        enrollment.frames += 1
        verdict = None
        due = last_kept is None or source.stills or frame.timestamp - last_kept >= options.interval_s
        if due or action == "capture":
            verdict = enrollment.consider(frame.image)
            if verdict.ok:
                last_kept = frame.timestamp
                kept = f"sample {len(enrollment.kept)}/{enrollment.samples} kept"
                options.on_message(kept if enrollment.done else f"{kept}; next: {enrollment.pose}")
        if view is not None:
            action = view.show(frame, enrollment, verdict, source.playback_delay_ms(now))
            if action == "cancel":
                raise Cancelled("registration cancelled; nothing stored")
        if enrollment.done:
            return


def _ended_early(enrollment: Enrollment, options: EnrollOptions) -> None:
    """The source ended first: keep the samples taken if the user says so, else raise `CameraError`."""
    got, wanted = len(enrollment.kept), enrollment.samples
    if enrollment.rejected:
        why = "frames rejected - " + ", ".join(f"{k}: {v}" for k, v in sorted(enrollment.rejected.items()))
    elif enrollment.frames == 0:
        why = "it gave no frames"
    else:  # every frame judged was kept: the source is shorter than the samples take
        why = f"no frame was rejected, it ended too soon: a sample is taken every {options.interval_s:g} s"
    ended = f"the source ended with {got} of {wanted} good samples ({why})"
    if got and options.confirm(f"{ended}; keep the {got} taken?"):
        return
    hint = f" (answer yes to keep them, or ask for --samples {got})" if got else ""
    raise CameraError(f"{ended}; nothing stored{hint}")
