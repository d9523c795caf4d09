"""`live`: real-time recognition in the window, or one line per event without it."""

from __future__ import annotations

from facerec.ui.commands.common import (
    _ask_guard,
    _distance,
    _name,
    _window_or_text,
)
from facerec.ui.console import Console
from facerec.ui.windows.live import LiveWindow
from facerec.usecases.context import Context
from facerec.usecases.live.live import LiveEvent, LiveLoop, LiveOptions, run_live


def live(ctx: Context, con: Console, source: str | None, window: bool, max_frames: int | None = None) -> int:
    """Real-time recognition; headless (`window=False`) prints one line per event."""
    window = _window_or_text(ctx, con, window)

    def on_event(e: LiveEvent) -> None:
        box = None if e.box is None else e.box.as_list()
        con.emit({"frame": e.frame, "track": e.track, "name": e.name, "distance": _distance(e.distance), "box": box})
        dist = "" if e.distance is None else f" {e.distance:.3f}"
        con.out(f"frame {e.frame} track {e.track}: {_name(e.name)}{dist}")

    def ask_name() -> str | None:
        return con.ask("name for the face in view (empty to cancel): ")

    def view(loop: LiveLoop) -> LiveWindow:
        return LiveWindow(ctx, loop, ask_name, lambda finding: _ask_guard(con, finding), con.info)

    options = LiveOptions(source=source or ctx.settings.camera, max_frames=max_frames, on_event=on_event)
    report = run_live(ctx, options, view if window else None)
    summary = {"frames": report.frames, "seconds": round(report.seconds, 3), "fps": round(report.fps, 2)}
    con.emit(summary)
    con.out(f"{report.frames} frames in {report.seconds:.1f} s ({report.fps:.1f} FPS)")
    return 0
