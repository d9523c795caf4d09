"""The photo library: indexing the dev set, searching it, grouping its faces."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

from facerec.config import load_settings
from facerec.db import Database
from facerec.ui.sheets import CAPTION, TILE, grid
from facerec.usecases.context import Context
from facerec.usecases.groups.changes import merge, name_group, show_group, split_faces
from facerec.usecases.groups.grouping import Group, people_view, regroup
from facerec.usecases.library.index import FoundFile, analyze_file, index_folders
from facerec.usecases.library.search import photos_of, search_photo
from facerec.usecases.people.register import register_photos
from facerec.usecases.people.users import delete_person, list_people
from tests.helpers import CLI, PROJECT, FaceSet, cli_env, count, spawn_terminal

# -- the whole dev set, indexed once into its own database ------------------------


@pytest.fixture(scope="module")
def dev_library(faces: FaceSet, pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    data = tmp_path_factory.mktemp("library-data")
    settings = load_settings({"FACEREC_DATA_DIR": str(data)}, dotenv_path=data / "no.env")
    db = Database.open(settings)
    ctx = Context(settings, db=db, pipeline=pipeline)
    report = index_folders(ctx, workers=2, folders=[faces.root])
    assert report.indexed == len(faces.photos) and not report.failed, report
    yield ctx
    db.close()


def all_groups(ctx: Context, min_faces: int = 2) -> list[Group]:
    """Every listed group with all its faces, largest first."""
    listed = people_view(ctx, min_faces=min_faces).groups
    return [Group(g.id, show_group(ctx, g.id).faces) for g in listed]


def contains(faces: FaceSet) -> dict[str, set[str]]:
    """person -> every dev photo labelled with them (their own photos and group photos)."""
    out: dict[str, set[str]] = {}
    for p in faces.photos:
        for person in filter(None, p.person.split(";")):
            out.setdefault(person, set()).add(str(p.path))
    return out


def test_indexing_the_dev_set_stores_every_face(dev_library: Context, faces: FaceSet):
    pictures, stored = (
        count(dev_library.database, "SELECT count(*) FROM pictures WHERE indexed_at IS NOT NULL"),
        count(dev_library.database, "SELECT count(*) FROM faces"),
    )
    assert pictures == len(faces.photos) == 99
    expected = sum(p.faces_in_photo or 1 for p in faces.photos if p.kind != "noface")
    assert stored >= expected  # at least one face per photo, all annotated faces of the groups
    noface = str(faces.of_kind("noface")[0].path)
    assert (
        count(
            dev_library.database,
            "SELECT count(*) FROM faces f JOIN pictures p ON p.id = f.picture_id WHERE p.picture = %s",
            noface,
        )
        == 0
    )
    for group in faces.of_kind("group"):
        if group.faces_in_photo:
            n = count(
                dev_library.database,
                "SELECT count(*) FROM faces f JOIN pictures p ON p.id = f.picture_id WHERE p.picture = %s",
                str(group.path),
            )
            assert n == group.faces_in_photo, group.path


def test_search_with_one_photo_of_each_person_returns_their_other_photos_first(dev_library, faces: FaceSet):
    relevant_by_person = contains(faces)
    precisions = []
    for person, photos in faces.people().items():
        query = str(photos[0])
        matches = search_photo(dev_library, query, limit=None).matches
        results = [m.picture for m in matches if m.picture != query]
        relevant = relevant_by_person[person] - {query}
        top = results[: len(relevant)]
        precisions.append(sum(p in relevant for p in top) / len(relevant))
        assert all(a.distance <= b.distance for a, b in zip(matches, matches[1:]))
        assert all(m.distance <= dev_library.threshold for m in matches)
    mean = sum(precisions) / len(precisions)
    # Measured 1.00 (R-precision, every one of the 22 people); a floor with a little room.
    assert mean >= 0.95, precisions
    assert min(precisions) >= 0.5


def test_group_photos_are_found_for_each_labelled_member(dev_library, faces: FaceSet):
    people = faces.people()
    checked = 0
    for group in faces.of_kind("group"):
        for person in filter(None, group.person.split(";")):
            if person not in people:
                continue
            matches = search_photo(dev_library, people[person][0], limit=None).matches
            assert str(group.path) in {m.picture for m in matches}, (person, group.path)
            checked += 1
    assert checked >= 6


def test_a_distractor_finds_no_one_else(dev_library, faces: FaceSet):
    for d in faces.of_kind("distractor"):
        matches = search_photo(dev_library, d.path, limit=None).matches
        assert [m.picture for m in matches] == [str(d.path)]  # only its own photo


def test_grouping_the_dev_faces_is_pure(dev_library, faces: FaceSet):
    regroup(dev_library)
    groups = all_groups(dev_library)
    owner = {str(path): person for person, paths in faces.people().items() for path in paths}
    labelled = majority = 0
    for g in groups:
        labels = [owner[f.picture] for f in g.faces if f.picture in owner]
        if labels:
            labelled += len(labels)
            majority += Counter(labels).most_common(1)[0][1]
    # Measured: purity 1.000 over 77 labelled faces in 24 groups.
    assert labelled >= 70
    assert majority / labelled >= 0.97
    # Every person with 3+ photos forms a group holding most of their photos.
    for person, paths in faces.people().items():
        if len(paths) >= 3:
            best = max(sum(owner.get(f.picture) == person for f in g.faces) for g in groups)
            assert best >= len(paths) - 1, person


def test_photos_of_a_registered_person_uses_all_their_samples(dev_library, faces: FaceSet):
    people = faces.people()
    register_photos(dev_library, "Biden", people["joe_biden"][:1])
    try:
        found = {m.picture for m in photos_of(dev_library, "Biden").matches}
        assert contains(faces)["joe_biden"] <= found
        assert all(m.name == "Biden" for m in photos_of(dev_library, "Biden").matches)
        # Faces in library photos that match a registered person are shown as that person.
        matches = search_photo(dev_library, people["joe_biden"][1], limit=None).matches
        assert {m.name for m in matches} == {"Biden"}
    finally:
        delete_person(dev_library, "Biden")


def test_search_and_photos_json_and_the_contact_sheet(dev_library, faces: FaceSet, tmp_path: Path):
    env = {**cli_env(dev_library.settings)}
    run = CLI(env, tmp_path)
    query = str(faces.people()["deepface_angelina"][0])
    r = run("--json", "search", query, "--limit", "4", "--export", str(tmp_path / "sheets"))
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(records) == 4
    for rec in records:
        assert set(rec) == {"picture", "box", "distance", "face", "name"} and len(rec["box"]) == 4
    (sheet,) = (tmp_path / "sheets").iterdir()
    image = cv2.imread(str(sheet))
    columns, rows = grid(4)
    assert image.shape == (rows * (TILE + CAPTION), columns * TILE, 3)
    assert oct(sheet.stat().st_mode & 0o777) == "0o600"

    stranger = run("search", str(faces.photo("negatives/cf_017_0_noface.jpg")))
    assert stranger.returncode == 1 and "no face found" in stranger.stderr


# -- incremental, resumable indexing on a small copy --------------------------------


@pytest.fixture
def photo_folder(faces: FaceSet, tmp_path: Path) -> Path:
    """12 dev photos copied into a folder tree (with a subfolder)."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    people = faces.people()
    chosen = people["deepface_angelina"][:4] + people["deepface_jennifer"][:4] + people["deepface_mark"][:4]
    for i, src in enumerate(chosen):
        dest = folder / ("sub" if i % 3 == 0 else "") / f"{i:02d}_{src.parent.name}.jpg"
        shutil.copy2(src, dest)
    return folder


def face_ids_of(db: Database, picture: Path) -> list[int]:
    with db.transaction() as cur:
        cur.execute(
            "SELECT f.id FROM faces f JOIN pictures p ON p.id = f.picture_id WHERE p.picture = %s ORDER BY f.id",
            (str(picture),),
        )
        return [r[0] for r in cur.fetchall()]


def test_reindexing_adds_nothing_a_moved_file_keeps_its_faces_and_prune_forgets(
    ctx: Context, db: Database, photo_folder: Path
):
    first = index_folders(ctx, workers=2, folders=[photo_folder])
    assert (first.seen, first.indexed, first.skipped, first.failed) == (12, 12, 0, [])
    faces_before = count(db, "SELECT count(*) FROM faces")
    assert faces_before == first.faces >= 12

    again = index_folders(ctx, workers=2, folders=[photo_folder])
    assert (again.indexed, again.skipped, again.faces) == (0, 12, 0)
    assert count(db, "SELECT count(*) FROM faces") == faces_before

    old = photo_folder / "01_deepface_angelina.jpg"
    new = photo_folder / "sub" / "renamed.jpg"
    ids = face_ids_of(db, old)
    os.rename(old, new)
    moved = index_folders(ctx, workers=2, folders=[photo_folder])
    assert (moved.moved, moved.indexed) == (1, 0)
    assert face_ids_of(db, new) == ids and face_ids_of(db, old) == []
    said = moved.as_json()  # what `index --json` prints says all of it
    assert (said["moved"], said["copied"], said["pruned"], said["interrupted"]) == (1, 0, 0, False)
    assert said["seconds"] == round(moved.seconds, 3) > 0

    copy = photo_folder / "copy.jpg"
    shutil.copy(new, copy)
    copied = index_folders(ctx, workers=2, folders=[photo_folder])
    assert copied.copied == 1 and len(face_ids_of(db, copy)) == len(ids)

    gone = photo_folder / "02_deepface_angelina.jpg"
    gone_faces = len(face_ids_of(db, gone))
    gone.unlink()
    kept = index_folders(ctx, workers=2, folders=[photo_folder])  # without --prune: kept
    assert kept.pruned == 0 and len(face_ids_of(db, gone)) == gone_faces
    pruned = index_folders(ctx, workers=2, folders=[photo_folder], prune=True)
    assert pruned.pruned == 1 and face_ids_of(db, gone) == []
    assert pruned.as_json()["pruned"] == 1 and copied.as_json()["copied"] == 1
    assert count(db, "SELECT count(*) FROM pictures WHERE picture = %s", str(gone)) == 0


def test_a_changed_file_is_indexed_again_replacing_its_faces(ctx: Context, db: Database, photo_folder: Path, faces):
    index_folders(ctx, workers=1, folders=[photo_folder])
    target = photo_folder / "03_deepface_angelina.jpg"
    shutil.copy(faces.photo("groups/fr_two_people.jpg"), target)
    report = index_folders(ctx, workers=1, folders=[photo_folder])
    assert report.indexed == 1 and report.faces == 2
    assert len(face_ids_of(db, target)) == 2


def test_an_index_killed_halfway_then_rerun_ends_with_exactly_the_right_rows(
    cli: CLI, db: Database, settings, faces: FaceSet, pipeline, tmp_path: Path
):
    folder = tmp_path / "many"
    folder.mkdir()
    sources = [p.path for p in faces.of_kind("face")][:40]
    for i, src in enumerate(sources):
        shutil.copy(src, folder / f"{i:03d}{src.suffix}")
    proc = subprocess.Popen(
        [sys.executable, str(PROJECT / "face_recognition.py"), "index", str(folder), "--workers", "2"],
        env=cli_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while count(db, "SELECT count(*) FROM pictures") < 5:
        assert time.time() < deadline and proc.poll() is None, "indexing did not start"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = count(db, "SELECT count(*) FROM pictures")
    assert 0 < stored < len(sources), "the kill should land halfway"
    # No picture is stored without its faces.
    assert (
        count(db, "SELECT count(*) FROM pictures p WHERE NOT EXISTS (SELECT 1 FROM faces f WHERE f.picture_id = p.id)")
        == 0
    )

    r = cli("--json", "index", str(folder))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["indexed"] == len(sources) - stored and summary["skipped"] == stored
    assert count(db, "SELECT count(*) FROM pictures") == len(sources)
    assert (
        count(
            db,
            "SELECT count(*) FROM (SELECT picture_id, box FROM faces GROUP BY picture_id, box HAVING count(*) > 1) d",
        )
        == 0
    )
    # Exactly the faces a single uninterrupted analysis finds.
    known: frozenset[str] = frozenset()
    expected = sum(
        len(analyze_file(pipeline, known, FoundFile(str(f), str(f), 0, 0.0)).photo.faces)  # type: ignore[union-attr]
        for f in sorted(folder.iterdir())
    )
    assert count(db, "SELECT count(*) FROM faces") == expected
    fresh = index_folders(Context(settings, db=db), workers=2, folders=[folder])
    assert fresh.indexed == 0 and fresh.skipped == len(sources)


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat_line = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat_line.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie, dead but not yet reaped, does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_kill_9_of_index_takes_its_workers_with_it_without_a_traceback(
    db: Database, settings, faces: FaceSet, tmp_path: Path
):
    folder = tmp_path / "many"
    folder.mkdir()
    sources = [p.path for p in faces.photos][:80]
    for i, src in enumerate(sources):
        shutil.copy(src, folder / f"{i:03d}{src.suffix}")
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(PROJECT / "face_recognition.py"), "index", str(folder), "--workers", "2"],
            env=cli_env(settings),
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    workers: list[int] = []
    try:
        deadline = time.time() + 120
        while count(db, "SELECT count(*) FROM pictures") < 3:
            assert time.time() < deadline and proc.poll() is None, "indexing did not start"
            time.sleep(0.05)
        workers = children_of(proc.pid)
        assert len(workers) >= 2, workers  # the two workers (and multiprocessing's resource tracker)
        os.kill(proc.pid, signal.SIGKILL)  # the index process only, as `kill -9 PID` does
        proc.wait()
        assert count(db, "SELECT count(*) FROM pictures") < len(sources), "the kill should land while indexing"
        deadline = time.time() + 30
        while any(alive(w) for w in workers):
            assert time.time() < deadline, f"workers outlived the index process: {[w for w in workers if alive(w)]}"
            time.sleep(0.1)
    finally:
        for w in workers:  # ours: never leave one behind, whatever happened
            if alive(w):
                os.kill(w, signal.SIGKILL)
    written = errors.read_text()
    assert "Traceback" not in written and "leaked" not in written, written


def test_index_reports_bad_files_and_goes_on(cli: CLI, faces: FaceSet, tmp_path: Path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(faces.people()["barack_obama"][0], folder / "good.jpg")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.png").write_text("hello")
    (folder / "notes.txt").write_text("ignored: not an image suffix")
    os.symlink(folder / "missing.jpg", folder / "broken.jpg")
    r = cli("--json", "index", str(folder))
    assert r.returncode == 0
    summary = json.loads(r.stdout)
    assert summary["seen"] == 4 and summary["indexed"] == 1 and summary["faces"] == 1
    errors = {Path(f["picture"]).name: f["error"] for f in summary["failed"]}
    assert errors == {
        "empty.jpg": "empty file",
        "text.png": "not an image, or a format that cannot be read",
        "broken.jpg": "broken symbolic link",
    }


def test_naming_merging_and_splitting_groups_persist(ctx: Context, db: Database, photo_folder: Path):
    index_folders(ctx, workers=2, folders=[photo_folder])
    groups = all_groups(ctx)
    assert [len(g.faces) for g in groups] == [4, 4, 4]
    by_person = {Path(g.faces[0].picture).name.split("_", 1)[1]: g for g in groups}
    angelina, jennifer, mark = (
        by_person[k] for k in ("deepface_angelina.jpg", "deepface_jennifer.jpg", "deepface_mark.jpg")
    )

    assert name_group(ctx, angelina.id, "Angelina").faces == 4
    merge(ctx, str(jennifer.id), str(mark.id), force=True)  # the user insists these two groups are one person
    odd = mark.faces[-1].face_id
    split_faces(ctx, [odd])

    for _ in range(2):  # re-grouping (twice) keeps what the user said
        regroup(ctx)
        groups = all_groups(ctx)
        assert "Angelina" in [p.name for p in list_people(ctx).people]
        assert (
            count(db, "SELECT count(*) FROM faces f JOIN people p ON p.id = f.person_id WHERE p.name = 'Angelina'") == 4
        )
        merged = [g for g in groups if len(g.faces) == 7]
        assert len(merged) == 1, [len(g.faces) for g in groups]
        assert odd not in {f.face_id for f in merged[0].faces}

    # "Not this person" on a named face detaches it for good.
    face = angelina.faces[0].face_id
    split_faces(ctx, [face])
    regroup(ctx)
    assert count(db, "SELECT count(*) FROM faces f JOIN people p ON p.id = f.person_id WHERE p.name = 'Angelina'") == 3
    with pytest.raises(Exception, match="no group"):
        name_group(ctx, 999_999, "x")


def test_two_faces_of_one_photo_are_never_grouped_together():
    import numpy as np

    from facerec.rules.clustering import group

    v = np.eye(4, dtype=np.float32)
    vectors = np.stack([v[0], v[0], v[0], v[1]])  # faces 1-3 look identical
    ids = np.array([1, 2, 3, 4])
    apart = dict(zip(ids.tolist(), group(ids, vectors, np.array([10, 10, 11, 12])).tolist()))
    assert apart[1] != apart[2]  # same photo: two people, however alike
    assert apart[3] in (apart[1], apart[2]) and apart[4] == 4
    together = dict(zip(ids.tolist(), group(ids, vectors, np.array([10, 11, 12, 13])).tolist()))
    assert together[1] == together[2] == together[3] == 1


def test_the_progress_bar_fits_the_terminal_it_is_drawn_on():
    from facerec.ui.progress import ProgressBar

    bar = ProgressBar(io.StringIO(), "photos")
    for columns in (80, 60, 40, 20, 200):
        for done, total in ((0, 594), (12, 594), (594, 594), (123_456, 1_000_000)):
            line = bar.line(done, total, 2 * done, 9.5, columns)
            assert len(line) <= columns - 1, (columns, line)
    wide = bar.line(12, 594, 20, 1.0, 80)
    assert wide.startswith("[") and "12/594 photos" in wide and "faces/s" in wide and "ETA" in wide
    assert "12/594 photos" in bar.line(12, 594, 20, 1.0, 40)  # narrow: the bar and rates go first


def test_a_progress_bar_shows_no_rate_from_almost_no_elapsed_time():
    """Issue 20: `matching 124/124 faces 22836095.3 faces/s`, a phase done at once."""
    from facerec.ui.progress import MIN_RATE_S, ProgressBar

    bar = ProgressBar(io.StringIO(), "faces", None, label="matching")
    assert bar.line(124, 124, None, 0.000005, 80).split() == ["[" + "#" * 30 + "]", "matching", "124/124", "faces"]
    assert "/s" not in bar.line(3, 124, None, MIN_RATE_S * 0.99, 80)
    assert "24.0 faces/s" in bar.line(12, 124, None, 0.5, 80) and "ETA 5 s" in bar.line(12, 124, None, 0.5, 80)


@pytest.mark.slow
def test_the_people_steps_bars_after_index_on_a_terminal_show_no_rate_from_no_time(
    cli: CLI, photo_folder: Path, tmp_path: Path
):
    """Each phase of the People step (reading, matching, ...) gets a bar of its own, drawn at
    once: its first drawing shows the count only, never a rate from microseconds."""
    import pexpect

    child = spawn_terminal(
        [sys.executable, str(PROJECT / "face_recognition.py"), "index", str(photo_folder), "--workers", "1"],
        env={**cli.env, "COLUMNS": "80", "LINES": "24"},
        cwd=str(tmp_path),
        dimensions=(24, 80),
        encoding="utf-8",
        timeout=120,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    bars = [part for line in str(child.before).splitlines() for part in line.split("\r") if part.startswith("[")]
    first: dict[str, str] = {}
    for b in bars:
        label = b.split("] ", 1)[1].split()[0]
        if not label[0].isdigit():  # a phase of the People step ("12/12 photos" is the index bar)
            first.setdefault(label, b)
    assert first, bars
    for b in first.values():
        assert "/s" not in b and "ETA" not in b, b
    # and the summary line says a rate only from a measurable time
    summary = [line for line in str(child.before).splitlines() if line.startswith("seen ")]
    assert summary and re.search(r"faces in \d+\.\d s( \(\d+\.\d photos/s\))?$", summary[-1].strip()), summary


@pytest.mark.slow
def test_index_on_an_80_column_terminal_redraws_in_place_and_workers_log_like_the_parent(
    cli: CLI, photo_folder: Path, tmp_path: Path
):
    import pexpect

    def index_on_a_terminal(*args: str) -> str:
        child = spawn_terminal(
            [sys.executable, str(PROJECT / "face_recognition.py"), *args],
            env={**cli.env, "COLUMNS": "80", "LINES": "24"},
            cwd=str(tmp_path),
            dimensions=(24, 80),
            encoding="utf-8",
            timeout=120,
        )
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
        return str(child.before)

    output = index_on_a_terminal("index", str(photo_folder), "--workers", "1")
    bars = [part for line in output.splitlines() for part in line.split("\r") if part.startswith("[")]
    assert bars and all(len(b) <= 79 for b in bars), bars
    assert "12/12 photos" in [b for b in bars if " photos " in b][-1]
    assert "saving" in bars[-1]  # then the People step's bars (a phase each), on the same line width

    # The models load in the worker processes only; with -vv their debug lines reach
    # the terminal like the parent's (and no bar is drawn between log lines).
    shutil.copytree(photo_folder, tmp_path / "copy")
    output = index_on_a_terminal("-vv", "index", str(tmp_path / "copy"), "--workers", "1")
    assert "facerec: DEBUG: facerec.vision.runtime: loaded face_detection_yunet_2023mar.onnx" in output
    assert not any(part.startswith("[#") for line in output.splitlines() for part in line.split("\r"))
