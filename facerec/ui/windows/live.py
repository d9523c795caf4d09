"""The live window: what `facerec live` (and the menu's item 1) shows, and its keys.

q/Esc quit, p (or space) pause, s snapshot, r register the face in view (the
largest, boxed in amber, when there are several; the name is typed in the
terminal), h the key help. What a key did is confirmed in the window itself (a
notice for a few seconds, "PAUSED" while paused), not only in the terminal, and
a banner is placed where it covers no face. The frames and the recognition come
from `facerec.usecases.live.live.run_live`; this is only the window.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from facerec.errors import FacerecError, LooksLikeSomeoneElseError
from facerec.types import Box, Image
from facerec.usecases.context import Context
from facerec.usecases.live.live import LiveLoop, save_snapshot
from facerec.usecases.people.register import register_frames
from facerec.video import overlay
from facerec.video.camera import Frame
from facerec.video.window import KEY_ESC, Window

HELP = "q/Esc quit  p pause  s snapshot  r register face  h help"
NOTICE_S = 2.5
"""How long a notice ("snapshot saved") stays in the window, in seconds."""


class LiveWindow:
    """A `LiveView` in an OpenCV window on `ctx.settings.display`.

    `ask_name()` asks (in the terminal) for the name of the face `r` registers
    (None cancels); `confirm_guard(finding)` asks there when the guard finds it
    looks like someone else; `on_message` says things in the terminal too."""

    def __init__(
        self,
        ctx: Context,
        loop: LiveLoop,
        ask_name: Callable[[], str | None],
        confirm_guard: Callable[[LooksLikeSomeoneElseError], bool],
        on_message: Callable[[str], None],
    ) -> None:
        self.ctx, self.loop = ctx, loop
        self.ask_name, self.confirm_guard, self.on_message = ask_name, confirm_guard, on_message
        self.window = Window("facerec - live", ctx.settings.display)
        self.show_help = True
        self.notice: tuple[str, float] | None = None
        self.snapshots: list[str] = []

    # -- LiveView ----------------------------------------------------------------------

    def help(self) -> str | None:
        return HELP if self.show_help else None

    def show(self, frame: Frame, drawn: Image, delay_ms: int) -> str | None:
        self.window.show(self._with_notice(drawn))
        action = self._key(self.window.key(delay_ms), frame, drawn)
        if action == "pause":
            action = self._still(frame, drawn, until="pause", banner="PAUSED")
        return "quit" if action == "quit" or self.window.closed() else None

    def hold(self, frame: Frame, drawn: Image) -> None:
        self._still(frame, drawn, until="quit")

    def close(self) -> None:
        self.window.close()

    # -- the window ----------------------------------------------------------------------

    def say(self, message: str, in_window: str | None = None) -> None:
        """Tell the user: in the terminal, and for a few seconds in the window
        (`in_window`, if shorter words fit it better)."""
        self.on_message(message)
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

    def _still(self, frame: Frame, drawn: Image, until: str, banner: str | None = None) -> str:
        """Keep handling keys on a still frame until the `until` action (or quit)."""
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
            self.snapshots.append(str(path))
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
        self.on_message(f"registering {which}: type the name in the terminal")
        drawn = loop.draw(frame.image, "registering: type the name in the terminal", self.help(), track)
        shown = drawn.copy()
        overlay.draw_banner(shown, "type the name in the terminal", avoid=self._faces())
        if many:
            overlay.draw_notice(shown, "registering the largest face (amber box)")
        self.window.show(shown)
        self.window.key(1)  # paint it before the terminal blocks
        chosen = ctx.pipeline.embed(frame.image, [track.face])[0]
        name = self.ask_name()
        if not name:
            self.say("registration cancelled")
            return
        try:
            try:
                result = register_frames(ctx, name, [(frame.image, chosen)])
            except LooksLikeSomeoneElseError as exc:  # the guard: ask, where the name was asked
                if not self.confirm_guard(exc):
                    self.say(f"not registered: {exc}", "not registered: looks like someone else")
                    return
                result = register_frames(ctx, name, [(frame.image, chosen)], force=True)
        except FacerecError as exc:
            self.say(f"not registered: {exc}")
            return
        for warning in result.warnings:
            self.on_message(f"warning (stored anyway): {warning}")
        self.say(f"registered a sample of {result.name}")
        loop.forget_identities()
