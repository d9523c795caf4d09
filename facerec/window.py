"""A thin wrapper over OpenCV's HighGUI window, with a clear error when there is no display."""

from __future__ import annotations

import cv2

from facerec.errors import DisplayError
from facerec.types import Image

KEY_ESC = 27


class Window:
    """An OpenCV window. `key(ms)` shows pending frames and returns the key pressed (or -1)."""

    def __init__(self, title: str, display_available: bool) -> None:
        if not display_available:
            raise DisplayError("no display available (DISPLAY is not set); use --no-window for text output")
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
