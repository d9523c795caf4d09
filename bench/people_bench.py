"""People benchmark (issue 13): the new grouping against today's, on the same data, in one run.

    python bench/people_bench.py quality                     # dev library: BCubed, old vs new, gates
    python bench/people_bench.py scale --sizes 20000,100000  # synthetic libraries: whole commands
    python bench/people_bench.py knn --size 100000           # pgvector HNSW vs faiss for the kNN graph

`quality` indexes the dev photos as a library (people photos copied as
`<person>__<file>`, plus the group photos) and scores the groups of the old
and the new grouping against the manifest's labels with BCubed precision and
recall (the main face of each people photo carries its person; faces of group
photos are grouped but not scored).

`scale` builds, for each size, a throw-away embedded database with synthetic
SFace faces (`bench/synthetic.py`, real covariance, 10 faces per identity)
loaded by binary COPY (`bench/loading.py`), then times whole commands as a
user runs them, each a separate process measured from outside (wall time,
and peak RSS from `wait4`; the database server's own memory is not in it):
`people --regroup`, today's command (`bench/legacy_grouping.py`) on the same
faces, 1,000 new faces then `people` (the incremental step, then the list),
and `people` again (listing only). It also scores both groupings against
the synthetic identities. Results go to bench/out/people.json; plot them
with `python bench/people_bench.py plot`.

Do not run two benchmarks at once; the machine's load is recorded with each result.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/people_bench.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench import loading
from bench.legacy_grouping import legacy_groups
from bench.scale import bench_settings, build_index, machine_info, reset, vacuum_analyze
from bench.synthetic import FaceSynthesizer, real_embeddings
from facerec.db import Database
from facerec.db.server import EmbeddedServer
from facerec.rules import clustering
from facerec.usecases.context import Context
from facerec.usecases.groups.grouping import people_view, regroup
from facerec.usecases.library.index import index_folders

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_FACES = Path(os.environ.get("FACEREC_TEST_FACES", PROJECT.parent / "shared" / "faces" / "dev"))
DEFAULT_OUT = PROJECT / "bench" / "out" / "people.json"
CLI = [sys.executable, str(PROJECT / "face_recognition.py")]
LEGACY = [sys.executable, str(PROJECT / "bench" / "legacy_grouping.py")]


# -- BCubed ----------------------------------------------------------------------------


def bcubed(groups: Mapping[int, int], labels: Mapping[int, str]) -> tuple[float, float]:
    """BCubed (precision, recall) of `groups` (face -> group) against `labels`
    (face -> true identity), over the labelled faces; a labelled face in no
    group counts as a group of its own."""
    faces = list(labels)
    if not faces:
        return 1.0, 1.0
    group_of = {f: groups.get(f, -f - 1) for f in faces}
    pair = Counter((group_of[f], labels[f]) for f in faces)
    in_group = Counter(group_of.values())
    in_label = Counter(labels.values())
    precision = sum(pair[(group_of[f], labels[f])] / in_group[group_of[f]] for f in faces) / len(faces)
    recall = sum(pair[(group_of[f], labels[f])] / in_label[labels[f]] for f in faces) / len(faces)
    return precision, recall


# -- the dev library -----------------------------------------------------------------------


def dev_library(faces_dir: Path, dest: Path) -> dict[str, str]:
    """Copy the dev set's people photos as `<person>__<file>` and its group photos
    into `dest`; returns picture path -> person for the people photos."""
    dest.mkdir(parents=True, exist_ok=True)
    labels = {}
    for photo in sorted((faces_dir / "people").glob("*/*")):
        target = dest / f"{photo.parent.name}__{photo.name}"
        shutil.copy(photo, target)
        labels[str(target)] = photo.parent.name
    for photo in sorted((faces_dir / "groups").iterdir()):
        shutil.copy(photo, dest / f"group__{photo.name}")
    return labels


def face_labels(ctx: Context, picture_labels: Mapping[str, str]) -> dict[int, str]:
    """face id -> person for the largest face of each labelled picture."""
    with ctx.database.conn.transaction() as cur:
        cur.execute(
            "SELECT f.id, p.picture, f.box[3] * f.box[4] FROM faces f JOIN pictures p ON p.id = f.picture_id"
            " WHERE f.model = %s",
            (ctx.spec.name,),
        )
        rows = cur.fetchall()
    largest: dict[str, tuple[int, int]] = {}
    for face, picture, area in rows:
        if picture in picture_labels and (picture not in largest or area > largest[picture][1]):
            largest[picture] = (int(face), int(area))
    return {face: picture_labels[picture] for picture, (face, _) in largest.items()}


def stored_groups(ctx: Context) -> dict[int, int]:
    """face id -> group id, as stored by the new grouping."""
    with ctx.database.conn.transaction() as cur:
        cur.execute(
            "SELECT face_id, group_id FROM face_groups WHERE group_id IS NOT NULL AND model = %s", (ctx.spec.name,)
        )
        return {int(f): int(g) for f, g in cur.fetchall()}


def face_qualities(ctx: Context) -> dict[str, np.ndarray]:
    with ctx.database.conn.transaction() as cur:
        cur.execute(
            "SELECT least(box[3], box[4]), score, coalesce(sharpness, 'NaN') FROM faces WHERE model = %s",
            (ctx.spec.name,),
        )
        rows = np.array(cur.fetchall(), np.float64).reshape(-1, 3)
    return {"size_px": rows[:, 0], "score": rows[:, 1], "sharpness": rows[:, 2]}


@dataclass
class QualityResult:
    faces: int
    labelled: int
    old: dict[str, float]
    new: dict[str, float]
    gates: list[dict[str, Any]] = field(default_factory=list)
    distributions: dict[str, dict[str, float]] = field(default_factory=dict)


GATE_TRIALS = (
    ("no gates", 0, 0.0, 0.0),
    ("default gates", None, None, None),
    ("min face 60 px", 60, 0.0, 0.0),
    ("min face 80 px", 80, 0.0, 0.0),
    ("min sharpness 100", 0, 100.0, 0.0),
    ("min sharpness 200", 0, 200.0, 0.0),
    ("min score 0.85", 0, 0.0, 0.85),
    ("min score 0.9", 0, 0.0, 0.9),
)


def run_quality(faces_dir: Path, work: Path, pipeline: Any = None) -> QualityResult:
    """Index the dev library into a database under `work`; BCubed of the old and the new grouping."""
    labels_by_picture = dev_library(faces_dir, work / "library")
    settings = bench_settings(work / "data")
    with Database.open(settings) as db:
        ctx = Context(settings, db=db, pipeline=pipeline)
        index_folders(ctx, [work / "library"], workers=2, group=False)
        labels = face_labels(ctx, labels_by_picture)
        old = legacy_groups(ctx, store=False)
        p_old, r_old = bcubed(old, labels)
        trials = []
        new: dict[str, float] = {}
        for name, px, sharp, score in GATE_TRIALS:
            s = settings
            if px is not None:
                s = replace(settings, people_min_face_px=px, people_min_sharpness=sharp, people_min_score=score)
            report = regroup(Context(s, db=db, pipeline=pipeline))
            p, r = bcubed(stored_groups(ctx), labels)
            trials.append({"gates": name, "min_face_px": s.people_min_face_px, "min_sharpness": s.people_min_sharpness,
                           "min_score": s.people_min_score, "gated_faces": report.gated,
                           "precision": p, "recall": r})  # fmt: skip
            if px is None:
                new = {"precision": p, "recall": r}
        dist = {
            k: {"min": float(np.nanmin(v)), "p5": float(np.nanpercentile(v, 5)), "median": float(np.nanmedian(v))}
            for k, v in face_qualities(ctx).items()
        }
        total = len(stored_groups(ctx))
    EmbeddedServer(work / "data").stop()
    return QualityResult(total, len(labels), {"precision": p_old, "recall": r_old}, new, trials, dist)


# -- synthetic libraries -----------------------------------------------------------------------


@dataclass
class CommandRun:
    """One whole command, measured from outside."""

    command: str
    seconds: float
    peak_rss_mb: float
    returncode: int
    load_before: float
    stderr_tail: str = ""


TIME = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").is_file() else None)


def run_command(args: Sequence[str], env: Mapping[str, str], timeout: float = 3600) -> CommandRun:
    """Run `args` to the end; wall time and peak resident memory of that process.

    The memory is GNU time's `%M` (the command's own maximum RSS): `wait4`'s
    ru_maxrss would count the benchmark's own pages, shared with the child
    between fork and exec. Without GNU time it falls back to `wait4`.
    """
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "time.txt"
        wrapped = [TIME, "-f", "%M", "-o", str(report), *args] if TIME else list(args)
        start = time.perf_counter()
        with open(Path(tmp) / "stderr", "w+b") as err:
            proc = subprocess.Popen(wrapped, env=dict(env), stdout=subprocess.DEVNULL, stderr=err)
            deadline = start + timeout
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    proc.kill()
                time.sleep(0.02)
            seconds = time.perf_counter() - start
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
        rss_kb = float(report.read_text().split()[-1]) if TIME and report.is_file() else float(usage.ru_maxrss)
    code = os.waitstatus_to_exitcode(status)
    name = " ".join(Path(a).name if i < 2 else a for i, a in enumerate(args))
    return CommandRun(name, seconds, rss_kb / 1024, code, load, tail)


@dataclass
class SizeResult:
    size: int
    load_s: float = 0.0
    index_build_s: float | None = None
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    quality: dict[str, dict[str, float]] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    incremental_step_s: float | None = None
    list_in_process_s: float | None = None
    listed_groups: int = 0


def _load(conn: Any, vectors: np.ndarray, rng: np.random.Generator, first_picture: int) -> int:
    """Pictures (library photos, two faces each) and faces; returns the pictures added."""
    n_pictures = -(-len(vectors) // loading.FACES_PER_PICTURE)
    with conn.cursor() as cur:
        text = "".join(f"/bench/photos/{first_picture + i:09d}.jpg\tfile\t1600\t1200\n" for i in range(n_pictures))
        cur.copy_expert("COPY pictures (picture, source, width, height) FROM STDIN", io.StringIO(text), size=1 << 20)
        cur.execute("UPDATE pictures SET indexed_at = now() WHERE indexed_at IS NULL")
    conn.commit()
    rows = loading.face_rows(vectors, rng, first_picture_id=first_picture)
    loading.copy_binary(conn, rows)
    return n_pictures


def _step_seconds(stderr: str) -> float | None:
    m = re.search(r"people: (?:placed|regrouped) \d+ faces in ([\d.]+) s", stderr)
    return float(m.group(1)) if m else None


def run_size(size: int, real: np.ndarray, old: bool, incremental: int, work: Path, seed: int = 0,
             log: Any = print) -> SizeResult:  # fmt: skip
    result = SizeResult(size)
    data = work / f"data-{size}"
    settings = bench_settings(data)
    # The synthetic detector scores are uniform in 0.7-1.0 (YuNet's are 0.8 and up): without the
    # score gate every face is grouped, as today's command groups them all.
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FACEREC_") and k != "DATABASE_URL"},
           "FACEREC_DATA_DIR": str(data), "FACEREC_PEOPLE_MIN_SCORE": "0"}  # fmt: skip
    synth = FaceSynthesizer(real, seed=seed)
    faces = synth.faces(size)
    rng = np.random.default_rng(seed)
    db = Database.open(settings)
    conn = db.conn.conn
    indexdef = reset(conn)
    start = time.perf_counter()
    _load(conn, faces.vectors, rng, 1)
    result.load_s = time.perf_counter() - start
    vacuum_analyze(conn)
    if incremental or old:
        log(f"  {size}: building the HNSW index (as a library has it; the incremental step queries it)")
        result.index_build_s = build_index(conn, indexdef, None, None)["seconds"]
    db.close()  # the server stays up while the commands below use it (they connect like any user)
    server_keep = Database.open(settings)
    try:
        log(f"  {size}: people --regroup")
        run = run_command([*CLI, "people", "--regroup", "--limit", "1"], env)
        result.runs["new regroup"] = asdict(run)
        log(f"    {run.seconds:.1f} s, {run.peak_rss_mb:.0f} MB, exit {run.returncode}")
        truth = {i + 1: int(identity) for i, identity in enumerate(faces.identity)}  # face ids are 1..n
        with Context(settings, db=server_keep) as ctx:
            new_groups = stored_groups(ctx)
        result.quality["new"] = dict(
            zip(("precision", "recall"), bcubed(new_groups, {k: str(v) for k, v in truth.items()}))
        )
        result.groups["new"] = len(set(new_groups.values()))
        if incremental:
            who = rng.integers(0, len(faces.centres), incremental)
            more = synth.samples(faces.centres[who])
            n_pictures = -(-size // loading.FACES_PER_PICTURE)
            _load(server_keep.conn.conn, more, rng, n_pictures + 1)
            truth.update({size + 1 + j: int(identity) for j, identity in enumerate(who)})
            log(f"  {size}: +{incremental} faces, then people (incremental step + list)")
            run = run_command([*CLI, "people", "--limit", "20"], env)
            result.runs["incremental + list"] = asdict(run)
            result.incremental_step_s = _step_seconds(run.stderr_tail)
            log(f"    {run.seconds:.1f} s (step {result.incremental_step_s} s), {run.peak_rss_mb:.0f} MB")
            with Context(settings, db=server_keep) as ctx:
                after = stored_groups(ctx)
            result.quality["new, after the incremental step"] = dict(
                zip(("precision", "recall"), bcubed(after, {k: str(v) for k, v in truth.items()}))
            )
            result.groups["new, after the incremental step"] = len(set(after.values()))
        log(f"  {size}: people (list only)")
        run = run_command([*CLI, "people", "--limit", "20"], env)
        result.runs["list"] = asdict(run)
        log(f"    {run.seconds:.2f} s, {run.peak_rss_mb:.0f} MB")
        with Context(settings, db=server_keep) as ctx:
            start = time.perf_counter()
            view = people_view(ctx, limit=20)
            result.list_in_process_s = time.perf_counter() - start
            result.listed_groups = view.total
        log(f"    in process: {result.list_in_process_s * 1000:.0f} ms for {view.total} groups")
        # Today's command last: it rewrites every face row (faces.cluster_id), which bloats the table
        # and the HNSW index for whatever runs after it.
        if old:
            log(f"  {size}: today's people")
            run = run_command([*LEGACY, str(data)], env)
            result.runs["old people"] = asdict(run)
            log(f"    {run.seconds:.1f} s, {run.peak_rss_mb:.0f} MB, exit {run.returncode}")
            with server_keep.conn.transaction() as cur:
                cur.execute("SELECT id, cluster_id FROM faces WHERE cluster_id IS NOT NULL")
                old_groups = {int(f): int(g) for f, g in cur.fetchall()}
            result.quality["old"] = dict(
                zip(("precision", "recall"), bcubed(old_groups, {k: str(v) for k, v in truth.items()}))
            )
            result.groups["old"] = len(set(old_groups.values()))
    finally:
        server_keep.close()
        EmbeddedServer(data).stop()
        shutil.rmtree(data, ignore_errors=True)
    return result


# -- pgvector HNSW against an in-process index, for the kNN graph ------------------------------


def run_knn(size: int, real: np.ndarray, sample: int, work: Path, seed: int = 0) -> dict[str, Any]:
    """Neighbours of `sample` faces through pgvector (the batched LATERAL query, 500 a
    round trip), extrapolated to every face, against faiss building and searching all."""
    data = work / f"knn-{size}"
    settings = bench_settings(data)
    faces = FaceSynthesizer(real, seed=seed).faces(size)
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {"size": size, "sample": sample, "load_before": os.getloadavg()[0]}
    with Database.open(settings) as db:
        conn = db.conn.conn
        indexdef = reset(conn)
        _load(conn, faces.vectors, rng, 1)
        vacuum_analyze(conn)
        out["pgvector_build_s"] = build_index(conn, indexdef, None, None)["seconds"]
        picks = rng.choice(size, sample, replace=False)
        k = clustering.K_NEIGHBOURS + 1
        exact = np.concatenate([
            np.argpartition(-(faces.vectors[picks[i : i + 500]] @ faces.vectors.T), k - 1, axis=1)[:, :k]
            for i in range(0, sample, 500)
        ])  # fmt: skip
        start = time.perf_counter()
        found = []
        for i in range(0, sample, 500):
            near = db.stores("sface", 128).groups.neighbours(list(faces.vectors[picks[i : i + 500]]), k)
            found += [[nb.face_id - 1 for nb in row] for row in near]
        seconds = time.perf_counter() - start
        out["pgvector_per_face_ms"] = 1000 * seconds / sample
        out["pgvector_all_faces_s"] = seconds / sample * size
        out["pgvector_recall"] = float(np.mean([len(set(f) & set(e)) / k for f, e in zip(found, exact)]))
    EmbeddedServer(data).stop()
    shutil.rmtree(data, ignore_errors=True)
    start = time.perf_counter()
    rows, cols, sims = clustering._hnsw_knn(faces.vectors, k, None, None)
    out["faiss_all_faces_s"] = time.perf_counter() - start
    found_faiss = cols.reshape(size, -1) if len(cols) == size * k else None
    if found_faiss is not None:
        out["faiss_recall"] = float(np.mean([len(set(found_faiss[p]) & set(e)) / k for p, e in zip(picks, exact)]))
    out["load_after"] = os.getloadavg()[0]
    return out


# -- output -----------------------------------------------------------------------------------


def format_quality(q: QualityResult) -> str:
    lines = [
        f"dev library: {q.faces} faces grouped, {q.labelled} labelled (main face of each people photo)",
        f"  old grouping: BCubed precision {q.old['precision']:.3f}, recall {q.old['recall']:.3f}",
        f"  new grouping: BCubed precision {q.new['precision']:.3f}, recall {q.new['recall']:.3f}",
        "  gates: "
        + "; ".join(
            f"{t['gates']}: {t['gated_faces']} faces left out, P {t['precision']:.3f} R {t['recall']:.3f}"
            for t in q.gates
        ),
        "  faces: "
        + "; ".join(
            f"{k} min {v['min']:.1f} p5 {v['p5']:.1f} median {v['median']:.1f}" for k, v in q.distributions.items()
        ),  # fmt: skip
    ]
    return "\n".join(lines)


def format_sizes(results: Sequence[SizeResult]) -> str:
    lines = ["| faces | command | wall s | peak RSS MB | load before |", "|---:|---|---:|---:|---:|"]
    for r in results:
        for name, run in r.runs.items():
            lines.append(
                f"| {r.size:,} | {name} | {run['seconds']:.2f} | {run['peak_rss_mb']:.0f} | {run['load_before']:.1f} |"
            )
    lines.append("")
    for r in results:
        q = "; ".join(
            f"{k}: P {v['precision']:.3f} R {v['recall']:.3f} ({r.groups.get(k)} groups)" for k, v in r.quality.items()
        )
        lines.append(f"{r.size:,}: load {r.load_s:.1f} s, incremental step {r.incremental_step_s} s; BCubed {q}")
    return "\n".join(lines)


def plot(path: Path, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(path.read_text())
    sizes = data["sizes"]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    for name, label in (("new regroup", "people --regroup (new)"), ("old people", "people (today)")):
        xs = [r["size"] for r in sizes if name in r["runs"]]
        if not xs:
            continue
        ax_t.plot(xs, [r["runs"][name]["seconds"] for r in sizes if name in r["runs"]], "o-", label=label)
        ax_m.plot(xs, [r["runs"][name]["peak_rss_mb"] / 1024 for r in sizes if name in r["runs"]], "o-", label=label)
    for ax, ylabel in ((ax_t, "wall time (s)"), (ax_m, "peak RSS (GiB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("unnamed faces")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("Grouping the whole library (2 cores, one process, measured from outside)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("mode", choices=("quality", "scale", "knn", "plot"))
    p.add_argument("--sizes", default="20000,100000", help="scale: comma-separated face counts")
    p.add_argument("--old-sizes", default="20000,100000", help="scale: sizes at which today's command runs too")
    p.add_argument("--incremental", type=int, default=1000, help="scale: new faces for the incremental step (0: skip)")
    p.add_argument("--incremental-sizes", default="100000", help="scale: sizes at which the incremental step is run")
    p.add_argument("--size", type=int, default=100_000, help="knn: faces")
    p.add_argument("--sample", type=int, default=5000, help="knn: faces asked through pgvector")
    p.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--plot-out", type=Path, default=PROJECT / "docs" / "benchmarks-people.png")
    a = p.parse_args(argv)
    if a.mode == "plot":
        plot(a.out, a.plot_out)
        return 0
    results: dict[str, Any] = json.loads(a.out.read_text()) if a.out.is_file() else {}
    results["machine"] = machine_info()
    work = Path(tempfile.mkdtemp(prefix="people-bench-"))
    try:
        if a.mode == "quality":
            q = run_quality(a.faces, work)
            results["quality"] = asdict(q)
            print(format_quality(q))
        elif a.mode == "knn":
            r = run_knn(a.size, real_embeddings(a.faces), a.sample, work)
            results.setdefault("knn", []).append(r)
            print(json.dumps(r, indent=1))
        else:
            real = real_embeddings(a.faces)
            old = {int(s) for s in a.old_sizes.split(",") if s}
            inc = {int(s) for s in a.incremental_sizes.split(",") if s}
            done = {r["size"]: r for r in results.get("sizes", [])}
            out = []
            for size in (int(s) for s in a.sizes.split(",")):
                print(f"{size:,} faces (load average {os.getloadavg()[0]:.1f})", flush=True)
                r = run_size(size, real, size in old, a.incremental if size in inc else 0, work,
                             log=lambda m: print(m, flush=True))  # fmt: skip
                out.append(r)
                done[size] = asdict(r)
                results["sizes"] = [done[s] for s in sorted(done)]
                a.out.parent.mkdir(parents=True, exist_ok=True)
                a.out.write_text(json.dumps(results, indent=1))
            print(format_sizes(out))
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(results, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
