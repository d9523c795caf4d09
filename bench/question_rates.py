"""How often facerec's questions are right on the dev set: "Is this X?" (single
library faces offered as a registered person) and `people suggest` (a group is
a person; two groups are one person).

    python bench/question_rates.py [--faces ../shared/faces/dev]

In a throw-away embedded database, through the same use cases as the CLI and
the web page: every person of the dev set is registered from their first
photo; everything else (their other photos, the groups, the distractors, the
landscape) is indexed as the library. A question about a face is *right*
when that face is the person asked about, *wrong* when it is someone else
(the main face of another person's photo, or a distractor), and *unknown*
when nobody knows (a face in a group photo, a face in a photo's background).
A suggestion is right when most of the known faces of the group(s) are that
person (one person).

Every photo of a person is as far as 0.56 from their first one, inside the
threshold (0.57), so the dev set alone holds no genuine "just outside" face;
`--blurred` adds to the library each person's other photos blurred at four
strengths (a Gaussian of 4, 8, 12 and 16% of the face's width, as a shaken or
out-of-focus shot), which spreads their distances past the threshold, so a
question can be right.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from facerec.config import load_settings  # noqa: E402
from facerec.db import Database  # noqa: E402
from facerec.db.server import EmbeddedServer  # noqa: E402
from facerec.types import Box  # noqa: E402
from facerec.usecases.context import Context  # noqa: E402
from facerec.usecases.groups.grouping import update_groups  # noqa: E402
from facerec.usecases.groups.suggest import near_misses, suggestions  # noqa: E402
from facerec.usecases.library.index import index_folders  # noqa: E402
from facerec.usecases.library.recognize import analyze_photo  # noqa: E402
from facerec.usecases.people.register import register_photos  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_FACES = Path(os.environ.get("FACEREC_TEST_FACES", PROJECT.parent / "shared" / "faces" / "dev"))


def manifest(faces: Path) -> list[dict[str, str]]:
    with (faces / "manifest.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


class Truth:
    """Who a library face is: the largest face of a person's photo is that person;
    a distractor's is 'distractor:<name>'; anything else is unknown (None)."""

    def __init__(self, ctx: Context, library: Path, owners: dict[str, str]) -> None:
        self.owner = {str((library / rel).absolute()): who for rel, who in owners.items()}
        self.largest: dict[str, Box] = {}
        self.ctx = ctx

    def of(self, picture: str, box: Box) -> str | None:
        who = self.owner.get(picture)
        if who is None:
            return None
        if picture not in self.largest:
            faces = analyze_photo(self.ctx, picture).faces
            self.largest[picture] = max((f.face.box for f in faces), key=lambda b: b.area)
        return who if box.iou(self.largest[picture]) > 0.5 else None


BLUR = (0.04, 0.08, 0.12, 0.16)
"""Gaussian sigmas of the blurred copies, as a fraction of the photo's largest face's width."""


def blurred_copies(photo: Path, folder: Path, rel: str) -> list[str]:
    """`photo` blurred at each strength of `BLUR`, written under `folder`; their paths relative to the library."""
    import cv2

    from facerec.vision.detectors import get_detector
    from facerec.vision.images import load_image

    pixels = load_image(photo).pixels
    faces = get_detector("yunet").detect(pixels)
    width = max((f.box.w for f in faces), default=pixels.shape[1] // 4)
    made = []
    for sigma in BLUR:
        target = folder / f"{rel}.blur{int(sigma * 100):02d}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(target), cv2.GaussianBlur(pixels, (0, 0), sigma * width), [cv2.IMWRITE_JPEG_QUALITY, 92])
        made.append(str(target.relative_to(folder.parent)))
    return made


def score(answers: list[str | None], asked: str) -> Counter[str]:
    return Counter(
        "unknown" if a is None else "not listed" if a == "not-listed" else "right" if a == asked else "wrong"
        for a in answers
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    parser.add_argument("-v", "--verbose", action="store_true", help="list every question")
    parser.add_argument("--blurred", action="store_true", help="add blurred copies of the people's photos")
    parser.add_argument("--bands", help="comma-separated bands past the threshold to compare (default: facerec's)")
    args = parser.parse_args()
    rows = manifest(args.faces)
    by_person: dict[str, list[str]] = {}
    for r in rows:
        if r["kind"] == "face":
            by_person.setdefault(r["person"], []).append(r["path"])
    first = {p: sorted(paths)[0] for p, paths in by_person.items()}
    with tempfile.TemporaryDirectory(prefix="facerec-questions-") as tmp:
        base = Path(tmp)
        library = base / "library"
        owners: dict[str, str] = {}
        listed: dict[str, set[str]] = {}  # group photo -> the people its source says are in it
        for r in rows:
            if r["path"] in first.values():
                continue
            target = library / r["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(args.faces / r["path"])
            if r["kind"] == "face":
                owners[r["path"]] = r["person"]
            elif r["kind"] == "distractor":
                owners[r["path"]] = f"distractor:{r['person']}"
            elif r["kind"] == "group":
                listed[str((library / r["path"]).absolute())] = set(filter(None, r["person"].split(";")))
        if args.blurred:
            for r in rows:
                if r["kind"] == "face" and r["path"] not in first.values():
                    for rel in blurred_copies(args.faces / r["path"], library / "blurred", r["path"]):
                        owners[rel] = r["person"]
        settings = load_settings({"FACEREC_DATA_DIR": str(base / "data")}, dotenv_path=base / "no.env")
        ctx = Context(settings, db=Database.open(settings))
        try:
            for person, photo in sorted(first.items()):
                register_photos(ctx, person, [args.faces / photo], use_largest=True, force=True)
            index_folders(ctx, [library], workers=2, group=False)
            update_groups(ctx)
            truth = Truth(ctx, library, owners)

            bands = [float(b) for b in args.bands.split(",")] if args.bands else [None]
            for band in bands:
                asked: Counter[str] = Counter()
                for person in sorted(first):
                    extra = {} if band is None else {"band": band}
                    found = near_misses(ctx, person, limit=None, **extra)
                    answers = []
                    for m in found.matches:
                        who = truth.of(m.picture, m.hit.box)
                        if who is None and m.picture in listed and person not in listed[m.picture]:
                            who = "not-listed"  # a group photo whose source does not list them
                        answers.append(who)
                    if args.verbose:
                        for m, a in zip(found.matches, answers):
                            where = Path(m.picture).relative_to(library)
                            print(f"  is this {person}? {where} {m.distance:.3f} -> {a}")
                    asked += score(answers, person)
                label = "the default band" if band is None else f"band {band:.2f}"
                print(f"'Is this X?' questions, {label}: {_line(asked)}")

            kinds: dict[str, Counter[str]] = {"person": Counter(), "group": Counter()}
            for s in suggestions(ctx, limit=None).items:
                members = ctx.db.groups.mapping()
                majority = [_majority(truth, members.get(g.id, [])) for g in (s.group, s.other) if g is not None]
                if s.kind == "person":
                    kinds["person"] += score([majority[0]], s.person or "")
                else:
                    same = None if None in majority else ("same" if majority[0] == majority[1] else "different")
                    kinds["group"] += score([same], "same")
            print(f"suggestions 'group G is X': {_line(kinds['person'])}")
            print(f"suggestions 'groups G and H are one person': {_line(kinds['group'])}")
        finally:
            ctx.database.close()
            EmbeddedServer(settings.data_dir).stop()
    return 0


def _majority(truth: Truth, faces: list) -> str | None:
    known = Counter(w for w in (truth.of(f.picture, f.box) for f in faces) if w is not None)
    if not known:
        return None
    who, n = known.most_common(1)[0]
    return who if n * 2 > sum(known.values()) else None


def _line(c: Counter[str]) -> str:
    total = sum(c.values())
    right = c["right"]
    judged = right + c["wrong"]
    rate = f"{right / judged:.0%} of those judged" if judged else "none judged"
    return (
        f"{total} asked: {right} right, {c['wrong']} wrong, {c['not listed']} in a group photo that does not list"
        f" them, {c['unknown']} unknown ({rate})"
    )


if __name__ == "__main__":
    sys.exit(main())
