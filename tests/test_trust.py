"""Trustworthy people (issue 12): the guard, every face visible and fixable, undo,
one person at most once per photo, nothing hidden, names, consistent answers.
All against the real database, models and dev photos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from facerec.errors import LooksLikeSomeoneElseError, NothingToUndoError, SimilarNameError
from facerec.usecases.context import Context
from facerec.usecases.groups.changes import merge, name_group, show_group, split_faces
from facerec.usecases.groups.grouping import people_view, regroup
from facerec.usecases.journal import history, undo
from facerec.usecases.library.index import index_folders
from facerec.usecases.library.recognize import recognize_photo
from facerec.usecases.people.register import register_photos
from facerec.usecases.people.users import delete_person, remove_samples, show_person
from tests.helpers import CLI, FaceSet, count, spawn_terminal

TABLES = ("people", "pictures", "faces", "face_links", "face_not_person", "face_groups")


def rows(db) -> dict[str, list[str]]:
    """Every row of the tables that say who is who, as text (to compare states exactly)."""
    out = {}
    with db.transaction() as cur:
        for table in TABLES:
            cur.execute(f"SELECT t::text FROM {table} t ORDER BY 1")  # noqa: S608 (test helper, fixed names)
            out[table] = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT t::text FROM group_sizes t WHERE size > 0 ORDER BY 1")
        out["group_sizes"] = [r[0] for r in cur.fetchall()]
    return out


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture
def library(ctx: Context, faces: FaceSet, tmp_path: Path) -> Path:
    """A library folder with the photos of two people (Jennifer: 6, Mark: 5), indexed and grouped."""
    folder = tmp_path / "library"
    folder.mkdir()
    people = faces.people()
    for person in ("deepface_jennifer", "deepface_mark"):
        for photo in people[person]:
            shutil.copy(photo, folder / f"{person}_{photo.name}")
    index_folders(ctx, [folder], workers=1)
    return folder


def group_of(ctx: Context, person: str) -> int:
    """The group whose faces are `person`'s photos."""
    regroup(ctx)
    for g in people_view(ctx, limit=None).groups:
        if all(person in f.picture for f in g.faces):
            return g.id
    raise AssertionError(f"no group of {person}")


# -- 1. the guard ---------------------------------------------------------------------


def test_a_photo_of_someone_else_is_refused_under_another_name_unless_forced(cli: CLI, faces: FaceSet, db):
    people = faces.people()
    assert cli("register", "Rose Leslie", str(people["rose_leslie"][0])).returncode == 0
    assert cli("register", "Kit Harington", str(people["kit_harington"][0])).returncode == 0
    before = rows(db)

    r = cli("register", "Kit Harington", str(people["rose_leslie"][1]))
    assert r.returncode == 1
    (err,) = lines(r.stderr)
    assert "looks like registered person 'Rose Leslie'" in err and "nothing stored" in err and "--force" in err
    assert rows(db) == before

    r = cli("register", "Kit Harington", str(people["rose_leslie"][1]), "--force")
    assert r.returncode == 0, r.stderr
    assert "stored anyway" in r.stderr
    assert (
        count(db, "SELECT count(*) FROM faces f JOIN people p ON p.id = f.person_id WHERE p.name = 'Kit Harington'")
        == 2
    )


def test_a_photo_unlike_every_sample_of_the_person_is_refused(cli: CLI, faces: FaceSet, db):
    people = faces.people()
    assert cli("register", "Kit Harington", str(people["kit_harington"][0])).returncode == 0
    r = cli("register", "Kit Harington", str(people["barack_obama"][0]))  # nobody registered looks like him
    assert r.returncode == 1
    assert "is unlike every sample of 'Kit Harington'" in r.stderr
    assert count(db, "SELECT count(*) FROM faces") == 1
    # A new pose of the same person passes.
    assert cli("register", "Kit Harington", str(people["kit_harington"][1])).returncode == 0
    # A new person from photos of two different people is refused too.
    r = cli("register", "Someone", str(people["joe_biden"][0]), str(people["barack_obama"][1]))
    assert r.returncode == 1 and "is unlike the other photos of 'Someone'" in r.stderr


def test_naming_a_group_of_someone_else_is_refused_unless_forced(cli: CLI, ctx: Context, faces: FaceSet, library, db):
    register_photos(ctx, "Mark Z", [faces.people()["deepface_mark"][0]])
    jennifer = group_of(ctx, "deepface_jennifer")
    before = rows(db)
    r = cli("people", "name", str(jennifer), "Mark Z")
    assert r.returncode == 1
    assert f"group {jennifer} is unlike the samples of 'Mark Z'" in r.stderr
    assert rows(db) == before
    with pytest.raises(LooksLikeSomeoneElseError):
        merge(ctx, str(jennifer), "Mark Z")
    assert rows(db) == before
    r = cli("people", "name", str(jennifer), "Mark Z", "--force")
    assert r.returncode == 0, r.stderr
    assert f"group {jennifer}: 6 faces are now 'Mark Z'" in r.stdout


def test_a_new_name_that_differs_only_by_case_or_accents_is_refused(cli: CLI, faces: FaceSet, db):
    photo = faces.people()["joe_biden"]
    assert cli("register", "Joe Biden", str(photo[0])).returncode == 0
    r = cli("register", "joe  biden", str(photo[1]))
    assert r.returncode == 1 and "did you mean 'Joe Biden'?" in r.stderr
    assert count(db, "SELECT count(*) FROM people") == 1
    r = cli("photos", "joe bidn")
    assert r.returncode == 1 and "no registered person named 'joe bidn'; did you mean 'Joe Biden'?" in r.stderr


def test_the_menu_asks_before_naming_a_group_after_someone_else(ctx: Context, faces: FaceSet, library, db, settings):
    import sys

    from tests.helpers import PROJECT, cli_env

    register_photos(ctx, "Mark Z", [faces.people()["deepface_mark"][0]])
    jennifer = group_of(ctx, "deepface_jennifer")
    before = rows(db)
    child = spawn_terminal(
        [sys.executable, str(PROJECT / "face_recognition.py")], env=cli_env(settings), encoding="utf-8", timeout=60
    )
    try:
        child.expect_exact("Choose an option: ")
        child.sendline("7")
        for answer in ("n", "y"):
            child.expect_exact("A group's number to name, merge, split or hide it")
            child.sendline(str(jennifer))
            child.expect_exact("1. Name it")
            child.expect_exact("Choose an option: ")
            child.sendline("1")
            child.expect_exact(f"Name for group {jennifer}: ")
            child.sendline("Mark Z")
            child.expect_exact("unlike the samples of 'Mark Z'")
            child.expect_exact("store them as 'Mark Z' anyway? [y/N] ")
            child.sendline(answer)
            if answer == "n":
                child.expect_exact("nothing stored")
                assert rows(db) == before
        child.expect_exact(f"group {jennifer}: 6 faces are now 'Mark Z'")
    finally:
        child.close(force=True)


# -- 2. every face can be seen and fixed -------------------------------------------------


def test_users_show_lists_each_face_and_remove_sample_keeps_the_person(cli: CLI, faces: FaceSet, db):
    photos = faces.people()["barack_obama"]
    assert cli("register", "Barack Obama", *map(str, photos[:3])).returncode == 0
    shown = json.loads(cli("--json", "users", "show", "Barack Obama").stdout)
    assert [f["picture"] for f in shown["faces"]] == [str(p) for p in sorted(photos[:3])]
    assert all(len(f["box"]) == 4 and f["added"] and f["source"] == "file" for f in shown["faces"])
    text = cli("users", "show", "Barack Obama").stdout
    wrong = shown["faces"][1]["face"]
    assert f"face {wrong}: {shown['faces'][1]['picture']} at " in text
    before = rows(db)

    r = cli("users", "remove-sample", str(wrong))
    assert r.returncode == 0 and f"face {wrong} is no longer a sample of 'Barack Obama'" in r.stdout
    assert [f["face"] for f in json.loads(cli("--json", "users", "show", "Barack Obama").stdout)["faces"]] == [
        shown["faces"][0]["face"],
        shown["faces"][2]["face"],
    ]
    assert cli("users", "remove-sample", "999999").returncode == 1
    assert cli("undo").returncode == 0
    assert rows(db) == before


def test_people_show_takes_a_name_and_split_takes_several_faces(ctx: Context, cli: CLI, faces: FaceSet, library):
    mark = group_of(ctx, "deepface_mark")
    name_group(ctx, mark, "Mark")
    shown = json.loads(cli("--json", "people", "show", "Mark").stdout)
    assert len(shown["faces"]) == 5 and all(f["source"] == "library" for f in shown["faces"])
    two = [str(f["face"]) for f in shown["faces"][:2]]
    r = cli("people", "split", *two)
    assert r.returncode == 0, r.stderr
    assert show_person(ctx, "Mark").samples == 3
    jennifer = group_of(ctx, "deepface_jennifer")
    members = [f.face_id for f in show_group(ctx, jennifer).faces]
    split_faces(ctx, members[:2])
    regroup(ctx)
    groups = {
        f.face_id: {x.face_id for x in show_group(ctx, g.id).faces} for g in people_view(ctx).groups for f in g.faces
    }
    assert groups[members[2]] == set(members[2:])  # the four others stay together, without the two


# -- 3. undo ----------------------------------------------------------------------------------


def test_a_wrong_people_name_is_reverted_exactly_by_one_undo(cli: CLI, ctx: Context, library, db):
    jennifer = group_of(ctx, "deepface_jennifer")
    before = rows(db)
    assert cli("people", "name", str(jennifer), "Mark").returncode == 0
    assert rows(db) != before
    r = cli("undo")
    assert r.returncode == 0 and f"named group {jennifer} 'Mark'" in r.stdout
    assert rows(db) == before


def test_a_wrong_merge_of_groups_and_of_people_is_reverted_exactly_by_one_undo(
    cli: CLI, ctx: Context, faces: FaceSet, library, db
):
    jennifer, mark = group_of(ctx, "deepface_jennifer"), group_of(ctx, "deepface_mark")
    before = rows(db)
    assert cli("people", "merge", str(jennifer), str(mark)).returncode == 1  # the guard: two people
    assert cli("people", "merge", str(jennifer), str(mark), "--force").returncode == 0
    assert count(db, "SELECT count(*) FROM face_groups WHERE group_id = %s", jennifer) == 11
    assert cli("undo").returncode == 0
    assert rows(db) == before

    name_group(ctx, jennifer, "Jennifer")
    name_group(ctx, mark, "Mark")
    before = rows(db)
    assert cli("people", "merge", "Jennifer", "Mark", "--force").returncode == 0
    assert count(db, "SELECT count(*) FROM people") == 1
    assert cli("undo").returncode == 0
    assert rows(db) == before
    # Undo goes on backwards, one change at a time, then says there is nothing left.
    for _ in range(2):
        undo(ctx)
    assert count(db, "SELECT count(*) FROM people") == 0
    with pytest.raises(NothingToUndoError):
        undo(ctx)


def test_a_registration_and_a_rename_are_undone_and_the_crops_go_with_them(cli: CLI, ctx, faces: FaceSet, db, settings):
    photos = faces.people()["deepface_angelina"]
    assert cli("register", "Angelina", str(photos[0])).returncode == 0
    empty_after_first = rows(db)
    assert cli("register", "Angelina", *map(str, photos[1:3])).returncode == 0
    assert len(list(settings.captures_dir.iterdir())) == 3
    assert cli("users", "rename", "Angelina", "Angie").returncode == 0
    assert cli("undo").returncode == 0
    assert [p.name for p in ctx.db.people.people()] == ["Angelina"]
    assert cli("undo").returncode == 0
    assert rows(db) == empty_after_first
    assert len(list(settings.captures_dir.iterdir())) == 1  # the undone samples' crops are gone
    entries = json.loads("[" + ",".join(lines(cli("--json", "history").stdout)) + "]")
    assert [e["action"] for e in entries] == ["undo", "undo", "rename", "register", "register"]
    assert [e["undone"] for e in entries] == [False, False, True, True, False]


def test_a_delete_is_an_erasure_the_journal_keeps_nothing_of_them(cli: CLI, ctx: Context, faces: FaceSet, db):
    photos = faces.people()["barack_obama"]
    register_photos(ctx, "Barack Obama", photos[:2])
    (face,) = [f.face_id for f in show_person(ctx, "Barack Obama").faces][:1]
    remove_samples(ctx, [face])  # a journal entry that holds a copy of his face row
    register_photos(ctx, "Joe Biden", faces.people()["joe_biden"][:1])
    delete_person(ctx, "Barack Obama")
    with db.transaction() as cur:
        cur.execute("SELECT summary, changes::text, files FROM journal")
        journal = cur.fetchall()
    assert all("Obama" not in (summary or "") + (changes or "") for summary, changes, _ in journal)
    entries = history(ctx).entries
    assert entries[0].action == "delete" and not entries[0].undoable
    r = cli("undo")  # the erasure is never passed over silently: it names the change before it
    assert r.returncode == 1 and "cannot be undone" in r.stderr and "'Joe Biden'" in r.stderr
    biden = next(e.id for e in entries if "'Joe Biden'" in e.summary)
    r = cli("undo", str(biden))
    assert r.returncode == 0 and "'Joe Biden'" in r.stdout
    r = cli("undo")  # Obama's earlier entries were erased with him: nothing left to undo
    assert r.returncode == 1 and "cannot be undone" in r.stderr
    assert count(db, "SELECT count(*) FROM people") == 0


# -- 4. one person at most once per photo --------------------------------------------------------


def test_in_a_photo_where_two_faces_are_nearest_one_person_only_one_gets_the_name(
    ctx: Context, faces: FaceSet, tmp_path
):
    photos = faces.people()["barack_obama"]
    register_photos(ctx, "Barack Obama", [photos[0]])
    tiles = []
    for photo in photos[1:3]:
        image = cv2.imread(str(photo))
        h, w = image.shape[:2]
        tiles.append(cv2.resize(image, (int(w * 600 / h), 600)))
    both = tmp_path / "two_obamas.jpg"
    cv2.imwrite(str(both), np.hstack(tiles))
    names = [r.name for r in recognize_photo(ctx, both).faces]
    assert len(names) == 2 and names.count("Barack Obama") == 1, names


# -- 5. nothing hidden -----------------------------------------------------------------------------


def test_search_lists_every_photo_of_the_person_as_many_as_photos(cli: CLI, ctx: Context, faces: FaceSet, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    photos = faces.people()["barack_obama"]
    for copy in range(5):
        for photo in photos:
            shutil.copy(photo, folder / f"{copy}_{photo.name}")
    index_folders(ctx, [folder], workers=1)
    assert cli("register", "Barack Obama", str(photos[0])).returncode == 0
    searched = [json.loads(line) for line in lines(cli("--json", "search", str(photos[0])).stdout)]
    listed = [json.loads(line) for line in lines(cli("--json", "photos", "Barack Obama").stdout)]
    assert len(searched) == len(listed) == 25
    assert {r["picture"] for r in searched} == {r["picture"] for r in listed}
    assert all(r["name"] == "Barack Obama" for r in searched)
    capped = cli("search", str(photos[0]), "--limit", "10")
    assert len([line for line in lines(capped.stdout) if "distance" in line]) == 10
    assert "... and 15 more photos (25 in all" in capped.stderr


# -- 7. consistent answers ------------------------------------------------------------------------------


def test_a_photo_with_no_face_is_one_line_and_exit_1_for_recognize(cli: CLI, faces: FaceSet):
    noface = str(faces.of_kind("noface")[0].path)
    r = cli("recognize", noface)
    assert r.returncode == 1 and lines(r.stderr) == [f"facerec: {noface}: no face found"]
    r = cli("--json", "recognize", noface)
    assert r.returncode == 1 and json.loads(r.stdout) == {"image": noface, "error": f"{noface}: no face found"}


def test_people_name_reports_faces_not_rows(cli: CLI, ctx: Context, library):
    cli("reembed", "--embedder", "sface-flip")  # a second model: every face now has two rows
    jennifer = group_of(ctx, "deepface_jennifer")
    r = cli("--json", "people", "name", str(jennifer), "Jennifer")
    assert json.loads(r.stdout)["faces"] == 6


def test_similar_names_in_the_api(ctx: Context, faces: FaceSet):
    register_photos(ctx, "José Pérez", [faces.people()["deepface_jack"][0]])
    with pytest.raises(SimilarNameError, match="did you mean 'José Pérez'"):
        register_photos(ctx, "jose perez", [faces.people()["deepface_jack"][1]])


def test_users_show_export_writes_a_sheet_of_the_persons_faces_cropped_around_each(
    cli: CLI, faces: FaceSet, tmp_path: Path
):
    from facerec.ui.sheets import CAPTION, TILE, grid
    from facerec.vision.pipeline import Pipeline

    detector = Pipeline.load("yunet", "sface").detector

    def ctx_detect(tile: np.ndarray) -> list:
        return detector.detect(tile)

    photos = faces.people()["barack_obama"][:3]
    assert cli("register", "Barack Obama", *map(str, photos)).returncode == 0
    r = cli("users", "show", "Barack Obama", "--export", str(tmp_path / "sheets"))
    assert r.returncode == 0, r.stderr
    assert "(3 faces)" in r.stderr
    (sheet,) = (tmp_path / "sheets").iterdir()
    assert oct(sheet.stat().st_mode & 0o777) == "0o600"
    image = cv2.imread(str(sheet))
    assert grid(3) == (2, 2) and image.shape[1] == 2 * TILE
    # Each tile is the face itself, not the whole photo: one face, centred, a third of the tile wide.
    for n in range(3):
        r_, c_ = divmod(n, 2)
        tile = image[r_ * (TILE + CAPTION) : r_ * (TILE + CAPTION) + TILE, c_ * TILE : (c_ + 1) * TILE]
        (face,) = ctx_detect(tile)
        cx, cy = face.box.x + face.box.w / 2, face.box.y + face.box.h / 2
        assert face.box.w > TILE * 0.25 and abs(cx - TILE / 2) < TILE * 0.1 and abs(cy - TILE / 2) < TILE * 0.15


def test_the_people_view_shows_a_person_at_most_once_per_photo(ctx: Context, faces: FaceSet, db, tmp_path: Path):
    photos = faces.people()["barack_obama"]
    copy = tmp_path / "obama.jpg"  # not a library photo: the sample is not one of the faces below
    shutil.copy(photos[0], copy)
    register_photos(ctx, "Barack Obama", [copy])
    folder = tmp_path / "library"
    folder.mkdir()
    tiles = []
    for photo in photos[1:3]:
        image = cv2.imread(str(photo))
        h, w = image.shape[:2]
        tiles.append(cv2.resize(image, (int(w * 600 / h), 600)))
    cv2.imwrite(str(folder / "two_obamas.jpg"), np.hstack(tiles))
    index_folders(ctx, [folder], workers=1)
    with db.transaction() as cur:
        cur.execute("SELECT state, matched_person_id IS NOT NULL FROM face_groups ORDER BY face_id")
        states = cur.fetchall()
    assert len(states) == 2 and sum(matched for _, matched in states) == 1, states
    (person,) = people_view(ctx).people
    assert (person.name, person.photos) == ("Barack Obama", 1)
