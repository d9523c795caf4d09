"""Commands that check and serve: doctor, evaluate (a labelled folder, LFW pairs), web."""

from __future__ import annotations

from pathlib import Path

from facerec.errors import (
    ServerError,
)
from facerec.ui.console import Console, display_width, ljust
from facerec.ui.plot import line_chart
from facerec.usecases import doctor as doctor_uc
from facerec.usecases.context import Context
from facerec.usecases.evaluate import evaluate as evaluation


def doctor(ctx: Context, con: Console) -> int:
    """Check the installation, one line per check; exit status 1 when one failed."""
    report = doctor_uc.doctor(ctx)
    for record in report.as_json():
        con.emit(record)
    width = max(display_width(c.name) for c in report.checks)
    marks = {doctor_uc.OK: "ok  ", doctor_uc.WARN: "warn", doctor_uc.FAIL: "FAIL"}
    for c in report.checks:
        con.out(f"{marks[c.status]}  {ljust(c.name, width)}  {c.detail}" + (f" -> {c.fix}" if c.fix else ""))
    failed = [c.name for c in report.checks if c.status == doctor_uc.FAIL]
    con.out(f"{len(failed)} check{'s' * (len(failed) != 1)} failed: {', '.join(failed)}" if failed else "all good")
    return 1 if failed else 0


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
        markers = {f"threshold in use: {report.threshold:.2f}": report.threshold}
        if report.calibrated_threshold is not None:
            markers[f"at most 1% false accepts: {report.calibrated_threshold:.2f}"] = report.calibrated_threshold
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
            markers=markers,
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
