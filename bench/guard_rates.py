"""How often the guard fires on the dev set: on genuine registrations (it should
almost never) and on photos of someone else given a registered person's name.

    python bench/guard_rates.py [--faces ../shared/faces/dev]

In a throw-away embedded database, through the same use cases as `register`:
1. genuine, one by one: every person's photos registered in name order, each a
   registration of its own (the 2nd, 3rd, ... photo meets the person's earlier ones);
2. genuine, all at once: each person registered from all their photos in one
   command (a new person: the photos are checked against each other);
3. impostors: with everyone registered from all their photos, every photo of
   person B offered as a sample of person A (checked, not stored).
Prints how many times each check of `facerec.usecases.people.guard` fired.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
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
from facerec.errors import LooksLikeSomeoneElseError  # noqa: E402
from facerec.usecases.context import Context  # noqa: E402
from facerec.usecases.library.recognize import analyze_photo, largest  # noqa: E402
from facerec.usecases.people.guard import check_new_faces  # noqa: E402
from facerec.usecases.people.register import register_photos  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_FACES = Path(os.environ.get("FACEREC_TEST_FACES", PROJECT.parent / "shared" / "faces" / "dev"))


def kind(problem: str) -> str:
    if "looks like registered person" in problem:
        return "(a) looks like someone else"
    return "(b) unlike the person"


def people(faces: Path) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    with (faces / "manifest.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["kind"] == "face":
                out.setdefault(row["person"], []).append(faces / row["path"])
    return {k: sorted(v) for k, v in sorted(out.items())}


def fresh(base: Path, name: str) -> Context:
    settings = load_settings({"FACEREC_DATA_DIR": str(base / name)}, dotenv_path=base / "no.env")
    return Context(settings, db=Database.open(settings))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    args = parser.parse_args()
    everyone = people(args.faces)
    with tempfile.TemporaryDirectory(prefix="facerec-guard-") as tmp:
        base = Path(tmp)
        sequential: Counter[str] = Counter()
        tries = 0
        ctx = fresh(base, "sequential")
        for name, photos in everyone.items():
            for photo in photos:
                tries += photo != photos[0]
                try:
                    register_photos(ctx, name, [photo], use_largest=True)
                except LooksLikeSomeoneElseError as exc:
                    sequential.update({kind(p) for p in str(exc).split("; ")[:-1]})
                    register_photos(ctx, name, [photo], use_largest=True, force=True)
        print(
            f"genuine, one photo at a time: {tries} registrations of a known person;", dict(sequential) or "no refusal"
        )

        batch: Counter[str] = Counter()
        ctx2 = fresh(base, "batch")
        several = {n: p for n, p in everyone.items() if len(p) > 1}
        for name, photos in several.items():
            try:
                register_photos(ctx2, name, photos, use_largest=True)
            except LooksLikeSomeoneElseError as exc:
                batch.update({kind(p) for p in str(exc).split("; ")[:-1]})
                register_photos(ctx2, name, photos, use_largest=True, force=True)
        print(f"genuine, all photos at once: {len(several)} new people;", dict(batch) or "no refusal")

        vectors = {
            n: [largest(analyze_photo(ctx, p).faces).embedding for p in photos] for n, photos in everyone.items()
        }
        impostor: Counter[str] = Counter()
        offered = caught = 0
        for a in everyone:
            person = ctx.db.people.find_person(a)
            for b, vs in vectors.items():
                if b == a:
                    continue
                for v in vs:
                    offered += 1
                    verdict = check_new_faces(ctx, a, [v], person)
                    caught += not verdict.ok
                    impostor.update({kind(p) for p in verdict.problems})
        print(
            f"impostors: {offered} photos of someone else offered under a registered name; "
            f"{caught} refused ({caught / offered:.1%}): {dict(impostor)}"
        )
        print(f"(threshold {ctx.threshold}, own-sample bound {ctx.numbers.own_sample_bound})")
        for c in (ctx, ctx2):
            c.database.close()
        for name in ("sequential", "batch"):
            EmbeddedServer(dataclasses.replace(ctx.settings, data_dir=base / name).data_dir).stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
