"""A one-line progress bar on stderr that fits the terminal.

`[######......] 120/594 photos  55.6 photos/s  79.5 faces/s  ETA 9 s`, redrawn
in place (carriage return) at most 5 times a second, only on a terminal. The
line never reaches the last column (a full line would wrap and break the
redraw): the bar shrinks first, then the least useful figures go. With
`-v` (log level INFO or DEBUG) there is no bar: log lines, some written by
other processes, would break into it. Rates and the ETA wait for `MIN_RATE_S`
of elapsed time: a phase that is done at once says `matching 124/124 faces`,
not `22836095.3 faces/s`.
"""

from __future__ import annotations

import logging
import shutil
import time
from typing import TextIO

REDRAW_S = 0.2
MIN_RATE_S = 0.2
"""No rate (nor ETA) is shown from less elapsed time than this, in seconds: it would be noise."""
MIN_BAR = 10
MAX_BAR = 30


class ProgressBar:
    """`update(done, total, secondary)` after each item; `done()` at the end.

    `unit` names the items counted (photos, faces); `secondary_unit` names a
    second count shown as a rate only (faces found while indexing photos);
    `label`, if given, comes first (the phase of a longer job).
    """

    def __init__(self, stream: TextIO, unit: str, secondary_unit: str | None = "faces", label: str = "") -> None:
        self.stream = stream
        self.unit = unit
        self.secondary_unit = secondary_unit
        self.label = label
        try:
            self.enabled = stream.isatty() and logging.getLogger().getEffectiveLevel() >= logging.WARNING
        except (AttributeError, ValueError):
            self.enabled = False
        self._start = time.monotonic()
        self._last = 0.0

    def update(self, done: int, total: int, secondary: int | None = None) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < REDRAW_S and done < total):
            return
        self._last = now
        columns = shutil.get_terminal_size((80, 24)).columns
        self.stream.write("\r" + self.line(done, total, secondary, now - self._start, columns))
        self.stream.flush()

    def line(self, done: int, total: int, secondary: int | None, elapsed: float, columns: int) -> str:
        """The bar for these figures, at most `columns - 1` characters wide."""
        label = f"{self.label} " if self.label else ""
        parts = [f"{label}{done}/{total} {self.unit}"]
        if elapsed >= MIN_RATE_S:
            rate = done / elapsed
            parts.append(f"{rate:.1f} {self.unit}/s")
            if secondary is not None and self.secondary_unit:
                parts.append(f"{secondary / elapsed:.1f} {self.secondary_unit}/s")
            if rate > 0:
                parts.append(f"ETA {(total - done) / rate:.0f} s")
        width = columns - 1
        while True:
            text = "  ".join(parts)
            room = width - len(text) - 3  # "[", "] "
            rates = [i for i, part in enumerate(parts) if part.endswith("/s")]
            if room >= MIN_BAR or not rates:
                break
            parts.pop(rates[-1])  # the rates go before the count and the ETA
        bar_width = max(0, min(MAX_BAR, room))
        if bar_width < MIN_BAR:
            return text[:width].ljust(width)
        filled = int(bar_width * done / max(1, total))
        line = f"[{'#' * filled}{'.' * (bar_width - filled)}] {text}"
        return line.ljust(width)

    def done(self) -> None:
        """End the line (if a bar was drawn)."""
        if self.enabled and self._last:
            self.stream.write("\n")
            self.stream.flush()
