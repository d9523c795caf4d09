"""Scale benchmark: facerec's pgvector search over 10k, 100k and 1M synthetic faces.

    python bench/scale.py --sizes 10000,100000,1000000

For each size it empties a throw-away embedded database (its own data
directory: a temp dir, or --data-dir), loads synthetic SFace faces into the
real schema, builds the real partial HNSW index `faces_sface_hnsw` after the
bulk load, and measures inserts, the build, top-5 latency and recall@5 through
the index against exact search, and a folder-filtered top-5 with pgvector's
iterative index scans off and on. It prints tables and writes JSON
(default bench/out/scale.json; plot it with bench/plot_scale.py).

The 1M size takes about 8 minutes on 2 cores (longer on a busy machine) and
about 4 GB of disk in the temp dir.
Do not run two at once: they compete for the same cores and the timings mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/scale.py`: make `bench` and `facerec` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import psycopg2.extensions
from psycopg2 import sql

from bench import loading
from bench.search import INDEX, ITERATIVE_MODES, Run, Search, explain, recall, run_queries, uses_index
from bench.synthetic import FaceSynthesizer, SyntheticFaces, distance_stats, real_embeddings
from facerec.config import Settings, load_settings
from facerec.db import Database
from facerec.db.server import EmbeddedServer

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_FACES = Path(os.environ.get("FACEREC_TEST_FACES", PROJECT.parent / "shared" / "faces" / "dev"))
DEFAULT_OUT = PROJECT / "bench" / "out" / "scale.json"
TARGET_P50_MS = 10.0
TARGET_RECALL = 0.99
TARGET_INSERT_PER_S = 20_000
SETTINGS_SHOWN = (
    "shared_buffers",
    "maintenance_work_mem",
    "work_mem",
    "max_parallel_maintenance_workers",
    "max_parallel_workers_per_gather",
    "max_worker_processes",
    "effective_cache_size",
    "max_wal_size",
    "synchronous_commit",
    "hnsw.ef_search",
    "hnsw.iterative_scan",
    "hnsw.max_scan_tuples",
)


@dataclass(frozen=True)
class Config:
    """What to run. The defaults are the ones the published results used."""

    ef_search: tuple[int, ...] = (40, 64, 100, 200, 300, 400)
    queries: int = 200  # top-5 queries per ef_search value (half known identities, half unknown)
    filtered_queries: int = 100
    warmup: int = 200  # untimed index queries before the timed ones, so the index is in memory as in a running app
    one_by_one: int = 2_000  # rows inserted one INSERT at a time (and with the index in place)
    sample: int = 50_000  # rows for COPY text and execute_values
    per_identity: int = 10
    maintenance_work_mem: str | None = None  # None: the server's setting
    build_workers: int | None = None  # max_parallel_maintenance_workers; None: the server's setting
    seed: int = 0
    hnsw_with: str | None = None  # e.g. "ef_construction = 128": an experiment, not the product's index


@dataclass
class SizeResult:
    """Everything measured at one size (the JSON is `asdict` of this)."""

    size: int
    identities: int
    pictures: int
    synthetic: dict[str, float]
    insert: list[dict[str, Any]] = field(default_factory=list)
    insert_with_index: dict[str, Any] = field(default_factory=dict)
    vacuum_analyze_s: float = 0.0
    build: dict[str, Any] = field(default_factory=dict)
    sizes_bytes: dict[str, int] = field(default_factory=dict)
    exact: dict[str, float] = field(default_factory=dict)
    index: list[dict[str, Any]] = field(default_factory=list)
    headline: dict[str, Any] = field(default_factory=dict)
    filtered: list[dict[str, Any]] = field(default_factory=list)
    plans: dict[str, str] = field(default_factory=dict)


# -- database ----------------------------------------------------------------


def bench_settings(data_dir: Path) -> Settings:
    """Settings for a benchmark database in `data_dir` (never the user's: no .env, no DATABASE_URL)."""
    return load_settings({"FACEREC_DATA_DIR": str(data_dir)}, dotenv_path=Path(os.devnull))


def alter_system(data_dir: Path, settings: list[str]) -> None:
    """ALTER SYSTEM SET each NAME=VALUE in the benchmark database and stop it, so the next start applies them.

    For experiments with server-wide settings (e.g. shared_buffers=256MB); they
    stay in that data directory's postgresql.auto.conf.
    """
    with Database.open(bench_settings(data_dir)) as db:
        db.conn.conn.commit()
        db.conn.conn.autocommit = True
        with db.conn.conn.cursor() as cur:
            for item in settings:
                name, _, value = item.partition("=")
                cur.execute(sql.SQL("ALTER SYSTEM SET {} = %s").format(sql.Identifier(name.strip())), (value.strip(),))
    EmbeddedServer(data_dir).stop()


def reset(conn: psycopg2.extensions.connection) -> str:
    """Empty people, pictures and faces, drop the HNSW index; returns its definition, to build it again."""
    with conn.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", (INDEX,))
        row = cur.fetchone()
        if row is None:
            raise RuntimeError(f"index {INDEX} is missing: use a fresh --data-dir")
        cur.execute("TRUNCATE people, pictures, faces RESTART IDENTITY CASCADE")
        cur.execute(f"DROP INDEX {INDEX}")
    conn.commit()
    return str(row[0])


def with_options(indexdef: str, options: str | None) -> str:
    """`indexdef` with its storage parameters replaced by `options` (None: as the schema defines it)."""
    plain = re.sub(r" WITH \([^)]*\)", "", indexdef)
    if not options:
        return plain
    return plain.replace(" WHERE ", f" WITH ({options}) WHERE ", 1)


def vacuum_analyze(conn: psycopg2.extensions.connection) -> float:
    """VACUUM (ANALYZE) faces and pictures, as autovacuum would after a bulk load; returns seconds."""
    conn.commit()
    conn.autocommit = True
    try:
        start = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) faces")
            cur.execute("VACUUM (ANALYZE) pictures")
        return time.perf_counter() - start
    finally:
        conn.autocommit = False


def build_index(
    conn: psycopg2.extensions.connection, indexdef: str, maintenance_work_mem: str | None, workers: int | None
) -> dict[str, Any]:
    """CREATE INDEX `indexdef`; returns seconds, bytes, the memory and workers it had, and the server's notices.

    pgvector builds fastest when the whole graph fits in maintenance_work_mem
    (about 1.2 kB per 128-d face); when it does not, it says "hnsw graph no
    longer fits into maintenance_work_mem" and the rest of the build is much slower.
    """
    with conn.cursor() as cur:
        if maintenance_work_mem:
            cur.execute("SELECT set_config('maintenance_work_mem', %s, false)", (maintenance_work_mem,))
        if workers is not None:
            cur.execute("SELECT set_config('max_parallel_maintenance_workers', %s, false)", (str(workers),))
        cur.execute("SHOW maintenance_work_mem")
        memory = cur.fetchone()[0]
        cur.execute("SHOW max_parallel_maintenance_workers")
        max_workers = int(cur.fetchone()[0])
        cur.execute("SET client_min_messages = debug1")  # PostgreSQL and pgvector report workers at DEBUG1
        del conn.notices[:]
        start = time.perf_counter()
        cur.execute(indexdef)
        conn.commit()
        seconds = time.perf_counter() - start
        notices = [n.strip() for n in conn.notices]
        cur.execute("RESET client_min_messages")
        cur.execute("RESET maintenance_work_mem")
        cur.execute("RESET max_parallel_maintenance_workers")
        cur.execute("SELECT pg_relation_size(%s)", (INDEX,))
        size = int(cur.fetchone()[0])
    conn.commit()
    launched = [int(m.group(1)) for n in notices if (m := re.search(r"using (\d+) parallel workers", n))]
    return {
        "seconds": seconds,
        "index_bytes": size,
        "maintenance_work_mem": memory,
        "max_parallel_maintenance_workers": max_workers,
        "parallel_workers_launched": launched[0] if launched else 0,
        "graph_fit_in_memory": not any("no longer fits" in n for n in notices),
        "notices": notices,
        "index_definition": indexdef,
    }


def relation_sizes(conn: psycopg2.extensions.connection) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_relation_size('faces'), pg_total_relation_size('faces'), pg_relation_size(%s),"
            " pg_total_relation_size('pictures'), pg_database_size(current_database())",
            (INDEX,),
        )
        row = cur.fetchone()
    conn.commit()
    return dict(zip(("faces_heap", "faces_total", "hnsw_index", "pictures_total", "database"), map(int, row)))


def server_info(conn: psycopg2.extensions.connection) -> dict[str, str]:
    """PostgreSQL and pgvector versions and the settings that matter here."""
    out: dict[str, str] = {}
    with conn.cursor() as cur:
        cur.execute("SHOW server_version")
        out["postgresql"] = cur.fetchone()[0]
        cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        out["pgvector"] = cur.fetchone()[0]
        cur.execute("SELECT '[1]'::vector")  # loads pgvector, which defines the hnsw.* settings
        for name in SETTINGS_SHOWN:
            cur.execute("SELECT current_setting(%s)", (name,))
            out[name] = cur.fetchone()[0]
        cur.execute("SELECT pg_get_indexdef(%s::regclass)", (INDEX,))
        out["index"] = cur.fetchone()[0]
    conn.commit()
    return out


def machine_info() -> dict[str, Any]:
    """CPU model, cores and memory of this machine (Linux)."""
    cpu = ""
    try:
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
        meminfo = Path("/proc/meminfo").read_text()
        mem_kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    except (OSError, AttributeError):
        mem_kib = 0
    return {
        "cpu": cpu or platform.processor(),
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


# -- one size ----------------------------------------------------------------


def _insert_row(method: str, rows: int, seconds: float) -> dict[str, Any]:
    return {"method": method, "rows": rows, "seconds": seconds, "faces_per_s": rows / seconds if seconds else 0.0}


def load_faces(
    conn: psycopg2.extensions.connection, faces: SyntheticFaces, cfg: Config, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """Insert all faces, split between the four ways (the bulk by binary COPY); returns each way's throughput."""
    n = len(faces.vectors)
    rows = loading.face_rows(faces.vectors, rng)
    one = min(cfg.one_by_one, n // 10)
    sample = min(cfg.sample, n // 5)
    bulk = n - one - 2 * sample
    parts = [
        ("COPY binary", loading.copy_binary, rows[:bulk]),
        ("COPY text", loading.copy_text, rows[bulk : bulk + sample]),
        ("execute_values", loading.insert_batches, rows[bulk + sample : bulk + 2 * sample]),
        ("one-by-one INSERT", loading.insert_one_by_one, rows[bulk + 2 * sample :]),
    ]
    out = []
    for method, insert, part in parts:
        out.append(_insert_row(method, len(part), insert(conn, part)))
    slowest = out[-1]["faces_per_s"]
    for row in out:
        row["vs_one_by_one"] = row["faces_per_s"] / slowest if slowest else 0.0
    return out


def _latency(run_ms: np.ndarray) -> dict[str, float]:
    return {
        "p50_ms": float(np.percentile(run_ms, 50)),
        "p95_ms": float(np.percentile(run_ms, 95)),
        "mean_ms": float(np.mean(run_ms)),
    }


def _short_plan(plan: str) -> str:
    """The plan without the 128 numbers of the query vector."""
    return re.sub(r"'\[[^\]]*\]'", "'[...]'", plan)


def _recall_where(run: Run, exact: Run, mask: np.ndarray) -> float:
    return recall([r for r, m in zip(run.ids, mask) if m], [t for t, m in zip(exact.ids, mask) if m])


def measure_search(
    conn: psycopg2.extensions.connection,
    queries: np.ndarray,
    known: np.ndarray,
    warmup: np.ndarray,
    cfg: Config,
    result: SizeResult,
) -> None:
    """Exact top-5, then top-5 through the index at each ef_search: latency and recall@5.

    The `warmup` queries run (untimed) between the two, so that the index is in
    memory as in a running ctx. The index is forced (`Search.force_index`): at
    1,000 faces the planner would rather read the whole table.
    """
    exact = run_queries(conn, queries, Search(exact=True))
    run_queries(conn, warmup, Search(ef_search=max(cfg.ef_search), force_index=True))
    result.exact = {**_latency(exact.latency_ms), "rows_mean": float(exact.rows.mean())}
    result.plans["exact"] = _short_plan(explain(conn, queries[0], Search(exact=True)))
    result.plans["index"] = _short_plan(explain(conn, queries[0], Search(ef_search=cfg.ef_search[0], force_index=True)))
    result.plans["planner"] = _short_plan(explain(conn, queries[0], Search(ef_search=cfg.ef_search[0])))
    for ef in cfg.ef_search:
        run = run_queries(conn, queries, Search(ef_search=ef, force_index=True))
        result.index.append(
            {
                "ef_search": ef,
                **_latency(run.latency_ms),
                "planner_uses_index": uses_index(explain(conn, queries[0], Search(ef_search=ef))),
                "recall": recall(run.ids, exact.ids),
                "recall_known": _recall_where(run, exact, known),
                "recall_unknown": _recall_where(run, exact, ~known),
                "rows_mean": float(run.rows.mean()),
            }
        )
    good = [r for r in result.index if r["recall"] >= TARGET_RECALL]
    best = good[0] if good else max(result.index, key=lambda r: r["recall"])
    result.headline = {
        "ef_search": best["ef_search"],
        "p50_ms": best["p50_ms"],
        "p95_ms": best["p95_ms"],
        "recall": best["recall"],
        "exact_p50_ms": result.exact["p50_ms"],
        "exact_p95_ms": result.exact["p95_ms"],
        "speedup_p50": result.exact["p50_ms"] / best["p50_ms"],
    }


def measure_filtered(
    conn: psycopg2.extensions.connection,
    queries: np.ndarray,
    ef_search: int,
    rng: np.random.Generator,
    result: SizeResult,
) -> None:
    """Top-5 among faces in one random folder (1% of pictures) or subfolder (0.1%), iterative scan off and on.

    First as the planner chooses (it may skip the HNSW index and sort the
    folder's faces itself when the folder is small), then with the plan forced
    through the index (`force_index`), which is where iterative scans matter.
    """
    n_faces = result.size
    folders = rng.integers(0, loading.FOLDERS, len(queries))
    subfolders = rng.integers(0, loading.SUBFOLDERS, len(queries))
    filters = {
        "folder (1%)": [loading.folder_prefix(f) for f in folders],
        "subfolder (0.1%)": [loading.folder_prefix(f, s) for f, s in zip(folders, subfolders)],
    }
    for name, prefixes in filters.items():
        truth = run_queries(conn, queries, Search(exact=True), prefixes)
        with conn.cursor() as cur:  # mean number of faces under the prefixes used
            cur.execute(
                "SELECT avg((SELECT count(*) FROM faces f JOIN pictures p ON p.id = f.picture_id"
                "            WHERE p.picture LIKE x || '%%')) FROM unnest(%s::text[]) AS x",
                (list(prefixes),),
            )
            matching = float(cur.fetchone()[0])
        conn.commit()
        searches = [("exact", Search(exact=True))]
        searches += [("planner", Search(ef_search=ef_search, iterative=m)) for m in ITERATIVE_MODES]
        searches += [
            ("HNSW forced", Search(ef_search=ef_search, iterative=m, force_index=True)) for m in ITERATIVE_MODES
        ]
        for label, search in searches:
            run = truth if search.exact else run_queries(conn, queries, search, prefixes)
            plans = [explain(conn, q, search, prefix) for q, prefix in zip(queries, prefixes)]
            result.filtered.append(
                {
                    "filter": name,
                    "faces_matching": matching,
                    "selectivity": matching / n_faces,
                    "search": label,
                    "iterative_scan": "-" if search.exact else search.iterative,
                    "ef_search": None if search.exact else ef_search,
                    "hnsw_share": float(np.mean([uses_index(p) for p in plans])),
                    **_latency(run.latency_ms),
                    "rows_mean": float(run.rows.mean()),
                    "rows_min": int(run.rows.min()),
                    "complete_share": float((run.rows == truth.rows).mean()),
                    "recall": recall(run.ids, truth.ids),
                }
            )
            result.plans[f"{name} / {label} / iterative {search.iterative}"] = _short_plan(plans[0])


def run_size(
    conn: psycopg2.extensions.connection, n: int, real: np.ndarray, cfg: Config, log: Any = print
) -> SizeResult:
    """Fill the database with `n` synthetic faces and measure everything at that size."""
    synth = FaceSynthesizer(real, seed=cfg.seed + n)
    rng = np.random.default_rng(cfg.seed + n + 1)
    faces = synth.faces(n, cfg.per_identity)
    queries, known = synth.queries(faces, cfg.queries)
    warmup, _ = synth.queries(faces, cfg.warmup)
    n_pictures = -(-n // loading.FACES_PER_PICTURE)
    result = SizeResult(n, len(faces.centres), n_pictures, distance_stats(faces))

    indexdef = with_options(reset(conn), cfg.hnsw_with)
    log(f"[{n:,}] loading {n_pictures:,} pictures and {n:,} faces")
    loading.load_pictures(conn, n_pictures, rng)
    result.insert = load_faces(conn, faces, cfg, rng)
    result.vacuum_analyze_s = vacuum_analyze(conn)
    log(f"[{n:,}] building {INDEX}")
    result.build = build_index(conn, indexdef, cfg.maintenance_work_mem, cfg.build_workers)
    result.sizes_bytes = relation_sizes(conn)

    log(f"[{n:,}] searching: {len(queries)} exact, {cfg.warmup} warm-up, {len(queries)} per ef_search")
    measure_search(conn, queries, known, warmup, cfg, result)
    log(f"[{n:,}] filtered searches")
    measure_filtered(conn, queries[: cfg.filtered_queries], result.headline["ef_search"], rng, result)

    extra = loading.face_rows(synth.samples(synth.identities(cfg.one_by_one)), rng)
    seconds = loading.copy_binary(conn, extra)
    result.insert_with_index = _insert_row("COPY binary, HNSW index in place", len(extra), seconds)
    return result


# -- output ------------------------------------------------------------------


def format_size(r: SizeResult) -> str:
    """The tables printed for one size."""
    mib = 2**20
    lines = [f"== {r.size:,} faces ({r.identities:,} identities, {r.pictures:,} pictures) =="]
    lines.append(f"{'insert':<36}{'rows':>9}{'faces/s':>11}{'x one-by-one':>14}")
    for row in [*r.insert, r.insert_with_index]:
        ratio = f"{row['vs_one_by_one']:.1f}" if "vs_one_by_one" in row else ""
        lines.append(f"{row['method']:<36}{row['rows']:>9,}{row['faces_per_s']:>11,.0f}{ratio:>14}")
    b = r.build
    lines.append(
        f"HNSW build {b['seconds']:.1f} s, index {r.sizes_bytes['hnsw_index'] / mib:.0f} MiB,"
        f" maintenance_work_mem {b['maintenance_work_mem']}, parallel workers {b['parallel_workers_launched']}"
        f" (max {b['max_parallel_maintenance_workers']}), graph fit in memory: {b['graph_fit_in_memory']};"
        f" table {r.sizes_bytes['faces_heap'] / mib:.0f} MiB"
    )
    lines.append(f"{'top-5':<20}{'p50 ms':>9}{'p95 ms':>9}{'recall@5':>10}{'known':>8}{'unknown':>9}")
    lines.append(f"{'exact':<20}{r.exact['p50_ms']:>9.2f}{r.exact['p95_ms']:>9.2f}{1:>10.3f}")
    for row in r.index:
        lines.append(
            f"{'ef_search ' + str(row['ef_search']):<20}{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}"
            f"{row['recall']:>10.3f}{row['recall_known']:>8.3f}{row['recall_unknown']:>9.3f}"
        )
    h = r.headline
    lines.append(
        f"headline: ef_search {h['ef_search']}: p50 {h['p50_ms']:.2f} ms, p95 {h['p95_ms']:.2f} ms,"
        f" recall@5 {h['recall']:.3f}; exact p50 {h['exact_p50_ms']:.1f} ms ({h['speedup_p50']:.0f}x slower)"
    )
    lines.append(
        f"filtered top-5 at ef_search {h['ef_search']}: HNSW = share of queries whose plan scans the index,"
        " rows = rows returned (mean, min), recall against the exact filtered top-5"
    )
    lines.append(
        f"{'filter':<18}{'faces':>8}{'search':>13}{'iterative':>15}{'HNSW':>6}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'rows':>6}{'min':>5}{'recall':>8}"
    )
    for row in r.filtered:
        lines.append(
            f"{row['filter']:<18}{row['faces_matching']:>8,.0f}{row['search']:>13}{row['iterative_scan']:>15}"
            f"{row['hnsw_share']:>6.0%}{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}"
            f"{row['rows_mean']:>6.2f}{row['rows_min']:>5}{row['recall']:>8.3f}"
        )
    return "\n".join(lines)


def targets(results: list[SizeResult]) -> dict[str, Any]:
    """The issue's targets, checked on the largest size run."""
    r = max(results, key=lambda x: x.size)
    copy = next(row for row in r.insert if row["method"] == "COPY binary")
    return {
        "size": r.size,
        "p50_under_10ms_at_recall_0.99": r.headline["recall"] >= TARGET_RECALL and r.headline["p50_ms"] < TARGET_P50_MS,
        "insert_at_least_20000_per_s": copy["faces_per_s"] >= TARGET_INSERT_PER_S,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="10000,100000", help="comma-separated face counts (default 10000,100000)")
    p.add_argument("--ef-search", default=",".join(map(str, Config.ef_search)), help="hnsw.ef_search values to try")
    p.add_argument("--queries", type=int, default=Config.queries, help="top-5 queries per ef_search and exact")
    p.add_argument("--filtered-queries", type=int, default=Config.filtered_queries, help="per filtered variant")
    p.add_argument("--warmup", type=int, default=Config.warmup, help="untimed index queries before the timed ones")
    p.add_argument("--one-by-one", type=int, default=Config.one_by_one, help="rows inserted one INSERT at a time")
    p.add_argument("--maintenance-work-mem", help="for the index build, e.g. 2GB (default: the server's setting)")
    p.add_argument("--build-workers", type=int, help="max_parallel_maintenance_workers for the build")
    p.add_argument(
        "--server-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="experiment: ALTER SYSTEM SET NAME = VALUE before starting, e.g. shared_buffers=256MB (repeatable)",
    )
    p.add_argument("--hnsw-with", help="experiment: build the index WITH (these options), e.g. 'ef_construction = 128'")
    p.add_argument("--data-dir", type=Path, help="benchmark database directory, kept (default: a temp dir, removed)")
    p.add_argument("--faces", type=Path, default=DEFAULT_FACES, help=f"dev photos (default {DEFAULT_FACES})")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default {DEFAULT_OUT})")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    cfg = Config(
        ef_search=tuple(int(e) for e in args.ef_search.split(",")),
        queries=args.queries,
        filtered_queries=args.filtered_queries,
        warmup=args.warmup,
        one_by_one=args.one_by_one,
        maintenance_work_mem=args.maintenance_work_mem,
        build_workers=args.build_workers,
        seed=args.seed,
        hnsw_with=args.hnsw_with,
    )
    print(f"embedding the dev photos in {args.faces} ...", flush=True)
    real = real_embeddings(args.faces)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="facerec-bench-"))
    report: dict[str, Any] = {
        "machine": machine_info(),
        "config": asdict(cfg),
        "real_faces": len(real),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }
    results: list[SizeResult] = []
    if args.server_setting:
        alter_system(data_dir, args.server_setting)
        report["server_overrides"] = args.server_setting
    db = Database.open(bench_settings(data_dir))
    try:
        report["server"] = server_info(db.conn.conn)
        for n in sizes:
            start = time.perf_counter()
            results.append(run_size(db.conn.conn, n, real, cfg, log=lambda m: print(m, flush=True)))
            print(format_size(results[-1]), f"\n({time.perf_counter() - start:.0f} s)\n", flush=True)
            report["sizes"] = [asdict(r) for r in results]
            report["targets"] = targets(results)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(report, indent=1) + "\n")
    finally:
        db.close()
        EmbeddedServer(data_dir).stop()
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    print("targets:", json.dumps(report.get("targets", {})))
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
