"""Driving real OpenCV windows on a virtual X display (Xvfb + xdotool)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from facerec.config import Settings
from tests.helpers import PROJECT, cli_env, skip_or_fail


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        skip_or_fail(f"{tool} is not installed (apt-get install xvfb xdotool)")
    assert path is not None
    return path


def start_xvfb() -> Iterator[str]:
    """A virtual X display for the duration of a test; yields its DISPLAY."""
    _need("xdotool")
    xvfb_bin = _need("Xvfb")
    for number in range(90, 130):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    display = f":{number}"
    proc = subprocess.Popen(
        [xvfb_bin, display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        assert time.time() < deadline and proc.poll() is None, "Xvfb did not start"
        time.sleep(0.1)
    yield display
    proc.terminate()
    proc.wait(timeout=10)


def xdotool(display: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True, text=True)


def wait_for_window(display: str, title: str, proc: subprocess.Popen, timeout: float = 30) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = xdotool(display, "search", "--name", title).stdout.split()
        if found:
            return found[0]
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"exited with {proc.returncode} before its window appeared: {out!r} {err!r}")
        time.sleep(0.2)
    raise AssertionError(f"no window named {title!r} appeared")


def press(display: str, window: str, key: str) -> None:
    xdotool(display, "windowfocus", "--sync", window)
    xdotool(display, "key", key)


def spawn(settings: Settings, display: str, *args: str) -> subprocess.Popen:
    env = {**cli_env(settings), "DISPLAY": display}
    return subprocess.Popen(
        [sys.executable, str(PROJECT / "face_recognition.py"), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
    )


def grab(display: str) -> np.ndarray:
    """The whole virtual screen, as a BGR image (Pillow reads it over X11)."""
    from PIL import ImageGrab

    return cv2.cvtColor(np.asarray(ImageGrab.grab(xdisplay=display)), cv2.COLOR_RGB2BGR)


def shows(screen: np.ndarray, patch: np.ndarray, tolerance: float = 0.01) -> bool:
    """Whether `patch` appears, pixel for pixel (up to `tolerance`), somewhere on `screen`."""
    scores = cv2.matchTemplate(screen, patch, cv2.TM_SQDIFF_NORMED)
    return float(scores.min()) <= tolerance


def wait_until_shown(display: str, patch: np.ndarray, proc: subprocess.Popen, timeout: float = 20) -> np.ndarray:
    """Grab the screen until `patch` is on it; returns that screen."""
    deadline = time.time() + timeout
    while True:
        screen = grab(display)
        if shows(screen, patch):
            return screen
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode} before it was shown")
        if time.time() > deadline:
            raise AssertionError("the expected text never appeared in the window")
        time.sleep(0.1)


def label_patch(draw: Callable[[np.ndarray], tuple[int, int, int, int]], width: int | None = None) -> np.ndarray:
    """What an overlay label looks like: `draw` it on a black frame and cut out its box
    (its first `width` pixels, for a label whose end is not known in advance)."""
    frame = np.zeros((480, 640, 3), np.uint8)
    x, y, w, h = draw(frame)
    return frame[y : y + h, x : x + (width or w)].copy()
