"""How small can a face be and still be recognised? Measured on the dev set.

Each portrait (`people/`, 22 people, 79 photos) is shrunk, whole, so that its
main face's box is W px wide (then saved as a JPEG at quality 90 and read
back, as a photo would be), and its face embedded there: with the landmarks
YuNet finds in the shrunk photo ("detected"; where it finds none, the face
counts as not detected and uses the exact ones) and with the full-size
landmarks scaled down ("exact", the embedder alone). Each small face is
compared with the full-size faces of the other photos: of the same person
(genuine pairs: a person registered from a good photo, met small in a crowd)
and of everyone else (impostor pairs).

    python bench/small_faces.py [--embedder sface] [--widths 12,14,...]

Prints, per width: how many faces YuNet found; the genuine distances (median,
95th percentile) and the impostor distances (1st percentile); at the
embedder's threshold the share of genuine pairs accepted (TAR) and of
impostor pairs accepted (FAR); the equal error rate (EER); and TAR and FAR
when both faces of a pair are that small (two faces of a crowd, as grouping
compares them). The smallest
width whose TAR and EER stay near full size's is the embedder's `min_face_px`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.detect_cases import dev_photos, jpeg, today_faces  # noqa: E402
from facerec.types import Face  # noqa: E402
from facerec.vision.detectors import YuNetDetector  # noqa: E402
from facerec.vision.embedders import embedder_spec  # noqa: E402
from facerec.vision.pipeline import Pipeline  # noqa: E402

WIDTHS = (12, 14, 16, 18, 20, 24, 28, 32, 40, 48, 64, 80)


def eer(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """The error rate where false rejects equal false accepts (0..1, lower is better)."""
    best = 1.0
    for t in np.unique(np.concatenate([genuine, impostor])):
        frr = float(np.mean(genuine > t))
        far = float(np.mean(impostor <= t))
        best = min(best, max(frr, far))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", default=os.environ.get("FACEREC_TEST_FACES", str(ROOT.parent / "shared/faces/dev")))
    parser.add_argument("--embedder", default="sface")
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)))
    args = parser.parse_args()
    widths = [int(w) for w in args.widths.split(",")]
    root = Path(args.faces)
    pipeline = Pipeline.load("yunet", args.embedder)
    threshold = embedder_spec(args.embedder).threshold
    today = YuNetDetector()
    finder = YuNetDetector(max_side=100_000)  # the shrunk photo as it is: the tiles' view
    people, photos, faces = [], [], []
    for p in dev_photos(root):
        if p.kind != "face":
            continue
        pixels, found = today_faces(today, p.path)
        people.append(p.path.parent.name)
        photos.append(pixels)
        faces.append(max(found, key=lambda f: f.box.area))
    full = np.stack([pipeline.embed(px, [f])[0].embedding for px, f in zip(photos, faces)])
    same = np.array([[a == b for b in people] for a in people])
    other = ~same
    np.fill_diagonal(same, False)
    print(f"{args.embedder}: {len(photos)} faces of {len(set(people))} people; threshold {threshold}")
    print(
        f"{'width':>6} {'found':>6} {'landmarks':>9} {'gen med':>8} {'gen p95':>8} {'imp p1':>7} "
        f"{'TAR':>6} {'FAR':>7} {'EER':>6} {'TAR both':>8} {'FAR both':>8}"
    )
    _report("full", len(photos), "", full, full, same, other, threshold)
    for w in widths:
        detected, exact, found = [], [], 0
        for pixels, face in zip(photos, faces):
            s = w / face.box.w
            if s >= 1:
                small, s = pixels, 1.0
            else:
                size = (max(1, round(pixels.shape[1] * s)), max(1, round(pixels.shape[0] * s)))
                small = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
                small = cv2.imdecode(np.frombuffer(jpeg(small), np.uint8), cv2.IMREAD_COLOR)
            scaled = face.scaled(s)
            seen = [f for f in finder.detect(small) if f.box.iou(scaled.box) >= 0.4]
            found += bool(seen)
            best = max(seen, key=lambda f: f.box.iou(scaled.box)) if seen else scaled
            assert best.landmarks is not None
            detected.append(pipeline.embed(small, [Face(best.box, best.score, best.landmarks)])[0].embedding)
            exact.append(pipeline.embed(small, [scaled])[0].embedding)
        _report(str(w), found, "detected", np.stack(detected), full, same, other, threshold)
        _report("", found, "exact", np.stack(exact), full, same, other, threshold)


def _report(
    label: str,
    found: int,
    kind: str,
    small: np.ndarray,
    full: np.ndarray,
    same: np.ndarray,
    other: np.ndarray,
    threshold: float,
) -> None:
    distances = 1.0 - small @ full.T
    genuine, impostor = distances[same], distances[other]
    both = 1.0 - small @ small.T
    print(
        f"{label:>6} {found if label else '':>6} {kind:>9} {np.median(genuine):>8.3f} "
        f"{np.percentile(genuine, 95):>8.3f} {np.percentile(impostor, 1):>7.3f} "
        f"{np.mean(genuine <= threshold):>6.1%} {np.mean(impostor <= threshold):>7.2%} {eer(genuine, impostor):>6.1%} "
        f"{np.mean(both[same] <= threshold):>8.1%} {np.mean(both[other] <= threshold):>8.2%}",
        flush=True,
    )


if __name__ == "__main__":
    main()
