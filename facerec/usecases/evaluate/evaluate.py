"""Measuring accuracy on a labelled folder, and the standard LFW protocol.

`evaluate_folder`: FOLDER has `people/<name>/<images>` and optionally
`distractors/<images>`. In a throw-away database, the first K photos of each
person are registered; every other photo is recognized (its largest face),
and so is every distractor. The report gives the identification rate, false
accepts, a threshold sweep with the threshold that keeps false accepts at or
under 1%, detection misses and time per photo, so anyone can calibrate the
threshold on their own people.

`lfw_verification`: the LFW `pairs.txt` protocol: 10 folds; for each, the
threshold is chosen on the other 9 and accuracy measured on it.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facerec.db import Database
from facerec.errors import DatasetError, FacerecError
from facerec.types import Box, Face
from facerec.usecases.context import Context
from facerec.usecases.library.recognize import analyze_photo, largest
from facerec.usecases.people.register import register_photos
from facerec.vision.images import IMAGE_SUFFIXES, load_image

__all__ = ["EvaluationReport", "VerificationReport", "evaluate_folder", "verify_pairs"]

log = logging.getLogger(__name__)

SWEEP = np.round(np.arange(0.20, 0.905, 0.01), 2)
"""Thresholds (cosine distance) the sweep reports."""

MAX_FALSE_ACCEPT_RATE = 0.01


@dataclass(frozen=True)
class Trial:
    """One recognized photo: who it is, who came out nearest, how far."""

    photo: str
    truth: str | None  # None for a distractor
    best: str | None
    distance: float | None
    second: float | None = None


@dataclass
class SweepPoint:
    threshold: float
    identification_rate: float
    false_accepts: int
    false_accept_rate: float


@dataclass
class EvaluationReport:
    """Everything `evaluate` prints. Rates are fractions (0..1)."""

    detector: str
    embedder: str
    samples: int
    threshold: float
    people: int
    registered_photos: int
    probes: int
    distractors: int
    identified: int
    wrong_names: int
    distractors_named: int
    detection_misses: list[str]
    seconds_per_photo: float
    sweep: list[SweepPoint] = field(default_factory=list)
    calibrated_threshold: float | None = None
    calibrated_rate: float | None = None
    trials: list[Trial] = field(default_factory=list)

    @property
    def identification_rate(self) -> float:
        return self.identified / self.probes if self.probes else 0.0

    @property
    def false_accepts(self) -> int:
        return self.wrong_names + self.distractors_named

    def margins(self) -> dict[str, float | None]:
        """Best-vs-second-best person margin (second distance - best distance) of
        the accepted faces, right and wrong: a margin rule only helps if wrong
        accepts have smaller margins than right ones."""
        right: list[float] = []
        wrong: list[float] = []
        for t in self.trials:
            if t.distance is None or t.second is None or t.distance > self.threshold:
                continue
            (right if t.truth is not None and t.best == t.truth else wrong).append(t.second - t.distance)
        return {
            "right_min": round(min(right), 4) if right else None,
            "right_median": round(float(np.median(right)), 4) if right else None,
            "wrong_max": round(max(wrong), 4) if wrong else None,
        }

    def as_json(self) -> dict[str, object]:
        return {
            "detector": self.detector,
            "embedder": self.embedder,
            "samples": self.samples,
            "threshold": self.threshold,
            "people": self.people,
            "registered_photos": self.registered_photos,
            "probes": self.probes,
            "distractors": self.distractors,
            "identification_rate": round(self.identification_rate, 4),
            "identified": self.identified,
            "false_accepts": self.false_accepts,
            "wrong_names": self.wrong_names,
            "distractors_named": self.distractors_named,
            "detection_misses": self.detection_misses,
            "seconds_per_photo": round(self.seconds_per_photo, 4),
            "calibrated_threshold": self.calibrated_threshold,
            "calibrated_identification_rate": None if self.calibrated_rate is None else round(self.calibrated_rate, 4),
            "margins": self.margins(),
            "sweep": [dataclasses.asdict(p) for p in self.sweep],
        }


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def score(trials: Sequence[Trial], threshold: float) -> tuple[int, int, int]:
    """(identified, wrong names, distractors named) at `threshold`."""
    identified = wrong = named = 0
    for t in trials:
        accepted = t.distance is not None and t.distance <= threshold
        if not accepted:
            continue
        if t.truth is None:
            named += 1
        elif t.best == t.truth:
            identified += 1
        else:
            wrong += 1
    return identified, wrong, named


def sweep(trials: Sequence[Trial], thresholds: Sequence[float] = tuple(SWEEP)) -> list[SweepPoint]:
    """Identification rate and false accepts at each threshold.

    The false-accept rate is false accepts (wrong names + named distractors)
    over all recognition attempts (probes + distractors).
    """
    probes = sum(t.truth is not None for t in trials)
    attempts = max(1, len(trials))
    out = []
    for th in thresholds:
        identified, wrong, named = score(trials, float(th))
        out.append(SweepPoint(float(th), identified / max(1, probes), wrong + named, (wrong + named) / attempts))
    return out


def calibrate(points: Sequence[SweepPoint], max_rate: float = MAX_FALSE_ACCEPT_RATE) -> SweepPoint | None:
    """The loosest threshold whose false-accept rate is at most `max_rate`."""
    ok = [p for p in points if p.false_accept_rate <= max_rate]
    return max(ok, key=lambda p: p.threshold) if ok else None


def evaluate_folder(ctx: Context, folder: Path, samples: int = 1) -> EvaluationReport:
    """Register the first `samples` photos of each person in a throw-away database
    (not the context's), recognize the rest, with the context's models and threshold."""
    people_dir = folder / "people"
    if not people_dir.is_dir():
        raise DatasetError(f"{folder}: expected a people/<name>/<images> layout (no people/ folder)")
    people = {d.name: _images(d) for d in sorted(people_dir.iterdir()) if d.is_dir() and _images(d)}
    if not people:
        raise DatasetError(f"{people_dir}: no person folders with images")
    distractor_dir = folder / "distractors"
    distractors = _images(distractor_dir) if distractor_dir.is_dir() else []

    with tempfile.TemporaryDirectory(prefix="facerec-evaluate-") as tmp:
        scratch = dataclasses.replace(ctx.settings, database_url="", data_dir=Path(tmp))
        with Database.open(scratch) as db, Context(scratch, db=db, pipeline=ctx.pipeline) as trial:
            return _run(trial, people, distractors, samples)


def _run(ctx: Context, people: dict[str, list[Path]], distractors: list[Path], samples: int) -> EvaluationReport:
    misses: list[str] = []
    registered = 0
    started = time.perf_counter()
    photos = 0
    for name, paths in people.items():
        for path in paths[:samples]:
            photos += 1
            try:
                register_photos(ctx, name, [path], use_largest=True)
                registered += 1
            except FacerecError:
                misses.append(str(path))
    probes = [(name, p) for name, paths in people.items() for p in paths[samples:]]
    trials: list[Trial] = []
    for truth, path in [*probes, *((None, d) for d in distractors)]:
        photos += 1
        faces = analyze_photo(ctx, path).faces
        if not faces:
            misses.append(str(path))
            trials.append(Trial(str(path), truth, None, None))
            continue
        face = largest(faces)
        (candidates,) = ctx.db.people.nearest([face.embedding])
        best = candidates[0] if candidates else None
        second = candidates[1].distance if len(candidates) > 1 else None
        trials.append(Trial(str(path), truth, best.name if best else None, best.distance if best else None, second))
    elapsed = time.perf_counter() - started
    identified, wrong, named = score(trials, ctx.threshold)
    points = sweep(trials)
    chosen = calibrate(points)
    return EvaluationReport(
        detector=ctx.settings.detector,
        embedder=ctx.spec.name,
        samples=samples,
        threshold=ctx.threshold,
        people=len(people),
        registered_photos=registered,
        probes=len(probes),
        distractors=len(distractors),
        identified=identified,
        wrong_names=wrong,
        distractors_named=named,
        detection_misses=misses,
        seconds_per_photo=elapsed / max(1, photos),
        sweep=points,
        calibrated_threshold=None if chosen is None else chosen.threshold,
        calibrated_rate=None if chosen is None else chosen.identification_rate,
        trials=trials,
    )


# -- LFW verification protocol --------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """Two images (paths relative to the images folder) and whether they show the same person."""

    a: str
    b: str
    same: bool
    fold: int


def lfw_image(name: str, number: int) -> str:
    return f"{name}/{name}_{number:04d}.jpg"


def parse_pairs(text: str) -> list[Pair]:
    """Read LFW's `pairs.txt`: a header "folds pairs_per_fold", then per fold
    that many same-person lines (`name n1 n2`) and as many different-person
    lines (`name1 n1 name2 n2`)."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or len(lines[0]) != 2:
        raise DatasetError("pairs file: the first line must be '<folds> <pairs per fold>'")
    folds, per_fold = (int(v) for v in lines[0])
    body = lines[1:]
    if len(body) != folds * per_fold * 2:
        raise DatasetError(f"pairs file: expected {folds * per_fold * 2} pair lines, found {len(body)}")
    pairs = []
    for i, fields in enumerate(body):
        fold = i // (2 * per_fold)
        try:
            if len(fields) == 3:
                a, b = lfw_image(fields[0], int(fields[1])), lfw_image(fields[0], int(fields[2]))
                pairs.append(Pair(a, b, True, fold))
            elif len(fields) == 4:
                a, b = lfw_image(fields[0], int(fields[1])), lfw_image(fields[2], int(fields[3]))
                pairs.append(Pair(a, b, False, fold))
            else:
                raise ValueError
        except ValueError:
            raise DatasetError(f"pairs file: line {i + 2} is not a pair: {' '.join(fields)!r}") from None
    return pairs


def best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """The threshold (accept at or under) with the highest accuracy on these pairs."""
    candidates = np.unique(distances)
    best_t, best_acc = float(candidates[0]), -1.0
    for t in candidates:
        acc = float(np.mean((distances <= t) == same))
        if acc > best_acc:
            best_t, best_acc = float(t), acc
    return best_t


def ten_fold(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> tuple[float, float, list[float]]:
    """(mean accuracy, std, per-fold accuracies): each fold tested with the
    threshold that is best on all the other folds."""
    accuracies = []
    for k in np.unique(folds):
        train, test = folds != k, folds == k
        t = best_threshold(distances[train], same[train])
        accuracies.append(float(np.mean((distances[test] <= t) == same[test])))
    return float(np.mean(accuracies)), float(np.std(accuracies)), accuracies


@dataclass
class VerificationReport:
    pairs: int
    folds: int
    accuracy: float
    std: float
    fold_accuracies: list[float]
    no_face: int

    def as_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def verify_pairs(ctx: Context, pairs_file: Path, images: Path) -> VerificationReport:
    """Run the LFW protocol (no database). An image where no face is found is
    embedded from its central region (LFW images are 250x250, face centred), and counted."""
    pipeline = ctx.pipeline
    try:
        pairs = parse_pairs(pairs_file.read_text())
    except OSError as exc:
        raise DatasetError(f"{pairs_file}: cannot read ({exc.strerror})") from None
    cache: dict[str, np.ndarray] = {}
    no_face = 0

    def embedding(rel: str) -> np.ndarray:
        nonlocal no_face
        if rel not in cache:
            pixels = load_image(images / rel).pixels
            faces = pipeline.detect(pixels)
            if faces:
                face = max(faces, key=lambda f: f.box.area)
            else:
                no_face += 1
                h, w = pixels.shape[:2]
                face = Face(Box(w // 4, h // 4, w // 2, h // 2), 0.0)
            cache[rel] = pipeline.embedder.embed(pixels, [face])[0]
        return cache[rel]

    distances = np.array([1.0 - float(np.dot(embedding(p.a), embedding(p.b))) for p in pairs])
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    mean, std, per_fold = ten_fold(distances, same, folds)
    return VerificationReport(len(pairs), len(set(folds.tolist())), mean, std, per_fold, no_face)
