"""The command-line contract, run as a user runs it: a subprocess, real database, real photos."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import CLI, PROJECT, FaceSet, count


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_one_clean_error(result, fragment: str) -> None:
    err = lines(result.stderr)
    assert len(err) == 1, result.stderr
    assert fragment in err[0], err[0]
    assert "Traceback" not in result.stderr


def test_register_then_recognize_in_text_and_json(cli: CLI, faces: FaceSet):
    people = faces.people()
    r = cli("register", "obama", str(people["barack_obama"][0]))
    assert r.returncode == 0, r.stderr
    assert "registered 'obama': 1 sample(s)" in r.stdout
    assert cli("register", "biden", str(people["joe_biden"][0])).returncode == 0

    group = str(faces.photo("groups/fr_two_people.jpg"))
    r = cli("recognize", group)
    assert r.returncode == 0
    assert "obama (distance" in r.stdout and "biden (distance" in r.stdout

    for args in (["--json", "recognize", group], ["recognize", group, "--json"]):
        r = cli(*args)
        assert r.returncode == 0
        records = [json.loads(line) for line in lines(r.stdout)]
        assert {rec["name"] for rec in records} == {"obama", "biden"}
        for rec in records:
            assert set(rec) == {"image", "box", "name", "distance"}
            assert rec["image"] == group and len(rec["box"]) == 4 and 0 <= rec["distance"] < 0.57


def test_unknown_faces_are_a_success_with_a_null_name(cli: CLI, faces: FaceSet):
    cli("register", "obama", str(faces.people()["barack_obama"][0]))
    r = cli("--json", "recognize", str(faces.photo("distractors/amy_adams.jpg")))
    assert r.returncode == 0
    (rec,) = [json.loads(line) for line in lines(r.stdout)]
    assert rec["name"] is None and rec["distance"] > 0.57
    assert "Unknown (distance" in cli("recognize", str(faces.photo("distractors/amy_adams.jpg"))).stdout


def test_a_missing_image_fails_that_image_with_exit_1_and_a_json_error(cli: CLI, faces: FaceSet, tmp_path):
    good = str(faces.people()["barack_obama"][0])
    missing = str(tmp_path / "nope.jpg")
    r = cli("--json", "recognize", missing, good)
    assert r.returncode == 1
    records = [json.loads(line) for line in lines(r.stdout)]
    assert records[0] == {"image": missing, "error": f"{missing}: no such file"}
    assert records[1]["image"] == good and records[1]["name"] is None
    assert_one_clean_error(r, "no such file")


def test_registering_a_photo_without_a_face_is_refused_and_writes_nothing(cli: CLI, faces: FaceSet, db):
    r = cli("register", "nobody", str(faces.of_kind("noface")[0].path))
    assert r.returncode == 1
    assert_one_clean_error(r, "no face found")
    assert count(db, "SELECT count(*) FROM people") == 0
    assert count(db, "SELECT count(*) FROM pictures") == 0


def test_a_corrupt_image_and_a_text_file_get_one_line_each(cli: CLI, faces: FaceSet, tmp_path):
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(faces.people()["barack_obama"][0].read_bytes()[:2000])
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    for path, fragment in ((truncated, "corrupt or truncated"), (text, "not an image")):
        r = cli("recognize", str(path))
        assert r.returncode == 1
        assert_one_clean_error(r, fragment)


def test_embed_prints_a_unit_vector_per_face_and_stores_nothing(cli: CLI, faces: FaceSet, db):
    group = str(faces.photo("groups/fr_two_people.jpg"))
    r = cli("embed", group, "--json")
    assert r.returncode == 0
    records = [json.loads(line) for line in lines(r.stdout)]
    assert len(records) == 2
    for rec in records:
        assert rec["model"] == "sface" and len(rec["embedding"]) == 128
        assert abs(sum(v * v for v in rec["embedding"]) - 1.0) < 1e-3
    text = cli("embed", group)
    assert text.stdout.count("sface 128-d") == 2
    assert count(db, "SELECT count(*) FROM faces") == 0


def test_users_list_show_rename_delete(cli: CLI, faces: FaceSet, db):
    people = faces.people()
    cli("register", "Zoë O'Brien", *map(str, people["deepface_scarlett"][:2]))
    r = cli("users")
    assert r.returncode == 0 and "Zoë O'Brien" in r.stdout and "2" in r.stdout
    assert json.loads(cli("users", "list", "--json").stdout) == {"name": "Zoë O'Brien", "samples": 2}
    show = cli("users", "show", "Zoë O'Brien")
    assert show.returncode == 0 and str(people["deepface_scarlett"][0]) in show.stdout

    assert cli("users", "rename", "Zoë O'Brien", "Scarlett").returncode == 0
    r = cli("users", "delete", "Scarlett")
    assert r.returncode == 1
    assert_one_clean_error(r, "pass --yes")
    assert count(db, "SELECT count(*) FROM people") == 1

    r = cli("users", "delete", "Scarlett", "--yes")
    assert r.returncode == 0, r.stderr
    assert count(db, "SELECT count(*) FROM people") + count(db, "SELECT count(*) FROM faces") == 0

    r = cli("users", "show", "Scarlett")
    assert r.returncode == 1
    assert_one_clean_error(r, "no registered person named 'Scarlett'")


def test_bad_names_are_refused(cli: CLI, faces: FaceSet):
    photo = str(faces.people()["barack_obama"][0])
    for name, fragment in (("   ", "cannot be empty"), ("x" * 101, "at most 100"), ("a\nb", "control characters")):
        r = cli("register", name, photo)
        assert r.returncode == 1
        assert_one_clean_error(r, fragment)


def test_usage_errors_exit_2(cli: CLI):
    assert cli("recognize").returncode == 2
    assert cli("no-such-command").returncode == 2
    assert cli("--threshold", "abc", "users").returncode == 2


def test_no_arguments_opens_the_menu_and_end_of_input_leaves_cleanly(cli: CLI):
    r = cli(input="")
    assert r.returncode == 0
    assert "1. Start Face Recognition" in r.stdout and "3. Manage User Database" in r.stdout
    assert "Traceback" not in r.stderr


def test_a_bad_threshold_setting_is_one_line(cli: CLI):
    r = cli("users", FACEREC_THRESHOLD="loose")
    assert r.returncode == 1
    assert_one_clean_error(r, "FACEREC_THRESHOLD must be a number")


def test_people_registered_under_one_runtime_are_recognised_under_the_other(cli: CLI, faces: FaceSet):
    people = faces.people()
    assert cli("register", "obama", str(people["barack_obama"][0]), FACEREC_RUNTIME="opencv").returncode == 0
    assert cli("register", "biden", str(people["joe_biden"][0])).returncode == 0  # default: openvino
    group = str(faces.photo("groups/fr_two_people.jpg"))
    results = {}
    for runtime in ("openvino", "opencv"):
        r = cli("--json", "recognize", group, FACEREC_RUNTIME=runtime)
        assert r.returncode == 0, r.stderr
        results[runtime] = {rec["name"]: rec["distance"] for rec in map(json.loads, lines(r.stdout))}
    assert set(results["openvino"]) == {"obama", "biden"}
    for name, distance in results["openvino"].items():
        assert abs(distance - results["opencv"][name]) < 1e-4


def test_a_bad_runtime_setting_is_one_line(cli: CLI):
    r = cli("users", FACEREC_RUNTIME="cuda")
    assert r.returncode == 1
    assert_one_clean_error(r, "FACEREC_RUNTIME must be one of openvino, opencv, got 'cuda'")


def test_every_usage_error_exits_2_with_one_line(cli: CLI, faces: FaceSet, tmp_path):
    photo = str(faces.people()["barack_obama"][0])
    for args, fragment in (
        (["register", "bob"], "give photos of the person, or --camera"),
        (["register", "bob", photo, "--camera"], "either photos or --camera"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["evaluate"], "give a folder"),
        (["evaluate", "--pairs", str(tmp_path / "pairs.txt")], "--pairs needs --images"),
        (["search"], "the following arguments are required: image"),
        (["--threshold", "abc", "users"], "not a number"),
    ):
        r = cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert_one_clean_error(r, fragment)


def test_version_and_python_dash_m(cli: CLI):
    from facerec.version import __version__

    assert cli("--version").stdout.strip() == f"facerec {__version__}"
    r = subprocess.run(
        [sys.executable, "-m", "facerec", "--version"],
        capture_output=True,
        text=True,
        env={**cli.env, "PYTHONPATH": str(PROJECT)},
    )
    assert r.returncode == 0 and r.stdout.strip() == f"facerec {__version__}"


def test_log_lines_carry_their_level(cli: CLI, faces: FaceSet, tmp_path):
    r = cli("-v", "users", FACEREC_DATA_DIR=str(tmp_path / "new"))  # a new data directory: INFO lines
    assert r.returncode == 0, r.stderr
    assert "facerec: INFO: creating the embedded database in" in r.stderr
    r = cli("-vv", "register", "obama", str(faces.people()["barack_obama"][0]), process=True)  # loads the models
    assert r.returncode == 0
    assert "facerec: DEBUG: facerec.vision.runtime: loaded face_recognition_sface_2021dec.onnx" in r.stderr


def test_users_show_suggests_a_name_the_text_is_a_word_a_prefix_or_a_near_spelling_of(cli: CLI, ctx, faces: FaceSet):
    """Issue 20: `users show kit` found no "did you mean 'Kit Harington'"."""
    from facerec.usecases.people.register import register_photos

    people = faces.people()
    register_photos(ctx, "Kit Harington", people["kit_harington"][:1])
    register_photos(ctx, "Kitty Jones", people["deepface_jennifer"][:1])
    register_photos(ctx, "Kip", people["deepface_mark"][:1])
    register_photos(ctx, "Émile Zola", people["barack_obama"][:1])
    # a word of the name first, then a name starting with it, then a near spelling
    r = cli("users", "show", "kit")
    assert r.returncode == 1
    assert_one_clean_error(
        r, "no registered person named 'kit'; did you mean 'Kit Harington' or 'Kitty Jones' or 'Kip'?"
    )
    for typed, meant in [
        ("HARINGTON", "Kit Harington"),  # a word, any case
        ("kit har", "Kit Harington"),  # a prefix
        ("kit harrington", "Kit Harington"),  # one letter off
        ("emile", "Émile Zola"),  # accents ignored
        ("zolla", "Émile Zola"),
    ]:
        r = cli("users", "show", typed)
        assert r.returncode == 1
        assert_one_clean_error(r, f"no registered person named {typed!r}; did you mean {meant!r}?")
    r = cli("photos", "kity jones")
    assert "did you mean 'Kitty Jones'?" in r.stderr
    r = cli("users", "show", "Zed")
    assert_one_clean_error(r, "no registered person named 'Zed'")
    assert "did you mean" not in r.stderr


def test_names_are_listed_in_alphabetical_order_whatever_their_case_and_accents(cli: CLI, ctx, faces: FaceSet):
    """Issue 20: 'alice' sorted after 'Zoë'."""
    from facerec.usecases.people.register import register_photos

    people = faces.people()
    for name, person in [
        ("Zoë", "deepface_scarlett"),
        ("alice", "deepface_jennifer"),
        ("Bob", "deepface_mark"),
        ("émile", "barack_obama"),
        ("Anna", "deepface_angelina"),
    ]:
        register_photos(ctx, name, people[person][:1])
    expected = ["alice", "Anna", "Bob", "émile", "Zoë"]
    r = cli("users")
    assert r.returncode == 0, r.stderr
    assert [line.split()[0] for line in lines(r.stdout)[1:]] == expected
    assert [json.loads(line)["name"] for line in lines(cli("users", "--json").stdout)] == expected
    r = cli("people")
    assert r.returncode == 0, r.stderr
    listed = r.stdout.split("registered people", 1)[1].splitlines()[1:]
    assert [line.split(":")[0].strip() for line in listed[: len(expected)]] == expected
