"""A thin wrapper over OpenCV's HighGUI window, with a clear error when there is no display."""

from __future__ import annotations

import re
import socket

import cv2

from facerec.errors import DisplayError
from facerec.types import Image

KEY_ESC = 27


def check_display(display: str) -> None:
    """Raise `DisplayError` unless the X11 display `display` accepts connections.

    OpenCV's Qt backend aborts the whole process when it cannot connect, so
    this must be checked before the first window is created.
    """
    if not display:
        raise DisplayError("no display available (DISPLAY is not set); use --no-window for text output")
    match = re.fullmatch(r"(?P<host>[^:]*):(?P<num>\d+)(?:\.\d+)?", display)
    if match is None:
        raise DisplayError(f"cannot use display {display!r}: not an X11 display name")
    host, num = match["host"], int(match["num"])
    try:
        if host in ("", "unix"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(2)
                path = f"/tmp/.X11-unix/X{num}"
                try:
                    sock.connect(path)
                except OSError:
                    sock.connect("\0" + path)  # Linux abstract socket
        else:
            socket.create_connection((host, 6000 + num), timeout=2).close()
    except OSError:
        raise DisplayError(f"cannot connect to display {display!r}; use --no-window for text output") from None


class Window:
    """An OpenCV window. `key(ms)` shows pending frames and returns the key pressed (or -1)."""

    def __init__(self, title: str, display: str) -> None:
        check_display(display)
        self.title = title
        try:
            cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)
        except cv2.error as exc:
            raise DisplayError(f"cannot open a window: {str(exc).strip().splitlines()[-1]}") from None
        self._shown = False

    def show(self, image: Image) -> None:
        cv2.imshow(self.title, image)
        self._shown = True

    def key(self, delay_ms: int = 1) -> int:
        """The key pressed during `delay_ms` (lower-cased ASCII), -1 for none."""
        k = cv2.waitKey(max(1, delay_ms))
        return -1 if k < 0 else k & 0xFF

    def closed(self) -> bool:
        """True once the user closed the window with its title-bar button."""
        if not self._shown:
            return False
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass
