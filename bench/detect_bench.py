"""Detection before and after issue 22 (several looks at one photo), on photos
built at run time from the dev set (`bench/detect_cases.py`; nothing is written).

BEFORE is today's `index` path: the JPEG decoded at reduced size (both sides
at least 1920 px), one YuNet look at 640 px, SFace embeddings and sharpness.
AFTER is `Pipeline.analyze_photo`: the same bytes decoded once, the looks of
`facerec.vision.looks`, the same embeddings and sharpness. Both run in this
process, one thread (as an index worker), one photo after the other, each
photo's before and after back to back (alternating which goes first), so the
two columns share the machine's load.

    python bench/detect_bench.py [--cases crowd,band,filled,turned,ordinary,empty,known,library] [--crowds 6] [--always]

Cases (see bench/detect_cases.py): crowd (12 MP canvases full of the group
photos, faces 26-80 px), band (the same in the bottom third of a 12 MP
landscape), filled (faces cut tight, 2000 px), turned (90/180/270, no EXIF),
ordinary (the portraits enlarged to 12 MP), empty (12 MP without a face),
known (the photos whose face count the source states), library (every dev photo as it is: index_bench's photos).

Per case: recall (true faces found: a box overlapping one by IoU >= 0.4),
for crowd, band and turned the faces still recognisable (embedding within the
threshold 0.57 of the same face's in its source photo, and the median distance),
extra boxes (boxes that are no true face; for `known`, photos with more
boxes than their stated count), photos/s from CPU time (the process's, less
sensitive to other programs than wall time, which is printed too) and the
after/before time ratio. `--always` adds a row per case with tiles over the
whole of every large photo, to measure what the choice of when to tile
costs and misses. Writes bench/out/detect.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.detect_cases import (  # noqa: E402
    Case,
    crowd_cases,
    empty_cases,
    filled_cases,
    known_cases,
    library_cases,
    match,
    ordinary_cases,
    turned_cases,
)
from facerec.types import Box, EmbeddedFace, Image  # noqa: E402
from facerec.vision import runtime  # noqa: E402
from facerec.vision.detectors import YuNetDetector  # noqa: E402
from facerec.vision.images import decode  # noqa: E402
from facerec.vision.looks import ALL_LOOKS, Looks  # noqa: E402
from facerec.vision.pipeline import Pipeline  # noqa: E402
from facerec.vision.quality import face_sharpness  # noqa: E402

OUT = ROOT / "bench" / "out"
TODAY_DECODE_SIDE = 1920  # facerec/usecases/index.py DECODE_SIDE
THRESHOLD = 0.57


@dataclass
class Result:
    faces: list[EmbeddedFace]
    turn: int = 0
    looks: tuple[str, ...] = ("normal",)
    tiles: int = 0


def before(pipeline: Pipeline, data: bytes, label: str) -> Result:
    """Today's `analyze_file` after hashing: reduced decode, one look, embeddings, sharpness."""
    pixels, _, _, scale = decode(data, label, TODAY_DECODE_SIDE)
    faces = pipeline.analyze(pixels)
    face_sharpness(pipeline.embedder, pixels, [f.face for f in faces])
    if scale != 1.0:
        faces = [EmbeddedFace(f.face.scaled(scale), f.embedding, f.model) for f in faces]
    return Result(faces)


def after(pipeline: Pipeline, data: bytes, label: str, looks: Looks) -> Result:
    found = pipeline.analyze_photo(data, label, looks)
    return Result(found.faces, found.turn, found.looks, found.tiles)


@dataclass
class Tally:
    photos: int = 0
    truth: int = 0
    found: int = 0
    extra: int = 0
    over: int = 0
    """Photos with more boxes than their known face count."""
    boxes: int = 0
    cpu: float = 0.0
    wall: float = 0.0
    turn_ok: int = 0
    distances: list[float] = field(default_factory=list)
    looks: Counter[str] = field(default_factory=Counter)
    tiles: int = 0

    def add(self, case: Case, result: Result, cpu: float, wall: float, references: list[np.ndarray]) -> None:
        self.photos += 1
        self.cpu += cpu
        self.wall += wall
        boxes = [f.face.box for f in result.faces]
        self.boxes += len(boxes)
        self.truth += len(case.truth)
        if case.truth:
            hits, extra = match(boxes, case.truth)
            self.found += hits
            self.extra += extra
        if case.known is not None and len(boxes) > case.known:
            self.over += 1
        self.turn_ok += result.turn == case.turn
        self.looks.update(set(result.looks))
        self.tiles += result.tiles
        if references:
            self.distances += _distances(result.faces, case.truth, references)

    def row(self) -> dict[str, object]:
        return {
            "photos": self.photos,
            "faces": self.truth,
            "recall": round(self.found / self.truth, 3) if self.truth else None,
            "extra": self.extra,
            "over_known": self.over,
            "boxes": self.boxes,
            "cpu_photos_per_s": round(self.photos / self.cpu, 2) if self.cpu else None,
            "wall_photos_per_s": round(self.photos / self.wall, 2) if self.wall else None,
            "cpu_s": round(self.cpu, 2),
            "cpu_ms_per_box": round(1000 * self.cpu / self.boxes, 1) if self.boxes else None,
            "turn_ok": self.turn_ok,
            "same_person": sum(d <= THRESHOLD for d in self.distances),
            "median_distance": round(float(np.median(self.distances)), 3) if self.distances else None,
            "looks": dict(self.looks),
            "tiles": self.tiles,
        }


def _distances(found: list[EmbeddedFace], truth: list[Box], references: list[np.ndarray]) -> list[float]:
    """For each true face: the cosine distance between its embedding where it was
    found and the same face's embedding in its source photo (2.0 if not found)."""
    out = []
    for box, reference in zip(truth, references):
        best = max(found, key=lambda f: f.face.box.iou(box), default=None)
        if best is None or best.face.box.iou(box) < 0.4:
            out.append(2.0)
        else:
            out.append(float(1.0 - np.dot(best.embedding, reference)))
    return out


_sources: dict[Path, Image] = {}


def _references(pipeline: Pipeline, case: Case) -> list[np.ndarray]:
    """The embedding of each true face in its source photo (decoded as `index` does today)."""
    out = []
    for path, face in case.origins:
        if path not in _sources:
            _sources[path] = decode(path.read_bytes(), str(path), TODAY_DECODE_SIDE)[0]
        out.append(pipeline.embed(_sources[path], [face])[0].embedding)
    return out


def run(
    pipeline: Pipeline, cases: Iterable[Case], variants: dict[str, Callable[[bytes, str], Result]]
) -> dict[str, Tally]:
    tallies = {name: Tally() for name in variants}
    names = list(variants)
    for i, case in enumerate(cases):
        references = _references(pipeline, case)
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            c0, w0 = time.process_time(), time.perf_counter()
            result = variants[name](case.data, case.name)
            c1, w1 = time.process_time(), time.perf_counter()
            tallies[name].add(case, result, c1 - c0, w1 - w0, references)
    return tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", default=os.environ.get("FACEREC_TEST_FACES", str(ROOT.parent / "shared/faces/dev")))
    parser.add_argument("--cases", default="crowd,band,filled,turned,ordinary,empty,known,library")
    parser.add_argument("--crowds", type=int, default=6, help="12 MP crowd photos to build")
    parser.add_argument("--ordinary", type=int, default=None, help="at most this many 12 MP portraits")
    parser.add_argument("--always", action="store_true", help="also run with tiles over every large photo")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    root = Path(args.faces)
    runtime.set_threads(1)
    pipeline = Pipeline.load("yunet", "sface")
    today = YuNetDetector()
    builders: dict[str, Callable[[], Iterable[Case]]] = {
        "crowd": lambda: crowd_cases(root, today, args.crowds),
        "band": lambda: crowd_cases(root, today, args.crowds, band=1 / 3),
        "filled": lambda: filled_cases(root, today),
        "turned": lambda: turned_cases(root, today),
        "ordinary": lambda: ordinary_cases(root, today, args.ordinary),
        "empty": lambda: empty_cases(root),
        "known": lambda: known_cases(root),
        "library": lambda: library_cases(root),
    }
    variants: dict[str, Callable[[bytes, str], Result]] = {
        "before": lambda data, label: before(pipeline, data, label),
        "after": lambda data, label: after(pipeline, data, label, ALL_LOOKS),
    }
    if args.always:
        always = Looks(tiles="always")
        variants["after, tiles always"] = lambda data, label: after(pipeline, data, label, always)
    warm = next(iter(crowd_cases(root, today, 1)))
    for v in variants.values():  # compile every network shape once, outside the timings
        v(warm.data, warm.name)
    rows = []
    for name in args.cases.split(","):
        tallies = run(pipeline, builders[name](), variants)
        base = tallies["before"]
        for variant, tally in tallies.items():
            row = {"case": name, "variant": variant, **tally.row()}
            row["time_ratio"] = round(tally.cpu / base.cpu, 2) if base.cpu else None
            rows.append(row)
            _print_row(row)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "detect.json").write_text(json.dumps(rows, indent=2))


_printed_header = False


def _print_row(r: dict[str, object]) -> None:
    global _printed_header
    if not _printed_header:
        print(f"{os.cpu_count()} cores; CPU-time photos/s (wall in brackets); one thread")
        print(
            f"{'case':9} {'variant':20} {'photos':>6} {'faces':>6} {'recall':>6} {'extra':>5} {'>known':>6} "
            f"{'photos/s':>15} {'ratio':>5}  notes"
        )
        _printed_header = True
    recall = "" if r["recall"] is None else f"{r['recall']:.3f}"
    speed = f"{r['cpu_photos_per_s']} ({r['wall_photos_per_s']})"
    notes = []
    if r["case"] == "turned":
        notes.append(f"right turn {r['turn_ok']}/{r['photos']}")
    if r["median_distance"] is not None:
        notes.append(
            f"same person {r['same_person']}/{r['faces']} (median distance to the source {r['median_distance']})"
        )
    if r["case"] in ("crowd", "band"):
        notes.append(f"{r['cpu_ms_per_box']} ms per box")
    looks = r["looks"]
    assert isinstance(looks, dict)
    extra_looks = {k: v for k, v in looks.items() if k != "normal"}
    if extra_looks:
        notes.append("looks " + ", ".join(f"{k} {v}" for k, v in sorted(extra_looks.items())) + f"; {r['tiles']} tiles")
    print(
        f"{r['case']:9} {r['variant']:20} {r['photos']:>6} {r['faces']:>6} {recall:>6} {r['extra']:>5} "
        f"{r['over_known']:>6} {speed:>15} {r['time_ratio']:>5}  {'; '.join(notes)}",
        flush=True,
    )


if __name__ == "__main__":
    main()
