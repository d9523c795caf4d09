"""Plot the scale benchmark's JSON: latency against recall@5 for each ef_search, at each size.

pip install matplotlib   # once, into your venv: facerec itself does not need it
python bench/plot_scale.py bench/out/scale.json docs/benchmarks-scale.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def plot(report: dict[str, Any], out: Path) -> None:
    """Left: p50 latency against recall@5, one line per size, one point per ef_search.
    Right: top-5 p50 through the index (headline ef_search) and by exact search, against size."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("matplotlib is not installed: pip install matplotlib (only the plot needs it)") from None

    sizes = sorted(report["sizes"], key=lambda s: s["size"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    for s in sizes:
        rows = s["index"]
        recall = [r["recall"] for r in rows]
        p50 = [r["p50_ms"] for r in rows]
        (line,) = left.plot(recall, p50, marker="o", label=f"{s['size']:,} faces")
        for r in rows:
            left.annotate(
                str(r["ef_search"]),
                (r["recall"], r["p50_ms"]),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=7,
                color=line.get_color(),
            )
    left.axvline(0.99, color="grey", linestyle=":", linewidth=1)
    left.axhline(10, color="grey", linestyle=":", linewidth=1)
    left.set_yscale("log")
    left.set_xlabel("recall@5 against exact search")
    left.set_ylabel("top-5 latency p50 (ms, log)")
    left.set_title("HNSW: latency vs recall (labels: hnsw.ef_search)")
    left.legend()
    left.grid(True, which="both", alpha=0.3)

    n = [s["size"] for s in sizes]
    right.plot(n, [s["headline"]["p50_ms"] for s in sizes], marker="o", label="HNSW index (headline ef_search)")
    right.plot(n, [s["exact"]["p50_ms"] for s in sizes], marker="s", label="exact search")
    right.axhline(10, color="grey", linestyle=":", linewidth=1)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("faces in the table")
    right.set_ylabel("top-5 latency p50 (ms, log)")
    right.set_title("Top-5 latency against size")
    right.legend()
    right.grid(True, which="both", alpha=0.3)

    machine = report.get("machine", {})
    server = report.get("server", {})
    fig.suptitle(
        f"facerec scale benchmark: {machine.get('nproc', '?')} cores ({machine.get('cpu', '?')}),"
        f" PostgreSQL {server.get('postgresql', '?')}, pgvector {server.get('pgvector', '?')}",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Plot bench/scale.py results.")
    p.add_argument("results", type=Path, nargs="?", default=Path("bench/out/scale.json"))
    p.add_argument("out", type=Path, nargs="?", default=Path("docs/benchmarks-scale.png"))
    args = p.parse_args(argv)
    plot(json.loads(args.results.read_text()), args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
