"""Names travel with the photos (issue 23), through the product: `index` reads face
regions other tools wrote (exiftool here, as the reference writer), `xmp export`
writes them for other tools (exiftool reads them back), `undo` puts old sidecars
back, and `import` brings names in from Takeout and Picasa folders made here."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image as PILImage
from starlette.testclient import TestClient

from facerec.db import Database
from facerec.errors import MetadataError
from facerec.types import Box
from facerec.usecases.context import Context
from facerec.usecases.groups.suggest import answer_near_miss, near_misses
from facerec.usecases.journal import redo, undo
from facerec.usecases.library.index import IndexReport, index_folders
from facerec.usecases.metadata.export import export_regions
from facerec.usecases.metadata.importing import import_names
from facerec.usecases.people.register import register_photos
from facerec.vision.images import load_image
from facerec.vision.pipeline import Pipeline
from facerec.web.app import create_app
from facerec.web.security import cookie_name, new_secrets
from tests.helpers import CLI, FaceSet, skip_or_fail, wipe
from tests.test_import_sources import takeout_json
from tests.test_xmp import (
    area_rect,
    as_list,
    close,
    detected,
    exiftool_json,
    facerec_regions,
    mp_argument,
    mp_list,
    mp_rect,
    mwg_argument,
    other_tools_sidecar,
    region_list,
    run_exiftool,
    stored_fractions,
    turned_copy,
    upright_pixels,
)

SIX = "groups/cf_015_6.jpg"  # six faces in a row
TWO = "groups/fr_two_people.jpg"  # Barack Obama (left), Joe Biden (right)
SIX_NAMES = ["Ada Lovelace", "Grace Hopper", "Zoë Ñúñez", "Жанна", "李娜", "O'Brien & Sons"]


@pytest.fixture(scope="module")
def exiftool() -> str:
    """exiftool, the reference reader and writer of XMP regions."""
    path = shutil.which("exiftool")
    if path is None:
        skip_or_fail("exiftool is not installed (apt-get install libimage-exiftool-perl)")
    assert path is not None
    return path


def named_faces(db: Database, photo: Path) -> list[tuple[str, Box]]:
    """(name, box) of the named faces of one photo, from the database."""
    with db.transaction() as cur:
        cur.execute(
            "SELECT pe.name, f.box FROM faces f JOIN pictures p ON p.id = f.picture_id"
            " JOIN people pe ON pe.id = f.person_id WHERE p.picture = %s ORDER BY f.box[1]",
            (str(photo),),
        )
        return [(n, Box(*b)) for n, b in cur.fetchall()]


def photo_in(folder: Path, source: Path, name: str) -> Path:
    """A copy of `source` named `name` in a new `folder`."""
    folder.mkdir()
    return Path(shutil.copyfile(source, folder / name))


def index(ctx: Context, *folders: Path) -> IndexReport:
    return index_folders(ctx, [str(f) for f in folders], workers=1)


def picasa_rect(fractions: tuple[float, float, float, float]) -> str:
    return "".join(f"{round(v * 65535):04x}" for v in fractions).lstrip("0") or "0"


def upright_size(photo: Path) -> tuple[int, int]:
    image = load_image(photo)
    return image.width, image.height


def stored_size(photo: Path) -> tuple[int, int]:
    with PILImage.open(photo) as img:
        return img.size


@pytest.fixture(scope="module")
def library(faces: FaceSet, pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    """The six-face photo turned by EXIF (6 and 8), and the faces YuNet finds in each, left to right."""
    folder = tmp_path_factory.mktemp("turned")
    out = {}
    for orientation in (6, 8):
        photo = folder / f"six-{orientation}.jpg"
        turned_copy(faces.photo(SIX), photo, orientation)
        boxes = detected(pipeline, photo)
        assert len(boxes) == 6, boxes
        out[str(orientation)] = (photo, boxes)
    return out


def fresh_folder(tmp_path: Path, library: dict[str, tuple]) -> tuple[Path, Path, Path, list[Box], list[Box]]:
    folder = tmp_path / "photos"
    folder.mkdir()
    a = folder / "six-6.jpg"
    b = folder / "six-8.jpg"
    shutil.copyfile(library["6"][0], a)
    shutil.copyfile(library["8"][0], b)
    return folder, a, b, library["6"][1], library["8"][1]


def regions_for(photo: Path, boxes: list[Box], names: list[str], orientation: int) -> list[tuple[str, tuple]]:
    width, height = upright_size(photo)
    return [(n, stored_fractions(b, width, height, orientation)) for n, b in zip(names, boxes)]


# -- reading while indexing -----------------------------------------------------------------------------


def test_regions_exiftool_wrote_index_with_the_right_names_on_the_right_faces(
    exiftool: str, ctx: Context, db: Database, library: dict[str, tuple], tmp_path: Path
):
    folder, a, b, boxes_a, boxes_b = fresh_folder(tmp_path, library)
    # a: MWG regions in a digiKam-style sidecar (photo.jpg.xmp), orientation 6
    run_exiftool(exiftool, "-q", mwg_argument(regions_for(a, boxes_a, SIX_NAMES, 6), stored_size(a)),
                 a.with_name(a.name + ".xmp"))  # fmt: skip
    # b: the same six stored the other way (orientation 8), Microsoft regions inside the photo itself
    names_b = SIX_NAMES
    run_exiftool(exiftool, "-q", "-overwrite_original", mp_argument(regions_for(b, boxes_b, names_b, 8)), b)

    report = index(ctx, folder)

    assert report.names is not None and report.names.photos == 2
    tally = report.names.tally
    assert (tally.named, tally.refused, tally.asked) == (12, 0, 0), tally.lines
    assert tally.confirmed == 6  # the second photo's faces already look like the names the first one gave
    for photo, boxes, names in ((a, boxes_a, SIX_NAMES), (b, boxes_b, names_b)):
        got = named_faces(db, photo)
        assert [n for n, _ in got] == names, photo
        assert all(close(box, want, 2.0) for (_, box), want in zip(got, boxes)), (got, boxes)


def test_a_region_that_contradicts_a_registered_person_is_reported_and_not_applied(
    exiftool: str, ctx: Context, db: Database, faces: FaceSet, pipeline: Pipeline, tmp_path: Path, cli: CLI
):
    register_photos(ctx, "Barack Obama", faces.people()["barack_obama"][:2])
    photo = photo_in(tmp_path / "photos", faces.photo(TWO), "two.jpg")
    folder = photo.parent
    obama, biden = detected(pipeline, photo)
    size = stored_size(photo)
    regions = [("Joe Biden", stored_fractions(obama, *size, 1)), ("Kamala", stored_fractions(biden, *size, 1))]
    run_exiftool(exiftool, "-q", mwg_argument(regions, size), photo.with_suffix(".xmp"))

    result = cli("index", str(folder), "--workers", "1")

    assert result.returncode == 0, result.stderr
    assert "'Joe Biden' refused by the guard" in result.stdout and "'Barack Obama'" in result.stdout
    assert "names from photo metadata: 1 named (0 confirmed by a look), 0 left to ask, 1 refused" in result.stdout
    assert named_faces(db, photo) == [("Kamala", named_faces(db, photo)[0][1])]
    pending = cli("xmp", "pending")
    assert f"{photo}: 'Joe Biden' refused by the guard: face " in pending.stdout
    assert "1 name from files not on a face" in pending.stdout
    with db.transaction() as cur:
        cur.execute("SELECT state, name FROM region_names ORDER BY name")
        assert cur.fetchall() == [("refused", "Joe Biden"), ("named", "Kamala")]


def test_a_region_unlike_the_named_person_is_left_to_confirm_and_the_user_can_confirm_it(
    exiftool: str, ctx: Context, db: Database, faces: FaceSet, pipeline: Pipeline, tmp_path: Path
):
    register_photos(ctx, "Barack Obama", faces.people()["barack_obama"][:2])
    photo = photo_in(tmp_path / "photos", faces.photo(TWO), "two.jpg")
    folder = photo.parent
    _, biden = detected(pipeline, photo)
    size = stored_size(photo)
    run_exiftool(exiftool, "-q", mwg_argument([("Barack Obama", stored_fractions(biden, *size, 1))], size),
                 photo.with_name(photo.name + ".xmp"))  # fmt: skip

    report = index(ctx, folder)

    assert report.names is not None and (report.names.tally.asked, report.names.tally.named) == (1, 0)
    (line,) = report.names.tally.lines
    assert "'Barack Obama' left to confirm" in line and "is unlike every sample of 'Barack Obama'" in line
    assert named_faces(db, photo) == []
    with db.transaction() as cur:
        cur.execute("SELECT face_id, state FROM region_names")
        ((face_id, state),) = cur.fetchall()
    assert state == "ask" and f"'people is 'Barack Obama' {face_id} --force'" in line
    answer_near_miss(ctx, "Barack Obama", [face_id], True, force=True)  # the user says yes
    assert [n for n, _ in named_faces(db, photo)] == ["Barack Obama"]


def test_a_changed_sidecar_updates_what_came_from_it_and_the_users_name_wins(
    exiftool: str, ctx: Context, db: Database, faces: FaceSet, pipeline: Pipeline, tmp_path: Path
):
    photo = photo_in(tmp_path / "photos", faces.photo(TWO), "two.jpg")
    folder = photo.parent
    obama, biden = detected(pipeline, photo)
    size = stored_size(photo)
    sidecar = photo.with_name(photo.name + ".xmp")
    first = [("Barack", stored_fractions(obama, *size, 1)), ("Joe", stored_fractions(biden, *size, 1))]
    run_exiftool(exiftool, "-q", mwg_argument(first, size), sidecar)
    index(ctx, folder)
    assert [n for n, _ in named_faces(db, photo)] == ["Barack", "Joe"]
    # The user renames Joe's face in facerec (a new person) ...
    joe_face = ctx.db.library.search(ctx.db.people.vectors(ctx.db.people.person_id("Joe")), 0.01)[0][0].face_id
    ctx.db.people.attach([joe_face], "Joe Biden", "test: the user names the face")
    # ... and the sidecar changes both names (another tool edited it).
    sidecar.unlink()
    second = [("Barack Obama", stored_fractions(obama, *size, 1)), ("Joseph", stored_fractions(biden, *size, 1))]
    run_exiftool(exiftool, "-q", mwg_argument(second, size), sidecar)

    again = index(ctx, folder)

    assert again.skipped == 1 and again.names is not None and again.names.photos == 1
    assert [n for n, _ in named_faces(db, photo)] == ["Barack Obama", "Joe Biden"]
    assert again.names.tally.kept == 1
    # Unchanged files: nothing is read again.
    assert index(ctx, folder).names.photos == 0  # type: ignore[union-attr]


# -- writing, and reading back ------------------------------------------------------------------------------


def test_export_is_read_back_by_exiftool_keeps_other_tags_and_every_name_comes_back_after_a_wipe(
    exiftool: str, ctx: Context, db: Database, settings, library: dict[str, tuple], tmp_path: Path
):
    folder, a, b, boxes_a, boxes_b = fresh_folder(tmp_path, library)
    # Name the faces in facerec: through a sidecar of a's, then remove it (the names stay in facerec)
    helper = a.with_name(a.name + ".xmp")
    run_exiftool(exiftool, "-q", mwg_argument(regions_for(a, boxes_a, SIX_NAMES, 6), stored_size(a)), helper)
    index(ctx, folder)
    helper.unlink()
    index(ctx, folder)  # the sidecar is gone: names that only it gave are taken off ...
    assert named_faces(db, a) == []
    undo(ctx)  # ... and that is undoable like any change
    assert [n for n, _ in named_faces(db, a)] == SIX_NAMES
    # b has a sidecar of another tool (digiKam-like) with tags and a region of its own
    sidecar_b = b.with_name(b.name + ".xmp")
    other_tools_sidecar(exiftool, sidecar_b, stored_size(b))
    before_b = exiftool_json(exiftool, sidecar_b)
    old_bytes = sidecar_b.read_bytes()

    done = export_regions(ctx, [str(folder)])

    assert sorted(done.written) == [str(a.with_name(a.name + ".xmp"))]  # b has no named face yet
    ours = facerec_regions(exiftool_json(exiftool, a.with_name(a.name + ".xmp")))
    width, height = upright_size(a)
    for name, box in zip(SIX_NAMES, boxes_a):
        (region,) = [r for r in ours if r["Name"] == name]
        assert close(upright_pixels(area_rect(region), width, height, 6), box, 1.0), (name, region)
    # Name b's faces too (the same six people: by search), export again, person by person
    for name in SIX_NAMES:
        hits = ctx.db.library.search(ctx.db.people.vectors(ctx.db.people.person_id(name)), 0.5)[0]
        face = next(h for h in hits if h.picture == str(b))
        ctx.db.people.attach([face.face_id], name, "test")
    done = export_regions(ctx, [str(b)], person="Ada Lovelace")
    assert done.written == [str(sidecar_b)] and done.faces == 6 and done.kept == 2
    after_b = exiftool_json(exiftool, sidecar_b)
    for tag in ("Subject", "Rating", "TagsList"):
        assert after_b[tag] == before_b[tag], tag
    assert [r for r in region_list(after_b) if r not in facerec_regions(after_b)] == region_list(before_b)
    assert {r["PersonDisplayName"] for r in mp_list(after_b)} >= set(SIX_NAMES)
    width, height = upright_size(b)
    for region in mp_list(after_b):
        if region.get("PersonDisplayName") in SIX_NAMES:
            box = boxes_b[SIX_NAMES.index(region["PersonDisplayName"])]
            assert close(upright_pixels(mp_rect(region), width, height, 8), box, 1.0)
    assert set(as_list(after_b["PersonInImage"])) >= set(SIX_NAMES)

    # Undo the last export: b's sidecar is exactly the other tool's again
    undo(ctx)
    assert sidecar_b.read_bytes() == old_bytes

    # Wipe the database, index: every name comes back from a's sidecar
    wipe(db, settings)
    report = index(ctx, folder)
    assert report.names is not None and report.names.tally.named == 6
    assert [n for n, _ in named_faces(db, a)] == SIX_NAMES
    assert named_faces(db, b) == []  # b's export was undone


def test_undo_of_an_export_removes_a_new_sidecar_and_refuses_when_it_changed_since(
    ctx: Context, db: Database, faces: FaceSet, tmp_path: Path
):
    photo = photo_in(tmp_path / "photos", faces.people()["barack_obama"][0], "obama.jpg")
    register_photos(ctx, "Barack Obama", [photo])
    sidecar = photo.with_name(photo.name + ".xmp")

    done = export_regions(ctx, person="Barack Obama")
    assert done.written == [str(sidecar)] and sidecar.exists() and done.entry is not None
    assert export_regions(ctx, person="Barack Obama").unchanged == 1  # nothing to write twice

    sidecar.write_bytes(sidecar.read_bytes() + b"\n")  # another program touched it
    with pytest.raises(MetadataError, match="changed since facerec wrote it; nothing was undone"):
        undo(ctx)
    assert ctx.db.journal.history(1)[0].id == done.entry and ctx.db.journal.history(1)[0].undoable
    sidecar.write_bytes(sidecar.read_bytes()[:-1])
    undo(ctx)
    assert not sidecar.exists()
    redo(ctx)  # the entry is back (the files are not written again) ...
    undo(ctx)  # ... and undoing it again is no trap: the files are as they were already
    assert not sidecar.exists()
    (entry,) = [e for e in ctx.db.journal.history(10) if e.id == done.entry]
    assert entry.undone_by is not None and not entry.undoable


# -- importing from other tools ----------------------------------------------------------------------------


def test_takeout_and_picasa_folders_import_with_the_right_names_and_a_contradiction_is_refused(
    ctx: Context, db: Database, faces: FaceSet, pipeline: Pipeline, tmp_path: Path, cli: CLI
):
    people = faces.people()
    register_photos(ctx, "Barack Obama", people["barack_obama"][:2])
    # Takeout: one face, one name; two faces and two names (Obama's face by his look); a contradiction
    takeout = tmp_path / "Takeout" / "Google Photos" / "Photos from 2020"
    takeout.mkdir(parents=True)
    shutil.copyfile(people["kit_harington"][0], takeout / "IMG_0001.jpg")
    takeout_json(takeout, "IMG_0001.jpg", ["Kit Harington"])
    shutil.copyfile(faces.photo(TWO), takeout / "IMG_0002.jpg")
    takeout_json(takeout, "IMG_0002.jpg", ["Joe Biden", "barack  obama"])  # the registered name, spelt loosely
    shutil.copyfile(people["barack_obama"][2], takeout / "IMG_0003.jpg")
    takeout_json(takeout, "IMG_0003.jpg", ["Rose Leslie"])
    # Picasa: boxes of the stored image, names from contacts.xml and [Contacts2]
    picasa = tmp_path / "Pictures" / "2009"
    picasa.mkdir(parents=True)
    two = picasa / "two.jpg"
    turned_copy(faces.photo(TWO), two, 6)  # Picasa's rectangles are of the stored image
    obama, biden = detected(pipeline, two)
    width, height = upright_size(two)
    rects = [picasa_rect(stored_fractions(box, width, height, 6)) for box in (obama, biden)]
    (picasa / ".picasa.ini").write_text(
        f"[two.jpg]\nfaces=rect64({rects[0]}),aaaa;rect64({rects[1]}),bbbb\n[Contacts2]\nbbbb=Joe Biden;;\n"
    )
    (picasa / "contacts.xml").write_text('<contacts><contact id="aaaa" name="Barack Obama"/></contacts>')

    done = cli("import", str(takeout.parent.parent))
    assert done.returncode == 0, done.stderr
    assert "IMG_0003.jpg: 'Rose Leslie' refused by the guard" in done.stdout
    assert "looks like registered person 'Barack Obama'" in done.stdout
    assert "3 named (1 confirmed by a look), 0 left to ask, 1 refused by the guard" in done.stdout
    # IMG_0001 (one face, one name, a new person): named; IMG_0002: Obama by his look, Biden the face left
    assert [n for n, _ in named_faces(db, takeout / "IMG_0001.jpg")] == ["Kit Harington"]
    assert [n for n, _ in named_faces(db, takeout / "IMG_0002.jpg")] == ["Barack Obama", "Joe Biden"]
    assert named_faces(db, takeout / "IMG_0003.jpg") == []  # Obama's face is not Rose Leslie
    assert sorted(ctx.db.people.names()) == ["Barack Obama", "Joe Biden", "Kit Harington"]
    # Importing again changes nothing and says the same
    got = import_names(ctx, takeout.parent.parent)
    assert (got.sources[0].named, got.sources[0].refused) == (3, 1)

    result = import_names(ctx, picasa)
    (tally,) = result.sources
    assert tally.source.startswith("Picasa") and (tally.named, tally.refused) == (2, 0)
    assert [n for n, _ in named_faces(db, two)] == ["Barack Obama", "Joe Biden"]
    assert [close(b, want, 2.0) for (_, b), want in zip(named_faces(db, two), (obama, biden))] == [True, True]


def test_a_name_that_could_not_be_placed_is_asked_about_as_is_this_x(ctx: Context, faces: FaceSet, tmp_path: Path):
    """A Takeout name with no face to put it on (two unnamed faces, neither like them) is
    kept as a hint, and the person's "is this X?" questions ask about that photo."""
    register_photos(ctx, "Kit Harington", faces.people()["kit_harington"][:1])
    folder = tmp_path / "Takeout" / "Google Photos" / "Party"
    folder.mkdir(parents=True)
    shutil.copyfile(faces.photo(TWO), folder / "IMG_0100.jpg")
    takeout_json(folder, "IMG_0100.jpg", ["Kit Harington"])
    assert near_misses(ctx, "Kit Harington").matches == []  # nothing like him in the library
    (tally,) = import_names(ctx, folder.parent.parent).sources
    assert (tally.named, tally.hints) == (0, 1)
    asked = near_misses(ctx, "Kit Harington")
    assert [Path(m.picture).name for m in asked.matches] == ["IMG_0100.jpg"]
    assert asked.matches[0].distance > ctx.threshold + ctx.numbers.question_band  # beyond the band: the hint asks
    # Answering "no" to that face, then asking again: the photo's other face is asked about.
    first = asked.matches[0].hit.face_id
    answer_near_miss(ctx, "Kit Harington", [first], False)
    again = near_misses(ctx, "Kit Harington").matches
    assert [Path(m.picture).name for m in again] == ["IMG_0100.jpg"] and again[0].hit.face_id != first


# -- the edges: the command line and the person page's button ---------------------------------------------


def test_xmp_export_on_the_command_line_and_the_person_pages_button(
    exiftool: str, ctx: Context, db: Database, faces: FaceSet, tmp_path: Path, cli: CLI
):
    folder = tmp_path / "photos"
    folder.mkdir()
    kit, obama = folder / "kit.jpg", folder / "obama.jpg"
    shutil.copyfile(faces.people()["kit_harington"][0], kit)
    shutil.copyfile(faces.people()["barack_obama"][0], obama)
    register_photos(ctx, "Kit Harington", [kit])
    register_photos(ctx, "Barack Obama", [obama])

    assert cli("xmp").returncode == 2  # which action?
    done = cli("xmp", "export", str(folder), "--person", "Kit Harington")
    assert done.returncode == 0, done.stderr
    assert f"wrote {kit}.xmp" in done.stdout and "1 sidecar written (1 face regions" in done.stdout
    assert not Path(f"{obama}.xmp").exists()
    assert as_list(exiftool_json(exiftool, Path(f"{kit}.xmp"))["PersonInImage"]) == ["Kit Harington"]
    refused = cli("xmp", "export", "--person", "Kit Haringtn")
    assert refused.returncode != 0 and "did you mean 'Kit Harington'" in refused.stderr

    keys = new_secrets()
    with TestClient(create_app(ctx, keys, index_workers=1), base_url="http://127.0.0.1:8765") as web:
        web.cookies.set(cookie_name(8765), keys.token)
        page = web.get("/person?name=Barack+Obama")
        assert 'action="/person/xmp-export"' in page.text
        assert web.post("/person/xmp-export", data={"name": "Barack Obama"}).status_code == 403  # no CSRF token
        assert not Path(f"{obama}.xmp").exists()
        r = web.post("/person/xmp-export", data={"csrf": keys.csrf, "name": "Barack Obama"}, follow_redirects=True)
        assert r.status_code == 200 and "1 sidecar written" in r.text
    assert as_list(exiftool_json(exiftool, Path(f"{obama}.xmp"))["PersonInImage"]) == ["Barack Obama"]
    undo(ctx)
    assert not Path(f"{obama}.xmp").exists() and Path(f"{kit}.xmp").exists()
    menu = cli(input="3\nx\nBarack Obama\n0\n0\n")  # the menu: Manage User Database, x
    assert menu.returncode == 0 and "1 sidecar written" in menu.stdout and Path(f"{obama}.xmp").exists()


def test_a_photo_whose_file_name_is_not_utf8_exports_and_gets_its_name_back(
    ctx: Context, db: Database, settings, faces: FaceSet, tmp_path: Path
):
    folder = tmp_path / "album"
    folder.mkdir()
    raw = os.fsencode(folder) + b"/caf\xe9 \xff.jpg"  # Latin-1 bytes: not UTF-8
    with open(raw, "wb") as fh:
        fh.write(faces.people()["kit_harington"][0].read_bytes())
    index(ctx, folder)
    ((face,),) = [[h.face_id for h in hits] for hits in ctx.db.library.search([face_vector(ctx)], 2.0)]
    ctx.db.people.attach([face], "Kit Harington", "test")

    done = export_regions(ctx, [str(folder)])

    assert done.written == [str(folder) + "/caf\\xe9 \\xff.jpg.xmp"]  # as the database and the output spell it
    assert os.path.exists(raw + b".xmp")
    wipe(db, settings)
    report = index(ctx, folder)
    assert report.names is not None and report.names.tally.named == 1
    assert ctx.db.people.names() == ["Kit Harington"]


def face_vector(ctx: Context):
    """The vector of the only face in the library."""
    with ctx.database.transaction() as cur:
        cur.execute("SELECT id FROM faces")
        ((face_id,),) = cur.fetchall()
    return ctx.db.library.face_vectors([face_id])[0]


def test_a_named_region_where_the_detector_saw_no_face_becomes_a_face_or_a_hint(
    exiftool: str, ctx: Context, db: Database, faces: FaceSet, pipeline: Pipeline, tmp_path: Path
):
    photo = photo_in(tmp_path / "photos", faces.photo(TWO), "two.jpg")
    folder = photo.parent
    obama, biden = detected(pipeline, photo)
    index(ctx, folder)
    with db.transaction() as cur:  # as if YuNet had missed Biden
        cur.execute("DELETE FROM faces WHERE box[1] = %s", (biden.x,))
        assert cur.rowcount >= 1
    size = stored_size(photo)
    blank = Box(5, 5, 60, 60)  # a corner of the photo with no face
    regions = [("Barack Obama", obama), ("Joe Biden", biden), ("Nobody", blank)]
    run_exiftool(exiftool, "-q", mwg_argument([(n, stored_fractions(b, *size, 1)) for n, b in regions], size),
                 photo.with_name(photo.name + ".xmp"))  # fmt: skip

    report = index(ctx, folder)

    tally = report.names.tally  # type: ignore[union-attr]
    assert (tally.named, tally.missed, tally.hints) == (2, 1, 1), tally
    got = named_faces(db, photo)
    assert [n for n, _ in got] == ["Barack Obama", "Joe Biden"]
    assert got[1][1] == biden  # the face found again is the region's box, embedded there
    # ... and it is Biden: his other photo finds it
    hits = ctx.db.library.search(ctx.db.people.vectors(ctx.db.people.person_id("Joe Biden")), ctx.threshold)[0]
    assert [h.picture for h in hits] == [str(photo)]
    with db.transaction() as cur:
        cur.execute("SELECT state FROM region_names WHERE name = 'Nobody'")
        assert cur.fetchall() == [("hint",)]


def test_in_place_export_changes_only_the_photos_xmp_and_undo_gives_back_its_bytes(
    exiftool: str, ctx: Context, db: Database, faces: FaceSet, tmp_path: Path
):
    photo = photo_in(tmp_path / "photos", faces.people()["kit_harington"][0], "kit.jpg")
    register_photos(ctx, "Kit Harington", [photo])
    before = photo.read_bytes()
    pixels = load_image(photo).pixels
    copies = ctx.settings.data_dir / "sidecars"
    kept = set(copies.iterdir()) if copies.exists() else set()

    done = export_regions(ctx, [str(photo)], in_place=True)

    assert done.written == [str(photo)] and not Path(f"{photo}.xmp").exists()
    data = exiftool_json(exiftool, photo)
    assert [r["Name"] for r in facerec_regions(data)] == ["Kit Harington"]
    assert (load_image(photo).pixels == pixels).all()  # the same pixels, only the XMP changed
    (copy,) = set(copies.iterdir()) - kept  # the photo's old bytes, kept for undo
    assert copy.read_bytes() == before and copy.stat().st_mode & 0o077 == 0
    undo(ctx)
    assert photo.read_bytes() == before
    assert not copy.exists()  # the copy went with the undo
