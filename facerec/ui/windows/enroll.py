"""Guided registration's window: the camera, the pose to take next, each frame's verdict
("ok", "blurred", "face too small", ...) on the face, and its keys: Esc cancels (nothing is
stored), space takes the frame now. The judging is `facerec.usecases.live.enroll`'s."""

from __future__ import annotations

from facerec.usecases.live.enroll import Enrollment, FrameVerdict
from facerec.video import overlay
from facerec.video.camera import Frame
from facerec.video.window import KEY_ESC, Window

HELP = "Esc cancel  space capture now  (good frames are taken automatically)"


class EnrollWindow:
    """An `EnrollView` in an OpenCV window on `display`."""

    def __init__(self, name: str, display: str) -> None:
        self.window = Window(f"facerec - register {name}", display)

    def show(self, frame: Frame, enrollment: Enrollment, verdict: FrameVerdict | None, delay_ms: int) -> str | None:
        shown = frame.image.copy()
        if verdict is not None and verdict.face is not None:
            overlay.draw_face(shown, verdict.face.face.box, "ok" if verdict.ok else verdict.reason, None)
        overlay.draw_status(shown, enrollment.prompt)
        overlay.draw_help(shown, HELP)
        self.window.show(shown)
        key = self.window.key(delay_ms)
        if key == KEY_ESC or self.window.closed():
            return "cancel"
        return "capture" if key == ord(" ") else None

    def close(self) -> None:
        self.window.close()
