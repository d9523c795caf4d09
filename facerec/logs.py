"""Logging, configured once per process: the CLI's process and every index worker.

Lines go to stderr as `facerec: LEVEL: message` (`-v` shows INFO, `-vv`
DEBUG, or set `FACEREC_LOG_LEVEL`); results go to stdout, so logs never mix
with them. Library code only ever calls `logging.getLogger(__name__)`.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "facerec: %(levelname)s: %(message)s"
DEBUG_FORMAT = "facerec: %(levelname)s: %(name)s: %(message)s"


def level_for(setting: str, verbose: int = 0) -> int:
    """The level for `FACEREC_LOG_LEVEL`'s value and the number of `-v` flags."""
    name = {0: setting, 1: "INFO"}.get(verbose, "DEBUG")
    level = logging.getLevelName(name.upper())
    return level if isinstance(level, int) else logging.WARNING


def configure_logging(level: int) -> None:
    """Send facerec's log records of `level` and above to stderr (replacing an
    earlier configuration, so a worker process and a second call behave alike)."""
    logging.basicConfig(
        level=level,
        format=DEBUG_FORMAT if level <= logging.DEBUG else FORMAT,
        stream=sys.stderr,
        force=True,
    )
