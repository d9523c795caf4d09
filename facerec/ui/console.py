"""The terminal: where output goes and how questions are asked.

Commands write through a `Console` instead of `print`/`input`, so tests can
swap the streams and `--json` changes every command's output in one place.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from wcwidth import wcswidth, wcwidth

from facerec.paths import printable


class Terminated(KeyboardInterrupt):
    """SIGHUP (the terminal was closed) or SIGTERM: leave like Ctrl-C, but leave
    for good (the menu does not just cancel the current action)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass
class Console:
    """stdin/stdout/stderr plus the output mode.

    `json`: print JSON Lines (one object per result) instead of text.
    `assume_yes`: answer yes to every confirmation (`--yes`).
    """

    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    json: bool = False
    assume_yes: bool = False
    prompting: bool | None = None

    @property
    def interactive(self) -> bool:
        """True when a person can answer questions: stdin is a terminal, or we
        are inside the menu (`prompting=True`), which is a conversation anyway."""
        if self.prompting is not None:
            return self.prompting
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    def out(self, text: str = "") -> None:
        """A line of text output (suppressed in JSON mode)."""
        if not self.json:
            print(printable(text), file=self.stdout, flush=True)

    def emit(self, obj: dict[str, Any]) -> None:
        """One JSON Lines record (JSON mode only)."""
        if self.json:
            print(json.dumps(_printable(obj), ensure_ascii=False), file=self.stdout, flush=True)

    def info(self, text: str) -> None:
        """Progress and messages: stderr, so they never mix with results."""
        print(printable(text), file=self.stderr, flush=True)

    def error(self, text: str) -> None:
        print(f"facerec: {printable(text)}", file=self.stderr, flush=True)

    def ask(self, prompt: str) -> str | None:
        """Read one line; None at end of input."""
        print(printable(prompt), end="", file=self.stdout, flush=True)
        line = self.stdin.readline()
        if not line:
            return None
        return line.rstrip("\r\n")

    def confirm(self, question: str, yes_answers: bool = True) -> bool:
        """Yes/no in the terminal; `--yes` answers yes (unless `yes_answers` is False:
        the guard's questions want a person, or `--force`); no terminal answers no."""
        if self.assume_yes and yes_answers:
            return True
        if not self.interactive:
            return False
        answer = self.ask(f"{question} [y/N] ")
        return answer is not None and answer.strip().lower() in ("y", "yes")


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal: 2 for East Asian wide characters and
    most emoji, 0 for combining marks (what `len` gets wrong for table columns)."""
    width = wcswidth(text)
    if width >= 0:
        return int(width)
    return sum(max(0, wcwidth(ch)) for ch in text)  # a control character somewhere: count the rest


def ljust(text: str, width: int) -> str:
    """`text` padded with spaces to `width` terminal columns."""
    return text + " " * max(0, width - display_width(text))


def rjust(text: str, width: int) -> str:
    return " " * max(0, width - display_width(text)) + text


def _printable(value: Any) -> Any:
    """`value` with every string made `printable` (file names that are not UTF-8), for JSON."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {k: _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value
