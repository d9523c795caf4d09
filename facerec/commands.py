"""One function per user action, shared by the CLI and the menu.

Each takes the application and a `Console`, prints its results (text or
JSON Lines) and returns an exit status: 0 success, 1 when some input failed.
Errors that stop the whole command are raised as `FacerecError` and turned
into one line by the caller.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from facerec.app import FaceRec
from facerec.console import Console
from facerec.contactsheet import Tile, make_sheet
from facerec.enroll import EnrollOptions, run_enrollment
from facerec.errors import Cancelled, FacerecError, ModelError
from facerec.evaluate import evaluate_folder, lfw_verification
from facerec.indexer import Indexer, Progress
from facerec.live import LiveEvent, LiveOptions, run_live
from facerec.people import People
from facerec.plot import line_chart
from facerec.reembed import ReembedReport
from facerec.reembed import reembed as run_reembed
from facerec.search import PhotoMatch, photos_of, search_photo
from facerec.store_library import LibraryStore
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


# -- photo library ------------------------------------------------------------


class _ProgressBar:
    """A one-line progress bar on stderr, redrawn at most 5 times a second (terminals only)."""

    def __init__(self, con: Console) -> None:
        self.con = con
        self.enabled = con.stderr.isatty()
        self._last = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.2 and p.done < p.total):
            return
        self._last = now
        filled = int(30 * p.done / max(1, p.total))
        bar = "#" * filled + "." * (30 - filled)
        line = (
            f"\r[{bar}] {p.done}/{p.total} photos  {p.photos_per_s:.1f} photos/s  "
            f"{p.faces_per_s:.1f} faces/s  ETA {p.eta_s:.0f} s "
        )
        self.con.stderr.write(line)
        self.con.stderr.flush()

    def done(self) -> None:
        if self.enabled and self._last:
            self.con.stderr.write("\n")
            self.con.stderr.flush()


def index(app: FaceRec, con: Console, folders: Sequence[str], workers: int | None, prune: bool) -> int:
    """Index photo folders (incremental); prints a summary. Exit 130 if interrupted."""
    bar = _ProgressBar(con)
    report = Indexer(app, workers, on_progress=bar).run(folders, prune=prune)
    bar.done()
    con.emit(report.as_json())
    rate = report.indexed / report.seconds if report.seconds > 0 else 0.0
    con.out(
        f"seen {report.seen}, indexed {report.indexed}, skipped {report.skipped} (unchanged), "
        f"moved {report.moved}, copies {report.copied}, pruned {report.pruned}; "
        f"{report.faces} faces in {report.seconds:.1f} s ({rate:.1f} photos/s)"
    )
    for picture, error in report.failed:
        con.out(f"  failed: {picture}: {error}")
    if report.interrupted:
        con.info("interrupted: what was indexed is kept; run index again to continue")
        return 130
    return 1 if report.failed and not (report.indexed or report.skipped or report.moved or report.copied) else 0


def _photo_matches(con: Console, matches: Sequence[PhotoMatch], empty: str, export: str | None, stem: str) -> int:
    if not matches:
        con.out(empty)
    for n, m in enumerate(matches, 1):
        con.emit(m.as_json())
        who = f"  {m.name}" if m.name else ""
        con.out(f"{n:3d}. {m.picture}  distance {m.distance:.3f}  face at {_box(m.hit.box)}{who}")
    if export and matches:
        tiles = [Tile(m.picture, m.hit.box, f"distance {m.distance:.3f}", m.name) for m in matches]
        sheet = make_sheet(tiles, _sheet_path(export, stem))
        con.info(f"contact sheet: {sheet.path} ({sheet.tiles} photos)")
    return 0


def _sheet_path(folder: str, stem: str) -> Path:
    """Where a contact sheet goes (`save_private_image` creates the folder)."""
    return Path(folder) / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}.jpg"


def search(app: FaceRec, con: Console, image: str, limit: int | None, face: int | None, export: str | None) -> int:
    """The library photos that contain the person in `image`."""
    query, matches = search_photo(app, image, limit, face)
    con.info(f"query: the face at {_box(query.face.box)} in {image}")
    return _photo_matches(con, matches, "no photos of this person", export, "search")


def photos(app: FaceRec, con: Console, name: str, limit: int | None, export: str | None) -> int:
    """Every library photo of a registered person."""
    matches = photos_of(app, name, limit)
    return _photo_matches(con, matches, f"no photos of {name!r} in the library", export, "photos")


def people_list(app: FaceRec, con: Console, min_faces: int, max_distance: float, export: str | None) -> int:
    """Group the unnamed faces again and list the groups (and the registered people)."""
    people = People(app)
    groups = people.regroup(max_distance=max_distance, min_faces=min_faces)
    named = LibraryStore(app.store).people_photo_counts()
    for g in groups:
        con.emit(g.as_json())
    if named:
        con.out("registered people (library photos where they are named):")
        for name, n in named:
            con.out(f"  {name}: {n}")
    if not groups:
        con.out("no groups of unnamed faces (index some photos, or lower --min-faces)")
    for g in groups:
        pictures = sorted({f.picture for f in g.faces})
        con.out(f"group {g.id}: {len(g.faces)} faces in {len(pictures)} photo{'s' if len(pictures) != 1 else ''}")
        for p in pictures[:3]:
            con.out(f"    {p}")
        if len(pictures) > 3:
            con.out(f"    ... and {len(pictures) - 3} more")
    if export and groups:
        tiles = [Tile(f.picture, f.box, f"group {g.id} face {f.face_id}") for g in groups for f in g.faces[:8]]
        sheet = make_sheet(tiles, _sheet_path(export, "people"))
        con.info(f"contact sheet: {sheet.path} ({sheet.tiles} faces)")
    return 0


def people_show(app: FaceRec, con: Console, group: int) -> int:
    g = People(app).group(group)
    con.emit(g.as_json())
    con.out(f"group {g.id}: {len(g.faces)} faces")
    for f in g.faces:
        con.out(f"  face {f.face_id}: {f.picture} at {_box(f.box)}")
    return 0


def people_name(app: FaceRec, con: Console, group: int, name: str) -> int:
    n = People(app).name(group, name)
    con.emit({"group": group, "name": name.strip(), "faces": n})
    con.out(f"group {group}: {n} faces are now {name.strip()!r}")
    return 0


def people_merge(app: FaceRec, con: Console, a: str, b: str) -> int:
    message = People(app).merge(a, b)
    con.emit({"merged": b, "into": a})
    con.out(message)
    return 0


def people_split(app: FaceRec, con: Console, face: int) -> int:
    message = People(app).split(face)
    con.emit({"split": face})
    con.out(message)
    return 0


# -- accuracy -------------------------------------------------------------------


def evaluate(app: FaceRec, con: Console, folder: str, samples: int, plot: str | None) -> int:
    """Accuracy on a labelled folder (people/<name>/..., distractors/...), in a throw-away database."""
    report = evaluate_folder(app.settings, Path(folder), samples, app.pipeline)
    con.emit(report.as_json())
    con.out(
        f"{report.detector} + {report.embedder}, {report.samples} sample(s) per person, threshold {report.threshold}"
    )
    con.out(f"  people {report.people}, photos recognized {report.probes}, distractors {report.distractors}")
    con.out(
        f"  rank-1 identification: {report.identification_rate:.1%} ({report.identified}/{report.probes}) "
        "named correctly within the threshold"
    )
    con.out(
        f"  false accepts: {report.false_accepts} ({report.distractors_named} of {report.distractors} distractors "
        f"named, {report.wrong_names} faces given the wrong name)"
    )
    con.out(f"  detection misses: {len(report.detection_misses)}; {report.seconds_per_photo * 1000:.0f} ms per photo")
    for miss in report.detection_misses:
        con.out(f"    no face: {miss}")
    m = report.margins()
    if m["right_min"] is not None:
        wrong = "none" if m["wrong_max"] is None else f"max {m['wrong_max']:.3f}"
        con.out(
            f"  best-vs-second person margin: right accepts min {m['right_min']:.3f}, "
            f"median {m['right_median']:.3f}; wrong accepts {wrong}"
        )
    if report.calibrated_threshold is not None:
        con.out(
            f"  threshold for at most 1% false accepts: {report.calibrated_threshold:.2f} "
            f"(identification {report.calibrated_rate:.1%})"
        )
    con.out("  sweep (threshold: identification rate, false accepts):")
    for p in report.sweep[::5]:
        con.out(f"    {p.threshold:.2f}: {p.identification_rate:6.1%}  {p.false_accepts}")
    if plot:
        line_chart(
            Path(plot),
            f"{report.detector} + {report.embedder}: threshold sweep",
            [p.threshold for p in report.sweep],
            {
                "identification rate": [p.identification_rate for p in report.sweep],
                "false-accept rate": [p.false_accept_rate for p in report.sweep],
            },
            "threshold (cosine distance)",
            "rate",
            marker=report.calibrated_threshold,
        )
        con.info(f"plot: {plot}")
    return 0


def verify_pairs(app: FaceRec, con: Console, pairs: str, images: str) -> int:
    """The LFW verification protocol (10 folds, threshold chosen on the other 9)."""
    report = lfw_verification(app.pipeline, Path(pairs), Path(images))
    con.emit(report.as_json())
    con.out(
        f"{app.settings.detector} + {app.spec.name}: {report.pairs} pairs, {report.folds} folds: "
        f"accuracy {report.accuracy:.2%} +/- {report.std:.2%} ({report.no_face} images without a detected face)"
    )
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
