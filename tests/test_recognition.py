"""Registering and recognizing the real dev-set people through the application layer."""

from __future__ import annotations

import pytest

from facerec.app import FaceRec
from facerec.errors import FacerecError, InvalidNameError, PersonExistsError, PersonNotFoundError
from tests.conftest import FaceSet, count


def register_everyone(app: FaceRec, faces: FaceSet) -> dict[str, list]:
    """Register each person from their first photo; returns person -> other photos."""
    rest = {}
    for person, photos in faces.people().items():
        app.register_files(person, [photos[0]])
        rest[person] = photos[1:]
    return rest


def test_each_person_registered_from_one_photo_is_recognized_in_their_other_photos(app: FaceRec, faces: FaceSet):
    rest = register_everyone(app, faces)
    right = wrong = total = 0
    for person, photos in rest.items():
        for photo in photos:
            results = app.recognize_file(photo)
            assert results, f"no face found in {photo}"
            main = max(results, key=lambda r: r.face.box.area)
            total += 1
            if main.name == person:
                right += 1
            elif main.name is not None:
                wrong += 1
    assert total == 57
    assert wrong == 0
    assert right / total >= 0.98, f"rank-1 {right}/{total}"


def test_distractors_come_out_unknown(app: FaceRec, faces: FaceSet):
    register_everyone(app, faces)
    for photo in faces.of_kind("distractor"):
        results = app.recognize_file(photo.path)
        assert results, f"no face found in {photo.path}"
        assert all(r.name is None for r in results), (photo.path, results)
        assert all(r.distance is not None and r.distance > app.threshold for r in results)


def test_group_photos_yield_every_labelled_person(app: FaceRec, faces: FaceSet):
    register_everyone(app, faces)
    checked = 0
    for group in faces.of_kind("group"):
        labelled = {p for p in group.person.split(";") if p in faces.people()}
        results = app.recognize_file(group.path)
        if group.faces_in_photo:
            assert len(results) >= group.faces_in_photo, group.path
        if not labelled:
            continue
        found = {r.name for r in results}
        assert labelled <= found, (group.path, labelled, found)
        checked += 1
    assert checked >= 5


def test_a_photo_with_no_face_is_refused_and_nothing_is_written(app: FaceRec, faces: FaceSet):
    noface = faces.of_kind("noface")[0].path
    with pytest.raises(FacerecError, match="no face found"):
        app.register_files("nobody", [noface])
    assert count(app.store, "SELECT count(*) FROM people") == 0
    assert count(app.store, "SELECT count(*) FROM faces") == 0
    assert not (app.settings.captures_dir.exists() and any(app.settings.captures_dir.iterdir()))


def test_one_bad_photo_among_good_ones_registers_nothing(app: FaceRec, faces: FaceSet):
    good = faces.people()["barack_obama"][0]
    noface = faces.of_kind("noface")[0].path
    with pytest.raises(FacerecError, match="nothing registered"):
        app.register_files("obama", [good, noface])
    assert count(app.store, "SELECT count(*) FROM faces") == 0


def test_a_group_photo_needs_largest_to_register(app: FaceRec, faces: FaceSet):
    group = faces.photo("groups/fr_two_people.jpg")
    with pytest.raises(FacerecError, match="2 faces found; use --largest"):
        app.register_files("someone", [group])
    result = app.register_files("someone", [group], use_largest=True)
    assert result.added == 1


def test_several_samples_are_kept_and_counted(app: FaceRec, faces: FaceSet):
    photos = faces.people()["deepface_angelina"][:3]
    app.register_files("Angelina", photos)
    (person,) = app.people()
    assert person.name == "Angelina" and person.samples == 3
    assert len(app.person("Angelina").pictures) == 3
    # Registering more adds to the same person.
    result = app.register_files("Angelina", [faces.people()["deepface_angelina"][3]])
    assert not result.created and app.people()[0].samples == 4


def test_rename_keeps_the_samples_and_refuses_a_taken_name(app: FaceRec, faces: FaceSet):
    people = faces.people()
    app.register_files("obama", [people["barack_obama"][0]])
    app.register_files("biden", [people["joe_biden"][0]])
    app.rename("obama", "Barack Obama")
    assert [p.name for p in app.people()] == ["Barack Obama", "biden"]
    assert app.recognize_file(people["barack_obama"][1])[0].name == "Barack Obama"
    with pytest.raises(PersonExistsError):
        app.rename("biden", "Barack Obama")
    with pytest.raises(PersonNotFoundError):
        app.rename("nobody", "x")
    with pytest.raises(InvalidNameError):
        app.rename("biden", "   ")


def test_deleting_a_person_removes_every_row_and_stored_image_of_them(app: FaceRec, faces: FaceSet):
    people = faces.people()
    app.register_files("obama", people["barack_obama"][:3])
    app.register_files("biden", [people["joe_biden"][0]])
    pid = app.store.person_id("obama")
    crops = list(app.settings.captures_dir.iterdir())
    assert len(crops) == 4
    removed = app.delete("obama")
    assert removed == 3
    assert count(app.store, "SELECT count(*) FROM people WHERE id = %s", pid) == 0
    assert count(app.store, "SELECT count(*) FROM faces WHERE person_id = %s", pid) == 0
    assert count(app.store, "SELECT count(*) FROM pictures WHERE picture LIKE %s", "%barack_obama%") == 0
    assert len(list(app.settings.captures_dir.iterdir())) == 1
    # The other person is untouched and obama's photos are now Unknown.
    assert [p.name for p in app.people()] == ["biden"]
    assert app.recognize_file(people["barack_obama"][3])[0].name is None
    with pytest.raises(PersonNotFoundError):
        app.delete("obama")


def test_a_looser_threshold_names_more_and_a_strict_one_names_nobody(
    app: FaceRec, faces: FaceSet, settings, store, pipeline
):
    import dataclasses

    people = faces.people()
    app.register_files("obama", [people["barack_obama"][0]])
    strict = FaceRec(dataclasses.replace(settings, threshold=0.05), store=store, pipeline=pipeline)
    assert strict.recognize_file(people["barack_obama"][1])[0].name is None
    assert app.recognize_file(people["barack_obama"][1])[0].name == "obama"


def test_the_haar_detector_also_recognizes(app: FaceRec, faces: FaceSet, settings, store):
    import dataclasses

    haar = FaceRec(dataclasses.replace(settings, detector="haar"), store=store)
    people = faces.people()
    # The cascade sees false faces in the background of obama/1.jpg: hence --largest.
    haar.register_files("obama", [people["barack_obama"][0]], use_largest=True)
    haar.register_files("biden", [people["joe_biden"][0]], use_largest=True)
    names = {r.name for r in haar.recognize_file(faces.photo("groups/fr_two_people.jpg"))}
    assert {"obama", "biden"} <= names


def test_a_heic_photo_from_a_phone_is_read(app: FaceRec, faces: FaceSet, tmp_path):
    from PIL import Image

    people = faces.people()
    app.register_files("obama", [people["barack_obama"][0]])
    heic = tmp_path / "IMG_0001.HEIC"
    Image.open(people["barack_obama"][1]).save(heic, format="HEIF", quality=90)
    (result,) = app.recognize_file(heic)
    assert result.name == "obama"
