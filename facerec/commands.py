"""One function per user action, shared by the CLI and the menu.

Each takes the application and a `Console`, prints its results (text or
JSON Lines) and returns an exit status: 0 success, 1 when some input failed.
Errors that stop the whole command are raised as `FacerecError` and turned
into one line by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

from facerec.app import FaceRec
from facerec.console import Console
from facerec.enroll import EnrollOptions, run_enrollment
from facerec.errors import Cancelled, FacerecError, ModelError
from facerec.live import LiveEvent, LiveOptions, run_live
from facerec.reembed import ReembedReport
from facerec.reembed import reembed as run_reembed
from facerec.types import Box, Recognition


def _box(box: Box) -> str:
    return f"{box.x},{box.y},{box.w},{box.h}"


def _name(name: str | None) -> str:
    return name if name is not None else "Unknown"


def _distance(d: float | None) -> float | None:
    return None if d is None else round(d, 4)


def _failed(con: Console, image: str, exc: FacerecError) -> int:
    """Report one failed image (stderr, and a JSON record); returns exit status 1.
    A model that cannot load stops the whole command instead (one line, not one per image)."""
    if isinstance(exc, ModelError):
        raise exc
    con.emit({"image": image, "error": str(exc)})
    con.error(str(exc))
    return 1


def recognize(app: FaceRec, con: Console, images: Sequence[str]) -> int:
    """Name every face in every image (Unknown when no one is close enough)."""
    status = 0
    for image in images:
        try:
            results: list[Recognition] = app.recognize_file(image)
        except FacerecError as exc:
            status = _failed(con, image, exc)
            continue
        if not results:
            con.out(f"{image}: no face found")
        for r in results:
            con.emit({"image": image, "box": r.face.box.as_list(), "name": r.name, "distance": _distance(r.distance)})
            dist = "" if r.distance is None else f" (distance {r.distance:.3f})"
            con.out(f"{image}: {_name(r.name)}{dist} at {_box(r.face.box)}")
    return status


def embed(app: FaceRec, con: Console, images: Sequence[str]) -> int:
    """Print each face's box and embedding; stores nothing."""
    status = 0
    for image in images:
        try:
            _, faces = app.analyze_file(image)
        except FacerecError as exc:
            status = _failed(con, image, exc)
            continue
        if not faces:
            con.out(f"{image}: no face found")
        for f in faces:
            values = [round(float(v), 6) for v in f.embedding]
            con.emit({"image": image, "box": f.face.box.as_list(), "model": f.model, "embedding": values})
            con.out(f"{image}: face at {_box(f.face.box)} {f.model} {len(values)}-d")
            con.out("  " + " ".join(f"{v:.4f}" for v in values))
    return status


def register_images(app: FaceRec, con: Console, name: str, images: Sequence[str], use_largest: bool) -> int:
    """Register the face of each image as a sample of `name`."""
    result = app.register_files(name, images, use_largest)
    for w in result.warnings:
        con.info(f"warning: {w}")
    verb = "registered" if result.created else "added to"
    con.emit({"name": result.name, "added": result.added, "created": result.created})
    con.out(f"{verb} {result.name!r}: {result.added} sample(s)")
    return 0


def _window_or_text(app: FaceRec, con: Console, window: bool) -> bool:
    """Whether to open a window: asked for, and a display exists (else say so once)."""
    if window and not app.settings.display:
        con.info("no display available: running without a window (text output)")
        return False
    return window


def register_camera(app: FaceRec, con: Console, name: str, source: str | None, samples: int, window: bool) -> int:
    """Guided registration from the camera (or a video / folder given as `source`)."""
    window = _window_or_text(app, con, window)
    options = EnrollOptions(
        source=source or app.settings.camera,
        samples=samples,
        window=window,
        confirm=con.confirm,
        on_message=con.info,
    )
    result = run_enrollment(app, name, options)
    verb = "registered" if result.created else "added to"
    con.emit({"name": result.name, "added": result.added, "created": result.created})
    con.out(f"{verb} {result.name!r}: {result.added} sample(s)")
    return 0


def users_list(app: FaceRec, con: Console) -> int:
    people = app.people()
    for p in people:
        con.emit({"name": p.name, "samples": p.samples})
    if not people:
        con.out("no one is registered yet")
        return 0
    width = max(4, *(len(p.name) for p in people))
    con.out(f"{'NAME':<{width}}  SAMPLES  REGISTERED")
    for p in people:
        when = p.created_at.strftime("%Y-%m-%d %H:%M") if p.created_at else ""
        con.out(f"{p.name:<{width}}  {p.samples:>7}  {when}")
    return 0


def users_show(app: FaceRec, con: Console, name: str) -> int:
    p = app.person(name)
    con.emit({"name": p.name, "samples": p.samples, "pictures": p.pictures})
    con.out(f"{p.name}: {p.samples} sample(s), registered {p.created_at:%Y-%m-%d %H:%M}")
    for pic in p.pictures:
        con.out(f"  {pic}")
    return 0


def users_rename(app: FaceRec, con: Console, old: str, new: str) -> int:
    app.rename(old, new)
    con.emit({"renamed": old, "to": new.strip()})
    con.out(f"renamed {old!r} to {new.strip()!r}")
    return 0


def users_delete(app: FaceRec, con: Console, name: str) -> int:
    """Delete a person after confirmation (`--yes` skips it; no terminal and no `--yes` refuses)."""
    app.store.person_id(name)  # fail early on an unknown name, before asking
    if not con.assume_yes and not con.interactive:
        raise FacerecError(f"refusing to delete {name!r} without confirmation; pass --yes")
    if not con.confirm(f"delete {name!r} and every sample of them?"):
        raise Cancelled("nothing deleted")
    files = app.delete(name)
    con.emit({"deleted": name, "files_removed": files})
    con.out(f"deleted {name!r} ({files} stored image(s) removed)")
    return 0


def live(app: FaceRec, con: Console, source: str | None, window: bool, max_frames: int | None = None) -> int:
    """Real-time recognition; headless (`window=False`) prints one line per event."""
    window = _window_or_text(app, con, window)

    def on_event(e: LiveEvent) -> None:
        con.emit({"frame": e.frame, "track": e.track, "name": e.name, "distance": _distance(e.distance)})
        dist = "" if e.distance is None else f" {e.distance:.3f}"
        con.out(f"frame {e.frame} track {e.track}: {_name(e.name)}{dist}")

    def ask_name() -> str | None:
        return con.ask("name for the face in view (empty to cancel): ")

    options = LiveOptions(
        source=source or app.settings.camera,
        window=window,
        max_frames=max_frames,
        on_event=on_event,
        ask_name=ask_name,
        on_message=con.info,
    )
    report = run_live(app, options)
    summary = {"frames": report.frames, "seconds": round(report.seconds, 3), "fps": round(report.fps, 2)}
    con.emit(summary)
    con.out(f"{report.frames} frames in {report.seconds:.1f} s ({report.fps:.1f} FPS)")
    return 0


def reembed(app: FaceRec, con: Console) -> int:
    """Compute the chosen embedder's vectors for every stored face that has none yet.

    Faces whose photo and crop are gone are reported (stderr, and a JSON
    record each) and skipped; the exit status is then 1.
    """

    def progress(report: ReembedReport) -> None:
        con.info(f"{report.added} {report.model} vector(s) added so far")

    report = run_reembed(app, on_batch=progress)
    for skipped in report.skipped:
        con.emit({"skipped": skipped})
        con.error(f"skipped {skipped}")
    con.emit({"model": report.model, "added": report.added, "skipped": len(report.skipped)})
    con.out(f"{report.model}: {report.added} vector(s) added, {len(report.skipped)} face(s) skipped")
    return 1 if report.skipped else 0
