"""Index throughput: facerec `index` vs the `face_recognition` package's CLI.

Builds a library of at least 500 distinct photos from the dev set (each
dev photo once as is, then mirrored / re-encoded copies, so every file has
its own bytes and nothing is skipped as a duplicate), then in one run:

- `python face_recognition.py index LIB --workers N` for N = 1 and 2, each
  into a fresh database (wall time of the whole command: start, models,
  database, writes), and a second run over the unchanged folder; once with
  the networks in OpenVINO (the default) and once in cv2.dnn
  (`FACEREC_RUNTIME=opencv`), to show what the runtime is worth;
- the peer, `face_recognition KNOWN LIB --cpus N` (ageitgey/face_recognition
  with dlib-bin, in its own venv under bench/out/, run from bench/out so our
  `face_recognition.py` does not shadow the package).

    python bench/index_bench.py [--photos 500] [--peer-photos 500] [--skip-peer] [--runtimes openvino,opencv]

Prints a table and writes bench/out/index.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PEER_VENV = OUT / "peer-venv"


def build_library(faces: Path, target: int, folder: Path) -> list[Path]:
    """`target`+ distinct photo files in one flat folder (reused if already built)."""
    sources = sorted(p for p in faces.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    if not sources:
        sys.exit(f"no photos under {faces}: pass --faces (or set FACEREC_TEST_FACES)")
    existing = sorted(folder.glob("*")) if folder.exists() else []
    if len(existing) >= target:
        return existing
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    copy = 0
    made: list[Path] = []
    while len(made) < target:
        for src in sources:
            dest = folder / f"c{copy:02d}_{src.parent.name}_{src.name}"
            if copy == 0:
                shutil.copy(src, dest)
            else:
                image = cv2.imread(str(src), cv2.IMREAD_COLOR)
                if copy % 2:
                    image = cv2.flip(image, 1)
                dest = dest.with_suffix(".jpg")
                cv2.imwrite(str(dest), image, [cv2.IMWRITE_JPEG_QUALITY, 85 + copy])
            made.append(dest)
        copy += 1
    return made


def run_ours(library: Path, workers: int, runtime: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="facerec-indexbench-") as data:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env |= {"FACEREC_DATA_DIR": data, "FACEREC_RUNTIME": runtime}
        cmd = [sys.executable, str(ROOT / "face_recognition.py"), "--json", "index", str(library)]
        cmd += ["--workers", str(workers)]
        t0 = time.perf_counter()
        first = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=data)
        seconds = time.perf_counter() - t0
        t1 = time.perf_counter()
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=data)
        again = time.perf_counter() - t1
    summary = json.loads(first.stdout)
    rerun = json.loads(second.stdout)
    return {
        "tool": "facerec" if runtime == "openvino" else f"facerec ({runtime})",
        "workers": workers,
        "photos": summary["indexed"],
        "faces": summary["faces"],
        "failed": len(summary["failed"]),
        "seconds": round(seconds, 2),
        "photos_per_s": round(summary["indexed"] / seconds, 2),
        "faces_per_s": round(summary["faces"] / seconds, 2),
        "second_run_seconds": round(again, 2),
        "second_run_indexed": rerun["indexed"],
    }


def ensure_peer() -> Path:
    """The peer's CLI in its own venv (dlib-bin wheel, no compiler needed)."""
    exe = PEER_VENV / "bin" / "face_recognition"
    if exe.exists():
        return exe
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    pip = [str(PEER_VENV / "bin" / "pip"), "install", "-q"]
    subprocess.run(pip + ["dlib-bin", "face_recognition_models", "click", "pillow", "numpy", "setuptools"], check=True)
    subprocess.run(pip + ["--no-deps", "face_recognition"], check=True)
    return exe


def run_peer(exe: Path, known: Path, photos: list[Path], workers: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="peer-unknown-", dir=OUT) as tmp:
        unknown = Path(tmp)
        for p in photos:
            os.symlink(p, unknown / p.name)
        t0 = time.perf_counter()
        result = subprocess.run(
            [str(exe), "--cpus", str(workers), str(known), str(unknown)],
            capture_output=True,
            text=True,
            check=True,
            cwd=OUT,
        )
        seconds = time.perf_counter() - t0
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return {
        "tool": "face_recognition CLI",
        "workers": workers,
        "photos": len(photos),
        "result_lines": len(lines),
        "seconds": round(seconds, 2),
        "photos_per_s": round(len(photos) / seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", default=os.environ.get("FACEREC_TEST_FACES", str(ROOT.parent / "shared/faces/dev")))
    parser.add_argument("--photos", type=int, default=500)
    parser.add_argument("--peer-photos", type=int, default=0, help="photos for the peer (default: all)")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--runtimes", default="openvino,opencv", help="FACEREC_RUNTIME values to run")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    photos = build_library(Path(args.faces), args.photos, OUT / "library")
    library = photos[0].parent
    workers = [int(w) for w in args.workers.split(",")]
    rows = [run_ours(library, w, rt) for rt in args.runtimes.split(",") for w in workers]
    if not args.skip_peer:
        exe = ensure_peer()
        known = OUT / "known"
        known.mkdir(exist_ok=True)
        shutil.copy(Path(args.faces) / "people" / "barack_obama" / "1.jpg", known / "obama.jpg")
        subset = photos[: args.peer_photos] if args.peer_photos else photos
        rows += [run_peer(exe, known, subset, w) for w in workers]
    print(f"{os.cpu_count()} cores; {len(photos)} photos ({sum(p.stat().st_size for p in photos) / 1e6:.0f} MB)")
    print(f"{'tool':22} {'workers':>7} {'photos':>6} {'seconds':>8} {'photos/s':>9} {'faces/s':>8}")
    for r in rows:
        print(
            f"{r['tool']:22} {r['workers']:>7} {r['photos']:>6} {r['seconds']:>8} {r['photos_per_s']:>9} "
            f"{r.get('faces_per_s', ''):>8}"
        )
    for w in workers:
        ours = next(r for r in rows if str(r["tool"]).startswith("facerec") and r["workers"] == w)
        print(f"{ours['tool']} second run over the unchanged folder ({w} workers): {ours['second_run_seconds']} s")
        peer = [r for r in rows if r["tool"] == "face_recognition CLI" and r["workers"] == w]
        if peer:
            ratio = ours["photos_per_s"] / peer[0]["photos_per_s"]  # type: ignore[operator]
            print(f"{ours['tool']} / face_recognition at {w} worker(s): {ratio:.1f}x photos/s")
    (OUT / "index.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
