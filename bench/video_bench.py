"""Video benchmark: faces in clips, how fast, and whether everyone shown is found.

Builds its clips from the dev photos at run time (nothing is committed): a
1-minute 1080p "party" (six people entering and leaving, one coming back, one
replaced by another in the same spot, pans and zooms, a cut to another
scene), in H.264 and in 10-bit HEVC as iPhones record it, plus a short
720p clip; also analyses any clip given with `--clip FILE`. For each clip it
prints the seconds of video analysed per second of work, the face tracks kept,
and whether every person shown was found: a track is a dev person when its
vector is within 0.57 (SFace's threshold) of that person's photos, the photo
shown in the clip left out. Change a scenario's name when changing it: clips
are kept under their names.

    python bench/video_bench.py [--faces ../shared/faces/dev] [--clip FILE ...] [--only-clips]

Clips are encoded with the encoders in PyAV's wheel (libx264, libx265) and kept
in bench/out/video/ for the next run. Needs the dev photos. Prints tables and
writes bench/out/video.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facerec.config import DEFAULT_DETECT_SIZE  # noqa: E402
from facerec.errors import VideoError  # noqa: E402
from facerec.video.clips import ClipAnalysis, analyze_clip  # noqa: E402
from facerec.vision.geometry import normalize  # noqa: E402
from facerec.vision.images import load_image  # noqa: E402
from facerec.vision.pipeline import Pipeline  # noqa: E402

OUT = ROOT / "bench" / "out"
THRESHOLD = 0.57


@dataclass(frozen=True)
class Appearance:
    """A person on screen from `start` to `end` seconds: their photo's face cropped
    as a card, centred at (x, y) (fractions of the frame, moving linearly from the
    first to the second pair), the face `face_px` tall (growing likewise: a zoom).
    They slide in from the nearer side in the first 0.8 s and out in the last."""

    person: str
    photo: int
    start: float
    end: float
    xy: tuple[tuple[float, float], tuple[float, float]]
    face_px: tuple[int, int]
    slide: bool = True


@dataclass(frozen=True)
class Shot:
    """`start`..`end` seconds over `background` (a photo, or "synthetic"), panning
    from `pan[0]` to `pan[1]` (0..1 across the spare width)."""

    start: float
    end: float
    background: str
    pan: tuple[float, float]
    people: tuple[Appearance, ...]


@dataclass(frozen=True)
class Scenario:
    name: str
    size: tuple[int, int]
    fps: int
    shots: tuple[Shot, ...]

    @property
    def seconds(self) -> float:
        return max(s.end for s in self.shots)

    def people(self) -> dict[str, set[int]]:
        out: dict[str, set[int]] = {}
        for shot in self.shots:
            for a in shot.people:
                out.setdefault(a.person, set()).add(a.photo)
        return out


PARTY = Scenario(
    "party-60s-1080p-v2",
    (1920, 1080),
    30,
    (
        Shot(
            0,
            36,
            "negatives/cf_017_0_noface.jpg",
            (0.0, 1.0),
            (
                Appearance("barack_obama", 1, 0.0, 12.0, ((0.3, 0.45), (0.35, 0.5)), (180, 260)),
                Appearance("deepface_jennifer", 1, 8.0, 24.0, ((0.72, 0.5), (0.6, 0.45)), (200, 160)),
                Appearance("kit_harington", 1, 14.0, 34.0, ((0.25, 0.55), (0.3, 0.5)), (140, 200)),
                # Rose replaced, in the same spot and without a cut, by Scarlett at 30 s.
                Appearance("rose_leslie", 1, 20.0, 30.0, ((0.75, 0.5), (0.75, 0.5)), (170, 170), slide=False),
                Appearance("deepface_scarlett", 1, 30.0, 36.0, ((0.75, 0.5), (0.75, 0.5)), (170, 170), slide=False),
            ),
        ),
        Shot(
            36,
            60,
            "synthetic",
            (1.0, 0.2),
            (
                Appearance("deepface_mark", 1, 36.0, 48.0, ((0.5, 0.5), (0.45, 0.5)), (120, 300)),
                # Eric runs across the frame in 3 s: 145 px between two analysed frames.
                Appearance("eric_clapton", 1, 38.0, 41.0, ((0.05, 0.25), (0.95, 0.25)), (150, 150), slide=False),
                # Obama comes back (the same photo: the same person, the same day).
                Appearance("barack_obama", 1, 46.0, 60.0, ((0.25, 0.5), (0.3, 0.45)), (220, 200)),
                Appearance("john_lennon", 1, 50.0, 60.0, ((0.75, 0.5), (0.7, 0.5)), (160, 180)),
            ),
        ),
    ),
)

SHORT = Scenario(
    "two-people-12s-720p",
    (1280, 720),
    30,
    (
        Shot(
            0,
            12,
            "synthetic",
            (0.0, 0.5),
            (
                Appearance("joe_biden", 1, 0.0, 6.0, ((0.4, 0.5), (0.45, 0.5)), (140, 180)),
                Appearance("deepface_angelina", 1, 6.0, 12.0, ((0.6, 0.5), (0.55, 0.5)), (160, 140)),
            ),
        ),
    ),
)


@dataclass
class Cards:
    """Each (person, photo) as a portrait card around its face, and where the face is in it."""

    faces: Path
    pipeline: Pipeline
    cache: dict[tuple[str, int], tuple[np.ndarray, tuple[float, float, float]]] = field(default_factory=dict)

    def get(self, person: str, photo: int) -> tuple[np.ndarray, tuple[float, float, float]]:
        """(card, (face centre x, face centre y, face height) in card pixels)."""
        key = (person, photo)
        if key not in self.cache:
            path = photo_path(self.faces, person, photo)
            image = load_image(path).pixels
            face = max(self.pipeline.detect(image), key=lambda f: f.box.area)
            b = face.box
            x0, x1 = max(0, int(b.x - 0.9 * b.w)), min(image.shape[1], int(b.x + 1.9 * b.w))
            y0, y1 = max(0, int(b.y - 0.7 * b.h)), min(image.shape[0], int(b.y + 2.2 * b.h))
            card = image[y0:y1, x0:x1].copy()
            self.cache[key] = (card, (b.x + b.w / 2 - x0, b.y + b.h / 2 - y0, float(b.h)))
        return self.cache[key]


def photo_path(faces: Path, person: str, n: int) -> Path:
    (match,) = [p for p in (faces / "people" / person).iterdir() if p.stem == str(n)]
    return match


def background(faces: Path, name: str, size: tuple[int, int]) -> np.ndarray:
    """A background 1.5x the frame's width to pan over."""
    w, h = int(size[0] * 1.5), size[1]
    if name == "synthetic":
        rng = np.random.default_rng(7)
        base = cv2.resize(rng.integers(40, 220, (9, 14, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
        for _ in range(40):
            c = tuple(int(v) for v in rng.integers(0, 255, 3))
            cv2.rectangle(
                base, tuple(int(v) for v in rng.integers(0, w, 2)), tuple(int(v) for v in rng.integers(0, w, 2)), c, -1
            )
        return cv2.GaussianBlur(base, (0, 0), 3)
    image = load_image(faces / name).pixels
    s = max(w / image.shape[1], h / image.shape[0])
    big = cv2.resize(
        image, (math.ceil(image.shape[1] * s), math.ceil(image.shape[0] * s)), interpolation=cv2.INTER_AREA
    )
    return big[:h, :w].copy()


def paste(frame: np.ndarray, card: np.ndarray, cx: float, cy: float) -> None:
    h, w = card.shape[:2]
    x0, y0 = int(round(cx - w / 2)), int(round(cy - h / 2))
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(frame.shape[1], x0 + w), min(frame.shape[0], y0 + h)
    if fx1 > fx0 and fy1 > fy0:
        frame[fy0:fy1, fx0:fx1] = card[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]


def render(scenario: Scenario, cards: Cards, faces: Path):  # -> Iterator[np.ndarray]
    width, height = scenario.size
    backgrounds = {s.background: background(faces, s.background, scenario.size) for s in scenario.shots}
    for i in range(int(scenario.seconds * scenario.fps)):
        t = i / scenario.fps
        shot = next(s for s in scenario.shots if s.start <= t < s.end)
        u = (t - shot.start) / (shot.end - shot.start)
        bg = backgrounds[shot.background]
        x = int((bg.shape[1] - width) * (shot.pan[0] + (shot.pan[1] - shot.pan[0]) * u))
        frame = bg[:, x : x + width].copy()
        for a in shot.people:
            if not a.start <= t < a.end:
                continue
            v = (t - a.start) / (a.end - a.start)
            card, (fx, fy, fh) = cards.get(a.person, a.photo)
            face_px = a.face_px[0] + (a.face_px[1] - a.face_px[0]) * v
            s = face_px / fh
            small = cv2.resize(
                card, (max(1, int(card.shape[1] * s)), max(1, int(card.shape[0] * s))), interpolation=cv2.INTER_AREA
            )
            cx = (a.xy[0][0] + (a.xy[1][0] - a.xy[0][0]) * v) * width
            cy = (a.xy[0][1] + (a.xy[1][1] - a.xy[0][1]) * v) * height
            if a.slide:  # enter and leave by the nearer side
                edge = -small.shape[1] if cx < width / 2 else width + small.shape[1]
                k = min(1.0, (t - a.start) / 0.8, (a.end - t) / 0.8)
                cx = edge + (cx - edge) * max(0.0, k)
            # the card's centre sits where the face centre should
            paste(frame, small, cx + (small.shape[1] / 2 - fx * s), cy + (small.shape[0] / 2 - fy * s))
        yield frame


def encode(frames, path: Path, size: tuple[int, int], fps: int, codec: str) -> None:
    """Write `frames` with PyAV's bundled encoder: `h264` (libx264, yuv420p, as
    Android phones) or `hevc10` (libx265 Main 10, hvc1 in .mov, as iPhones)."""
    tmp = path.with_suffix(".part" + path.suffix)
    with av.open(str(tmp), "w", format="mov" if path.suffix == ".mov" else "mp4") as out:
        if codec == "h264":
            stream = out.add_stream("libx264", rate=fps, options={"crf": "23", "preset": "veryfast", "g": str(fps)})
            stream.pix_fmt = "yuv420p"
        else:
            options = {"crf": "26", "preset": "ultrafast", "g": str(fps), "x265-params": "log-level=error"}
            stream = out.add_stream("libx265", rate=fps, options=options)
            stream.pix_fmt = "yuv420p10le"
            stream.codec_tag = "hvc1"
        stream.width, stream.height = size
        for image in frames:
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    os.replace(tmp, path)


def make_clip(scenario: Scenario, codec: str, cards: Cards, faces: Path) -> Path:
    folder = OUT / "video"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{scenario.name}-{codec}.{'mov' if codec == 'hevc10' else 'mp4'}"
    if not path.exists():
        started = time.perf_counter()
        encode(render(scenario, cards, faces), path, scenario.size, scenario.fps, codec)
        print(f"made {path.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


@dataclass
class Identities:
    """Every dev person's photo embeddings (SFace), to name tracks."""

    vectors: dict[str, list[tuple[int, np.ndarray]]]

    @classmethod
    def load(cls, faces: Path, pipeline: Pipeline) -> Identities:
        out: dict[str, list[tuple[int, np.ndarray]]] = {}
        for folder in sorted((faces / "people").iterdir()):
            for photo in sorted(folder.iterdir()):
                found = pipeline.analyze(load_image(photo).pixels)
                if found:
                    best = max(found, key=lambda f: f.face.box.area)
                    out.setdefault(folder.name, []).append((int(photo.stem), best.embedding))
        return cls(out)

    def distances(self, vector: np.ndarray, shown: dict[str, set[int]]) -> dict[str, float]:
        """Each person's nearest photo distance, leaving out the photos shown in the clip
        (a person with no other photo is matched on the shown one)."""
        out = {}
        for person, photos in self.vectors.items():
            others = [v for n, v in photos if n not in shown.get(person, set())] or [v for _, v in photos]
            out[person] = min(float(1 - np.dot(vector, v)) for v in others)
        return out

    def name(self, vector: np.ndarray, shown: dict[str, set[int]]) -> tuple[str | None, float]:
        d = self.distances(vector, shown)
        person = min(d, key=lambda p: d[p])
        return (person if d[person] <= THRESHOLD else None), d[person]


def report(analysis: ClipAnalysis, ids: Identities, shown: dict[str, set[int]]) -> dict[str, object]:
    named = [(t, *ids.name(t.embedding, shown)) for t in analysis.tracks]
    print(f"\n{analysis.path.name}: {analysis.width}x{analysis.height} {analysis.codec}, {analysis.duration_s:.1f} s")
    for t, person, d in named:
        spans = ", ".join(f"{a:.1f}-{b:.1f}" for a, b in t.spans)
        print(
            f"  {person or 'unknown':20} d={d:.3f}  {spans:28} best {t.best_s:5.1f} s"
            f"  face {t.face.box.h:3d} px  {t.frames:3d} frames"
        )
    found = {p for _, p, _ in named if p}
    missing = sorted(set(shown) - found)
    wrong = [p for _, p, _ in named if p and shown and p not in shown]
    return {
        "clip": analysis.path.name,
        "size": f"{analysis.width}x{analysis.height}",
        "codec": analysis.codec,
        "video_s": round(analysis.duration_s, 2),
        "work_s": round(analysis.seconds, 2),
        "speed": round(analysis.speed, 2),
        "frames_decoded": analysis.frames_decoded,
        "frames_analyzed": analysis.frames_analyzed,
        "tracks": len(analysis.tracks),
        "people_shown": len(shown),
        "people_found": len(found & set(shown)) if shown else len(found),
        "missing": missing,
        "wrong": wrong,
        "unknown_tracks": sum(1 for _, p, _ in named if not p),
    }


def vector_choice(analyses: list[tuple[ClipAnalysis, dict[str, set[int]]]], ids: Identities) -> None:
    """Best frame's vector against the normalised mean of the best 2 and 3: distance
    to the right person (lower is better) and margin to the nearest other one."""
    print("\ntrack vector: distance to the right person's other photos / margin to the nearest other person")
    rows: dict[str, list[tuple[float, float]]] = {}
    for analysis, shown in analyses:
        for t in analysis.tracks:
            person, _ = ids.name(t.embedding, shown)
            if person is None:
                continue
            for k in (1, 2, 3):
                frames = t.best[:k]
                v = normalize(np.mean([f.embedding for f in frames], axis=0, keepdims=True))[0]
                d = ids.distances(v, shown)
                other = min(x for p, x in d.items() if p != person)
                rows.setdefault(f"mean of best {k}" if k > 1 else "best frame", []).append(
                    (d[person], other - d[person])
                )
    for name, values in rows.items():
        arr = np.array(values)
        print(
            f"  {name:14} mean distance {arr[:, 0].mean():.4f}  worst {arr[:, 0].max():.4f}"
            f"  mean margin {arr[:, 1].mean():.4f}  smallest {arr[:, 1].min():.4f}  (n={len(arr)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--faces",
        type=Path,
        default=Path(os.environ.get("FACEREC_TEST_FACES", ROOT.parent / "shared" / "faces" / "dev")),
    )
    parser.add_argument("--clip", type=Path, action="append", default=[], help="also analyse this clip (repeatable)")
    parser.add_argument("--only-clips", action="store_true", help="analyse only the --clip files")
    parser.add_argument(
        "--interval", type=float, default=None, help="seconds between analysed frames (default: facerec's)"
    )
    parser.add_argument("--codecs", default="h264,hevc10", help="the party clip's encodings (h264, hevc10)")
    args = parser.parse_args()
    pipeline = Pipeline.load("yunet", "sface", max_side=DEFAULT_DETECT_SIZE)
    ids = Identities.load(args.faces, pipeline)
    cards = Cards(args.faces, pipeline)
    jobs: list[tuple[Path, dict[str, set[int]]]] = []
    if not args.only_clips:
        for scenario, codecs in ((PARTY, args.codecs.split(",")), (SHORT, ["h264"])):
            for codec in codecs:
                jobs.append((make_clip(scenario, codec, cards, args.faces), scenario.people()))
    jobs += [(clip, {}) for clip in args.clip]
    options = {} if args.interval is None else {"interval_s": args.interval}
    results, analyses = [], []
    for path, shown in jobs:
        try:
            analysis = analyze_clip(path, pipeline, **options)
        except VideoError as exc:  # one line, and the other clips go on
            print(f"\n{exc}")
            continue
        analyses.append((analysis, shown))
        results.append(report(analysis, ids, shown))
    print(
        "\n| clip | size | codec | video s | work s | video s per work s | frames decoded / analysed"
        " | tracks | people found |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        found = f"{r['people_found']}/{r['people_shown']}" if r["people_shown"] else f"{r['people_found']} dev people"
        extra = f" missing {', '.join(r['missing'])}" if r["missing"] else ""
        extra += f" wrong {', '.join(r['wrong'])}" if r["wrong"] else ""
        print(
            f"| {r['clip']} | {r['size']} | {r['codec']} | {r['video_s']} | {r['work_s']} | {r['speed']}"
            f" | {r['frames_decoded']} / {r['frames_analyzed']} | {r['tracks']} | {found}{extra} |"
        )
    vector_choice([(a, s) for a, s in analyses if s], ids)
    load = os.getloadavg()
    print(
        f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores,"
        f" load average {load[0]:.1f} (other work on the machine slows every number)"
    )
    OUT.mkdir(exist_ok=True)
    (OUT / "video.json").write_text(json.dumps({"results": results, "load": load}, indent=2))


if __name__ == "__main__":
    main()
