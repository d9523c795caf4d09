"""Live-loop benchmark: FPS and per-stage milliseconds, tracked vs naive.

Plays a 640x480 video through the same code as `face_recognition.py live`
(headless, overlays drawn but not shown) twice in one run: the tracked loop
(faces embedded and searched when they appear, refreshed once a second) and
the naive loop (detect + embed + search every face of every frame). The
video has three 4-second scenes with 1, 2 and 3 registered people; each
scene change is a "newly appearing face", whose time to a name is reported.

    python bench/live_bench.py [--faces ../shared/faces/dev] [--seconds-per-scene 4]

Prints a table and writes bench/out/live.json. Needs the dev photos.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facerec.config import load_settings  # noqa: E402
from facerec.usecases.context import Context  # noqa: E402
from facerec.usecases.live.live import STAGES, LiveEvent, LiveOptions, LiveReport, run_live  # noqa: E402
from facerec.usecases.people.register import register_photos  # noqa: E402
from facerec.vision.images import load_image  # noqa: E402

SIZE = (640, 480)
FPS = 30
# (person folder, photo shown in the video, photo used to register)
SCENES = [
    [("barack_obama", 2, 1)],
    [("joe_biden", 1, 2), ("kit_harington", 3, 1)],
    [("deepface_angelina", 2, 1), ("deepface_jennifer", 2, 1), ("deepface_scarlett", 2, 1)],
]


def photo(faces: Path, person: str, n: int) -> Path:
    (match,) = [p for p in (faces / "people" / person).iterdir() if p.stem == str(n)]
    return match


def scene_frames(faces: Path, scene: list[tuple[str, int, int]], count: int) -> list[np.ndarray]:
    """`count` frames of the people of one scene side by side, drifting slowly."""
    w, h = SIZE
    images = [load_image(photo(faces, person, shown)).pixels for person, shown, _ in scene]
    frames = []
    slot = w // len(images)
    for i in range(count):
        frame = np.full((h, w, 3), 90, np.uint8)
        drift = int(12 * np.sin(i / 15))
        for k, img in enumerate(images):
            target_h = int(h * (0.8 if len(images) == 1 else 0.55))
            s = min(target_h / img.shape[0], (slot - 10) / img.shape[1])
            small = cv2.resize(img, (int(img.shape[1] * s), int(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
            sh, sw = small.shape[:2]
            x0 = k * slot + (slot - sw) // 2 + drift
            y0 = (h - sh) // 2
            x0 = max(0, min(w - sw, x0))
            frame[y0 : y0 + sh, x0 : x0 + sw] = small
        frames.append(frame)
    return frames


def make_video(faces: Path, path: Path, seconds: float) -> int:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE)
    total = 0
    for scene in SCENES:
        for frame in scene_frames(faces, scene, int(seconds * FPS)):
            writer.write(frame)
            total += 1
    writer.release()
    return total


def run(ctx: Context, video: Path, naive: bool, realtime: bool = False) -> tuple[LiveReport, list[LiveEvent]]:
    events: list[LiveEvent] = []
    options = LiveOptions(source=str(video), naive=naive, draw=True, realtime=realtime, on_event=events.append)
    return run_live(ctx, options), events


def summarize(name: str, report: LiveReport, events: list[LiveEvent]) -> dict[str, object]:
    first: dict[int, LiveEvent] = {}
    for e in events:
        first.setdefault(e.track, e)
    latencies = [e.latency_ms for e in first.values()]
    named = sorted({e.name for e in first.values() if e.name})
    return {
        "loop": name,
        "frames": report.frames,
        "seconds": round(report.seconds, 3),
        "fps": round(report.fps, 1),
        "stage_ms": {k: round(v, 2) for k, v in report.mean_ms().items()},
        "tracks": len(first),
        "named": named,
        "new_face_latency_ms": {"max": round(max(latencies), 1), "mean": round(float(np.mean(latencies)), 1)}
        if latencies
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", default=os.environ.get("FACEREC_TEST_FACES", str(ROOT.parent / "shared/faces/dev")))
    parser.add_argument("--seconds-per-scene", type=float, default=4.0)
    args = parser.parse_args()
    faces = Path(args.faces)
    with tempfile.TemporaryDirectory(prefix="facerec-livebench-") as tmp:
        settings = load_settings({"FACEREC_DATA_DIR": str(Path(tmp) / "data")}, dotenv_path=Path(tmp) / "none")
        video = Path(tmp) / "scenes.avi"
        total = make_video(faces, video, args.seconds_per_scene)
        with Context(settings) as ctx:
            for scene in SCENES:
                for person, _, registered in scene:
                    register_photos(ctx, person, [photo(faces, person, registered)])
            results = [summarize(n, *run(ctx, video, naive)) for n, naive in (("tracked", False), ("naive", True))]
            # Latency as with a camera: the file plays at 30 FPS, late frames are dropped.
            camera = summarize("tracked, real-time 30 FPS source", *run(ctx, video, False, realtime=True))
    tracked, naive = results
    ratio = tracked["fps"] / naive["fps"]  # type: ignore[operator]
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores; video {total} frames 640x480")
    print(f"{'loop':8} {'FPS':>6} " + " ".join(f"{s:>8}" for s in STAGES) + "  (ms per frame)  new-face latency")
    for r in results:
        stages = r["stage_ms"]
        lat = r["new_face_latency_ms"]
        print(
            f"{r['loop']:8} {r['fps']:6.1f} "
            + " ".join(f"{stages[s]:8.2f}" for s in STAGES)  # type: ignore[index]
            + f"  max {lat['max']} ms, mean {lat['mean']} ms; named {r['named']}"  # type: ignore[index]
        )
    print(f"tracked / naive FPS: {ratio:.1f}x")
    lat = camera["new_face_latency_ms"]
    print(
        f"played like a 30 FPS camera: {camera['fps']} FPS processed, new face named after "
        f"max {lat['max']} ms, mean {lat['mean']} ms (frame read -> name known)"  # type: ignore[index]
    )
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    report = {"frames": total, "results": results, "ratio": ratio, "camera": camera}
    (out / "live.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
