"""Small commands users of similar tools expect: register --folder, verify, stats,
and albums (--link-to / --copy-to) of the photos a search finds."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.helpers import CLI, FaceSet, count


def labelled(faces: FaceSet, root: Path, people: dict[str, list[Path]]) -> Path:
    for name, photos in people.items():
        (root / name).mkdir(parents=True)
        for p in photos:
            shutil.copy(p, root / name / p.name)
    return root


# -- register --folder ------------------------------------------------------------------


def test_register_folder_registers_everyone_and_reports_each_name_going_on_after_a_refusal(
    cli: CLI, faces: FaceSet, db, tmp_path: Path
):
    people = faces.people()
    root = labelled(
        faces,
        tmp_path / "people",
        {
            "Barack Obama": people["barack_obama"][:2],
            "Nobody": [faces.of_kind("noface")[0].path],
            "Joe Biden": people["joe_biden"][:2],
        },
    )
    r = cli("register", "--folder", str(root))
    assert r.returncode == 1  # one name was refused
    lines = r.stdout.splitlines()  # one line per name, in the folder's name order
    assert lines[:2] == [
        "Barack Obama: registered, 2 of 2 photo(s) stored as samples",
        "Joe Biden: registered, 2 of 2 photo(s) stored as samples",
    ]
    assert len(lines) == 3 and lines[2].startswith("Nobody: nothing registered: ") and "no face found" in lines[2]
    assert "2 of 3 people registered from" in r.stderr
    assert count(db, "SELECT count(*) FROM people") == 2
    assert count(db, "SELECT count(*) FROM faces") == 4

    again = cli("--json", "register", "--folder", str(tmp_path))  # DIR/people/<name>/..., as evaluate reads it
    records = {rec["name"]: rec for rec in map(json.loads, again.stdout.splitlines())}
    assert set(records) == {"Barack Obama", "Joe Biden", "Nobody"}
    assert records["Barack Obama"]["created"] is False and records["Nobody"]["error"]


def test_register_folder_adds_a_folder_named_after_a_registered_person_to_them_and_says_why_nothing_is_new(
    cli: CLI, faces: FaceSet, db, tmp_path: Path
):
    biden = faces.people()["joe_biden"]
    root = labelled(faces, tmp_path / "people", {"joe_biden": biden[:2]})
    first = sorted((root / "joe_biden").iterdir())[0]
    assert cli("register", "Joe Biden", str(first)).returncode == 0
    r = cli("register", "--folder", str(root))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == [
        "joe_biden ('Joe Biden'): added to, 1 of 2 photo(s) stored as samples (1 were already)"
    ]
    again = cli("register", "--folder", str(root))
    assert again.stdout.splitlines() == [
        "joe_biden ('Joe Biden'): nothing new: its 2 photo(s) are 'Joe Biden''s samples already"
    ]
    assert count(db, "SELECT count(*) FROM people") == 1


def test_register_takes_options_anywhere_among_its_photos(cli: CLI, faces: FaceSet, db):
    r = cli("register", "Two", "--largest", str(faces.photo("groups/fr_two_people.jpg")))
    assert r.returncode == 0, r.stderr
    assert "registered 'Two': 1 sample" in r.stdout


def test_register_folder_refuses_a_name_with_it_and_a_missing_folder(cli: CLI, tmp_path: Path):
    r = cli("register", "Ada", "--folder", str(tmp_path))
    assert r.returncode == 2 and "give no name, photos or --camera" in r.stderr
    r = cli("register", "--folder", str(tmp_path / "nope"))
    assert r.returncode == 1 and r.stderr.strip() == f"facerec: {tmp_path / 'nope'}: no such folder"
    r = cli("register", "--folder", str(tmp_path))
    assert r.returncode == 1 and "no <name>/<photos> folders with photos in them" in r.stderr


# -- verify -------------------------------------------------------------------------------


def test_verify_says_same_person_or_not_with_the_distance_and_touches_no_database(faces: FaceSet, cli: CLI, tmp_path):
    obama, biden = faces.people()["barack_obama"], faces.people()["joe_biden"]
    no_db = {
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",  # nothing listens there
        "FACEREC_DATA_DIR": str(tmp_path / "never-created"),
    }
    r = cli("verify", str(obama[0]), str(obama[1]), **no_db)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("same person (distance 0.") and r.stdout.strip().endswith("threshold 0.57)")
    r = cli("--json", "verify", str(obama[0]), str(biden[0]), **no_db)
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert rec["same"] is False and rec["distance"] > 0.57 and rec["threshold"] == 0.57
    assert len(rec["box1"]) == 4 and len(rec["box2"]) == 4
    assert not (tmp_path / "never-created").exists()

    group = cli("verify", str(faces.photo("groups/fr_two_people.jpg")), str(obama[0]), **no_db)
    assert "2 faces; comparing the largest" in group.stderr
    noface = cli("verify", str(faces.of_kind("noface")[0].path), str(obama[0]), **no_db)
    assert noface.returncode == 1 and len(noface.stderr.strip().splitlines()) == 1
    assert "no face found" in noface.stderr


# -- stats -------------------------------------------------------------------------------


def test_stats_counts_photos_faces_people_groups_and_says_where_the_database_is(
    cli: CLI, faces: FaceSet, settings, tmp_path: Path
):
    folder = tmp_path / "album"
    folder.mkdir()
    for person in ("deepface_jennifer", "deepface_mark"):
        for photo in faces.people()[person][:3]:
            shutil.copy(photo, folder / f"{person}_{photo.name}")
    assert cli("register", "Obama", *map(str, faces.people()["barack_obama"][:2])).returncode == 0
    assert cli("index", str(folder)).returncode == 0
    assert cli("people").returncode == 0
    r = cli("--json", "stats")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert (s["photos"], s["faces"], s["people"], s["samples"], s["groups"]) == (6, 6, 1, 2, 2)
    assert s["database"] == str(settings.pgdata) and s["embedded"] is True and s["size_bytes"] > 1_000_000
    text = cli("stats").stdout
    assert "photos indexed" in text and f"{settings.pgdata} (embedded)" in text and " MB" in text


# -- albums -------------------------------------------------------------------------------


def test_search_link_to_makes_an_album_of_links_and_photos_copy_to_one_of_private_copies(
    cli: CLI, faces: FaceSet, tmp_path: Path
):
    folder = tmp_path / "library"
    (folder / "b").mkdir(parents=True)
    mark = faces.people()["deepface_mark"]
    shutil.copy(mark[0], folder / "1.jpg")
    shutil.copy(mark[1], folder / "b" / "1.jpg")  # the same file name in another folder
    shutil.copy(mark[2], folder / "m2.jpg")
    shutil.copy(faces.people()["deepface_jennifer"][0], folder / "jennifer.jpg")
    assert cli("index", str(folder)).returncode == 0

    album = tmp_path / "album"
    r = cli("search", str(mark[3]), "--link-to", str(album))
    assert r.returncode == 0, r.stderr
    assert f"album: {album} (3 new links)" in r.stderr
    entries = sorted(os.listdir(album))
    assert entries == ["1 (2).jpg", "1.jpg", "m2.jpg"]
    targets = {os.path.realpath(album / e) for e in entries}
    assert targets == {str(folder / "1.jpg"), str(folder / "b" / "1.jpg"), str(folder / "m2.jpg")}
    assert all((album / e).is_symlink() for e in entries)
    again = cli("search", str(mark[3]), "--link-to", str(album))
    assert f"album: {album} (0 new links, 3 already there)" in again.stderr
    assert sorted(os.listdir(album)) == entries

    assert cli("register", "Mark", str(mark[3])).returncode == 0
    copies = tmp_path / "copies"
    r = cli("photos", "Mark", "--copy-to", str(copies))
    assert r.returncode == 0, r.stderr
    assert f"album: {copies} (3 new copies)" in r.stderr
    for entry in copies.iterdir():
        assert not entry.is_symlink() and oct(entry.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.read_bytes() for p in copies.iterdir()) == sorted(
        p.read_bytes() for p in (folder / "1.jpg", folder / "b" / "1.jpg", folder / "m2.jpg")
    )
    both = cli("photos", "Mark", "--copy-to", str(copies), "--link-to", str(album))
    assert both.returncode == 2 and "either --link-to or --copy-to" in both.stderr
