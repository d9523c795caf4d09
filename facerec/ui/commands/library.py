"""Commands about the photo library: recognize, embed, index, search, photos, verify, stats, reembed."""

from __future__ import annotations

from collections.abc import Sequence

from facerec.errors import (
    FacerecError,
    NoFaceError,
)
from facerec.ui.commands.common import (
    _box,
    _distance,
    _failed,
    _grouping_summary,
    _GroupingBar,
    _name,
    _photo_matches,
    _size,
)
from facerec.ui.commands.metadata import show_names
from facerec.ui.console import Console, display_width, ljust
from facerec.ui.progress import MIN_RATE_S, ProgressBar
from facerec.usecases.context import Context
from facerec.usecases.evaluate.verify import verify as verify_faces
from facerec.usecases.groups import suggest as suggest_uc
from facerec.usecases.library.index import index_folders
from facerec.usecases.library.recognize import analyze_photo, recognize_photo
from facerec.usecases.library.reembed import ReembedReport
from facerec.usecases.library.reembed import reembed as run_reembed
from facerec.usecases.library.search import photos_of, search_photo
from facerec.usecases.library.stats import stats as library_stats


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
            status = _failed(con, image, NoFaceError(f"{image}: no face found"))
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


def index(ctx: Context, con: Console, folders: Sequence[str], workers: int | None, prune: bool) -> int:
    """Index photo folders (incremental); prints a summary. Exit 130 if interrupted."""
    bar = ProgressBar(con.stderr, "photos")
    grouping_bar = _GroupingBar(con)
    report = index_folders(
        ctx,
        folders,
        workers,
        prune,
        on_progress=lambda p: bar.update(p.done, p.total, p.faces),
        on_grouping=grouping_bar,
    )
    bar.done()
    grouping_bar.done()
    if report.grouping is not None and report.grouping.faces:
        con.info(_grouping_summary(report.grouping))
    if report.grouping_error is not None:
        con.info(f"people: not updated ({report.grouping_error}); 'people' will place the new faces")
    con.emit(report.as_json())
    if report.seen == 0:
        con.out(f"no photos found under {', '.join(folders)}")
        return 0
    rate = f" ({report.indexed / report.seconds:.1f} photos/s)" if report.seconds >= MIN_RATE_S else ""
    con.out(
        f"seen {report.seen}, indexed {report.indexed}, skipped {report.skipped} (unchanged), "
        f"moved {report.moved}, copies {report.copied}, pruned {report.pruned}; "
        f"{report.faces} faces in {report.seconds:.1f} s{rate}"
    )
    for picture, error in report.failed:
        con.out(f"  failed: {picture}: {error}")
    show_names(con, report.names)
    if report.interrupted:
        con.info("interrupted: what was indexed is kept; run index again to continue")
        return 130
    return 1 if report.failed and not (report.indexed or report.skipped or report.moved or report.copied) else 0


def search(
    ctx: Context,
    con: Console,
    image: str,
    limit: int | None,
    face: int | None,
    export: str | None,
    album: tuple[str, str] | None = None,
) -> int:
    """The library photos that contain the person in `image`; `album`: (mode, folder), see `make_album`."""
    found = search_photo(ctx, image, limit, face)
    con.info(f"query: the face at {_box(found.query.face.box)} in {image}")
    return _photo_matches(ctx, con, found.matches, found.total, "no photos of this person", export, "search", album)


def photos(
    ctx: Context, con: Console, name: str, limit: int | None, export: str | None, album: tuple[str, str] | None = None
) -> int:
    """Every library photo of a registered person."""
    found = photos_of(ctx, name, limit)
    empty = f"no photos of {name!r} in the library"
    return _photo_matches(ctx, con, found.matches, found.total, empty, export, "photos", album)


def photos_maybe(ctx: Context, con: Console, name: str, limit: int | None) -> int:
    """The library photos that may show a registered person: a face just outside the threshold."""
    found = suggest_uc.near_misses(ctx, name, limit)
    for m in found.matches:
        con.emit(m.as_json())
        con.out(f"face {m.hit.face_id}  {m.picture}  (distance {_distance(m.distance)})")
    if not found.matches:
        con.out(f"no photos that may be {name!r} (none just outside the threshold)")
    elif found.total > len(found.matches):
        con.out(f"{len(found.matches)} of {found.total} shown (--limit to see more)")
    if found.matches:
        con.info(f"answer with: people is {name!r} FACE...  or  people not {name!r} FACE...")
    return 0


def verify(ctx: Context, con: Console, first: str, second: str) -> int:
    """Same person or not: the largest face of each image, by the threshold. No database."""
    v = verify_faces(ctx, first, second)
    con.emit(
        {
            "image1": first,
            "image2": second,
            "same": v.same,
            "distance": _distance(v.distance),
            "threshold": round(v.threshold, 4),
            "box1": v.first.face.box.as_list(),
            "box2": v.second.face.box.as_list(),
        }
    )
    for image, n in zip((first, second), v.faces):
        if n > 1:
            con.info(f"{image}: {n} faces; comparing the largest")
    verdict = "same person" if v.same else "different people"
    con.out(f"{verdict} (distance {v.distance:.3f}, threshold {v.threshold:.2f})")
    return 0


def stats(ctx: Context, con: Console) -> int:
    """What the database holds, its size, and where it lives."""
    s = library_stats(ctx)
    con.emit(s.as_json())
    c = s.counts
    rows = [
        ("photos indexed", str(c.photos)),
        ("faces in them", f"{c.faces} ({c.small_faces} too small to recognise)" if c.small_faces else str(c.faces)),
        ("registered people", f"{c.people} ({c.samples} samples)"),
        ("groups of unnamed faces", f"{c.groups} (as of the last 'people')"),
        ("database size", _size(c.size_bytes)),
        ("database", s.location if not s.embedded else f"{s.location} (embedded)"),
    ]
    width = max(display_width(k) for k, _ in rows)
    for key, value in rows:
        con.out(f"{ljust(key, width)}  {value}")
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
