"""One function per user action, shared by the CLI and the menu.

Each takes the `Context` and a `Console`, calls one use case (or a few),
prints its results (text or JSON Lines) and returns an exit status: 0
success, 1 when some input failed. Errors that stop the whole command are
raised as `FacerecError` and turned into one line by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from facerec.errors import Cancelled, ConfirmationRequired, FacerecError, ModelError, ServerError
from facerec.types import Box
from facerec.ui.console import Console
from facerec.ui.plot import line_chart
from facerec.ui.progress import ProgressBar
from facerec.ui.sheets import Tile, make_sheet
from facerec.usecases import evaluate as evaluation
from facerec.usecases import grouping
from facerec.usecases import people as people_uc
from facerec.usecases import users as users_uc
from facerec.usecases.context import Context
from facerec.usecases.enroll import EnrollOptions, enroll
from facerec.usecases.index import index_folders
from facerec.usecases.live import LiveEvent, LiveOptions, run_live
from facerec.usecases.recognize import analyze_photo, recognize_photo
from facerec.usecases.reembed import ReembedReport
from facerec.usecases.reembed import reembed as run_reembed
from facerec.usecases.register import Registration, register_photos
from facerec.usecases.search import PhotoMatch, photos_of, search_photo


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


def recognize(ctx: Context, con: Console, images: Sequence[str]) -> int:
    """Name every face in every image (Unknown when no one is close enough)."""
    status = 0
    for image in images:
        try:
            results = recognize_photo(ctx, image).faces
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


def embed(ctx: Context, con: Console, images: Sequence[str]) -> int:
    """Print each face's box and embedding; stores nothing."""
    status = 0
    for image in images:
        try:
            faces = analyze_photo(ctx, image).faces
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


def register_images(ctx: Context, con: Console, name: str, images: Sequence[str], use_largest: bool) -> int:
    """Register the face of each image as a sample of `name`."""
    result = register_photos(ctx, name, images, use_largest)
    for w in result.warnings:
        con.info(f"warning: {w}")
    return _registered(con, result)


def _registered(con: Console, result: Registration) -> int:
    verb = "registered" if result.created else "added to"
    con.emit({"name": result.name, "added": result.added, "created": result.created})
    con.out(f"{verb} {result.name!r}: {result.added} sample(s)")
    return 0


def _window_or_text(ctx: Context, con: Console, window: bool) -> bool:
    """Whether to open a window: asked for, and a display exists (else say so once)."""
    if window and not ctx.settings.display:
        con.info("no display available: running without a window (text output)")
        return False
    return window


def register_camera(ctx: Context, con: Console, name: str, source: str | None, samples: int, window: bool) -> int:
    """Guided registration from the camera (or a video / folder given as `source`)."""
    window = _window_or_text(ctx, con, window)
    options = EnrollOptions(
        source=source or ctx.settings.camera,
        samples=samples,
        window=window,
        confirm=con.confirm,
        on_message=con.info,
    )
    return _registered(con, enroll(ctx, name, options))


def users_list(ctx: Context, con: Console) -> int:
    people = users_uc.list_people(ctx).people
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


def users_show(ctx: Context, con: Console, name: str) -> int:
    p = users_uc.show_person(ctx, name)
    con.emit({"name": p.name, "samples": p.samples, "pictures": p.pictures})
    con.out(f"{p.name}: {p.samples} sample(s), registered {p.created_at:%Y-%m-%d %H:%M}")
    for pic in p.pictures:
        con.out(f"  {pic}")
    return 0


def users_rename(ctx: Context, con: Console, old: str, new: str) -> int:
    done = users_uc.rename_person(ctx, old, new)
    con.emit({"renamed": done.old, "to": done.new})
    con.out(f"renamed {done.old!r} to {done.new!r}")
    return 0


def users_delete(ctx: Context, con: Console, name: str) -> int:
    """Delete a person after confirmation (`--yes` skips it; no terminal and no `--yes` refuses)."""
    users_uc.show_person(ctx, name)  # fail early on an unknown name, before asking
    if not con.assume_yes and not con.interactive:
        raise ConfirmationRequired(f"refusing to delete {name!r} without confirmation; pass --yes")
    if not con.confirm(f"delete {name!r} and every sample of them?"):
        raise Cancelled("nothing deleted")
    done = users_uc.delete_person(ctx, name)
    con.emit({"deleted": done.name, "files_removed": done.files_removed})
    con.out(f"deleted {done.name!r} ({done.files_removed} stored image(s) removed)")
    return 0


def live(ctx: Context, con: Console, source: str | None, window: bool, max_frames: int | None = None) -> int:
    """Real-time recognition; headless (`window=False`) prints one line per event."""
    window = _window_or_text(ctx, con, window)

    def on_event(e: LiveEvent) -> None:
        con.emit({"frame": e.frame, "track": e.track, "name": e.name, "distance": _distance(e.distance)})
        dist = "" if e.distance is None else f" {e.distance:.3f}"
        con.out(f"frame {e.frame} track {e.track}: {_name(e.name)}{dist}")

    def ask_name() -> str | None:
        return con.ask("name for the face in view (empty to cancel): ")

    options = LiveOptions(
        source=source or ctx.settings.camera,
        window=window,
        max_frames=max_frames,
        on_event=on_event,
        ask_name=ask_name,
        on_message=con.info,
    )
    report = run_live(ctx, options)
    summary = {"frames": report.frames, "seconds": round(report.seconds, 3), "fps": round(report.fps, 2)}
    con.emit(summary)
    con.out(f"{report.frames} frames in {report.seconds:.1f} s ({report.fps:.1f} FPS)")
    return 0


# -- photo library ------------------------------------------------------------


def index(ctx: Context, con: Console, folders: Sequence[str], workers: int | None, prune: bool) -> int:
    """Index photo folders (incremental); prints a summary. Exit 130 if interrupted."""
    bar = ProgressBar(con.stderr, "photos")
    report = index_folders(ctx, folders, workers, prune, on_progress=lambda p: bar.update(p.done, p.total, p.faces))
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


def search(ctx: Context, con: Console, image: str, limit: int | None, face: int | None, export: str | None) -> int:
    """The library photos that contain the person in `image`."""
    found = search_photo(ctx, image, limit, face)
    con.info(f"query: the face at {_box(found.query.face.box)} in {image}")
    return _photo_matches(con, found.matches, "no photos of this person", export, "search")


def photos(ctx: Context, con: Console, name: str, limit: int | None, export: str | None) -> int:
    """Every library photo of a registered person."""
    matches = photos_of(ctx, name, limit).matches
    return _photo_matches(con, matches, f"no photos of {name!r} in the library", export, "photos")


def people_list(ctx: Context, con: Console, min_faces: int, max_distance: float, export: str | None) -> int:
    """Group the unnamed faces again and list the groups (and the registered people)."""
    view = grouping.regroup(ctx, max_distance=max_distance, min_faces=min_faces)
    groups, named = view.groups, view.named
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


def people_show(ctx: Context, con: Console, group: int) -> int:
    g = people_uc.show_group(ctx, group)
    con.emit(g.as_json())
    con.out(f"group {g.id}: {len(g.faces)} faces")
    for f in g.faces:
        con.out(f"  face {f.face_id}: {f.picture} at {_box(f.box)}")
    return 0


def people_name(ctx: Context, con: Console, group: int, name: str) -> int:
    done = people_uc.name_group(ctx, group, name)
    con.emit({"group": group, "name": done.name, "faces": done.faces})
    con.out(f"group {group}: {done.faces} faces are now {done.name!r}")
    return 0


def people_merge(ctx: Context, con: Console, a: str, b: str) -> int:
    done = people_uc.merge(ctx, a, b)
    con.emit({"merged": b, "into": a})
    con.out(done.message)
    return 0


def people_split(ctx: Context, con: Console, face: int) -> int:
    done = people_uc.split_face(ctx, face)
    con.emit({"split": face})
    con.out(done.message)
    return 0


# -- the web page -------------------------------------------------------------------


def web(ctx: Context, con: Console, host: str, port: int, open_browser: bool) -> int:
    """Serve the local web page until Ctrl-C; the address, with its token, is printed on a line of its own."""
    try:
        from facerec.web.server import Started, serve
    except ImportError as exc:
        raise ServerError(f"the web page needs facerec's 'web' extra (pip install 'facerec[web]'): {exc}") from None

    def ready(s: Started) -> None:
        if not s.local_only:
            con.info(
                f"warning: listening on {s.host}, not only on this machine: anyone who can reach it can try "
                "the address; the token below is all that keeps them out"
            )
        con.info(f"facerec web: the page is served on {s.host} port {s.port}; open this address (Ctrl-C stops it):")
        con.emit({"url": s.url, "host": s.host, "port": s.port})
        con.out(s.url)

    try:
        serve(ctx, host, port, open_browser, on_ready=ready)
    except KeyboardInterrupt:
        pass
    con.info("facerec web: stopped")
    return 0


# -- accuracy -------------------------------------------------------------------


def evaluate(ctx: Context, con: Console, folder: str, samples: int, plot: str | None) -> int:
    """Accuracy on a labelled folder (people/<name>/..., distractors/...), in a throw-away database."""
    report = evaluation.evaluate_folder(ctx, Path(folder), samples)
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


def verify_pairs(ctx: Context, con: Console, pairs: str, images: str) -> int:
    """The LFW verification protocol (10 folds, threshold chosen on the other 9)."""
    report = evaluation.verify_pairs(ctx, Path(pairs), Path(images))
    con.emit(report.as_json())
    con.out(
        f"{ctx.settings.detector} + {ctx.spec.name}: {report.pairs} pairs, {report.folds} folds: "
        f"accuracy {report.accuracy:.2%} +/- {report.std:.2%} ({report.no_face} images without a detected face)"
    )
    return 0


def reembed(ctx: Context, con: Console) -> int:
    """Compute the chosen embedder's vectors for every stored face that has none yet.

    Faces whose photo and crop are gone are reported (stderr, and a JSON
    record each) and skipped; the exit status is then 1.
    """

    def progress(report: ReembedReport) -> None:
        con.info(f"{report.added} {report.model} vector(s) added so far")

    report = run_reembed(ctx, on_batch=progress)
    for skipped in report.skipped:
        con.emit({"skipped": skipped})
        con.error(f"skipped {skipped}")
    con.emit({"model": report.model, "added": report.added, "skipped": len(report.skipped)})
    con.out(f"{report.model}: {report.added} vector(s) added, {len(report.skipped)} face(s) skipped")
    return 1 if report.skipped else 0
