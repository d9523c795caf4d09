"""Names from other tools: a Google Takeout folder and a Picasa folder, made here the way
those tools lay them out, with dev photos copied in."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import cv2
import pytest
from PIL import Image as PILImage

from facerec.errors import MetadataError
from facerec.metadata import PicasaPhoto, TakeoutPhoto, read_picasa, read_takeout
from facerec.metadata.picasa import decode_rect64
from facerec.types import Box
from facerec.vision.images import load_image
from facerec.vision.pipeline import Pipeline
from tests.helpers import FaceSet

TWO = "groups/fr_two_people.jpg"  # Barack Obama (left), Joe Biden (right)


def copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def takeout_json(folder: Path, photo_name: str, people: list[str] | None, counter: int | None = None) -> Path:
    """The JSON Takeout writes for `photo_name`: `NAME.supplemental-metadata.json`, the
    name and suffix cut to 46 characters, a duplicate's counter moved behind."""
    meta: dict[str, object] = {
        "title": photo_name,
        "description": "",
        "imageViews": "3",
        "creationTime": {"timestamp": "1600598769", "formatted": "Sep 20, 2020, 10:46:09 AM UTC"},
        "photoTakenTime": {"timestamp": "1600596727", "formatted": "Sep 20, 2020, 10:12:07 AM UTC"},
        "url": "https://photos.google.com/photo/AF1Qip",
    }
    if people is not None:
        meta["people"] = [{"name": n} for n in people]
    base = (photo_name + ".supplemental-metadata")[:46]
    path = folder / f"{base}{f'({counter})' if counter else ''}.json"
    path.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def test_a_takeout_folder_gives_each_photo_its_names(faces: FaceSet, tmp_path: Path, caplog: pytest.LogCaptureFixture):
    year = tmp_path / "Takeout" / "Google Photos" / "Photos from 2020"
    album = tmp_path / "Takeout" / "Google Photos" / "Holiday"
    obama = faces.people()["barack_obama"]
    biden = faces.people()["joe_biden"]
    kit = faces.people()["kit_harington"]
    # Before 2024: IMG.jpg.json
    one = copy(obama[0], year / "IMG_0001.jpg")
    (year / "IMG_0001.jpg.json").write_text(json.dumps({"title": "IMG_0001.jpg", "people": [{"name": "Barack Obama"}]}))
    # Since 2024: IMG.jpg.supplemental-metadata.json, and a second IMG_0002.jpg as IMG_0002(1).jpg
    two = copy(faces.photo(TWO), year / "IMG_0002.jpg")
    takeout_json(year, "IMG_0002.jpg", ["Barack Obama", "Joe Biden", "Barack Obama"])
    dup = copy(biden[0], year / "IMG_0002(1).jpg")
    takeout_json(year, "IMG_0002.jpg", ["Joe Biden"], counter=1)
    # A long name: the JSON's suffix is cut ("...ORIGINAL.jpg.s.json")
    pxl = copy(kit[0], year / "PXL_20230519_123456789.PORTRAIT.ORIGINAL.jpg")
    cut = takeout_json(year, pxl.name, ["Kit Harington"])
    assert cut.name == "PXL_20230519_123456789.PORTRAIT.ORIGINAL.jpg.s.json"
    # Longer still: the photo's own name was cut too; the JSON's title has it whole
    title = "Screenshot_20200101-120000_Some Very Long App Name.jpg"
    shot = copy(biden[1], year / (Path(title).stem[:43] + ".jpg"))
    takeout_json(year, title, ["Joe Biden"])
    # An edited copy shares its original's JSON
    three = copy(kit[1], album / "IMG_0003.jpg")
    edited = copy(kit[1], album / "IMG_0003-edited.jpg")
    takeout_json(album, "IMG_0003.jpg", ["Kit Harington", "Rose Leslie"])
    # No names, an album's metadata.json, a broken JSON, a JSON whose photo is gone
    copy(obama[1], year / "IMG_0004.jpg")
    takeout_json(year, "IMG_0004.jpg", [])
    (album / "metadata.json").write_text(json.dumps({"title": "Holiday", "description": "", "access": "protected"}))
    (year / "IMG_0005.jpg.supplemental-metadata.json").write_text('{"title": "IMG_0005.jpg", "people": [')
    takeout_json(year, "IMG_0006.jpg", ["Ada Lovelace"])
    (year / "VID_0001.mp4").write_bytes(b"not a photo")  # names in a video: not facerec's business
    takeout_json(year, "VID_0001.mp4", ["Barack Obama"])

    with caplog.at_level(logging.WARNING, logger="facerec.metadata"):
        found = read_takeout(tmp_path / "Takeout")

    assert found == [
        TakeoutPhoto(edited, ["Kit Harington", "Rose Leslie"]),
        TakeoutPhoto(three, ["Kit Harington", "Rose Leslie"]),
        TakeoutPhoto(one, ["Barack Obama"]),
        TakeoutPhoto(dup, ["Joe Biden"]),
        TakeoutPhoto(two, ["Barack Obama", "Joe Biden"]),
        TakeoutPhoto(pxl, ["Kit Harington"]),
        TakeoutPhoto(shot, ["Joe Biden"]),
    ]
    warned = caplog.text
    assert "IMG_0005.jpg.supplemental-metadata.json: cannot be read as Takeout JSON" in warned
    assert "IMG_0006.jpg.supplemental-metadata.json: names Ada Lovelace, but no photo" in warned
    assert "VID_0001" not in warned


def test_a_takeout_folder_that_is_not_there_is_an_error(tmp_path: Path):
    with pytest.raises(MetadataError, match="no such folder"):
        read_takeout(tmp_path / "nothing")


# -- Picasa ---------------------------------------------------------------------------------------------


def rect64(box: Box, width: int, height: int) -> str:
    """Picasa's rect64 of a box in the stored image: four 16-bit fractions, no leading zeros."""
    parts = (box.x / width, box.y / height, (box.x + box.w) / width, (box.y + box.h) / height)
    return "".join(f"{round(v * 65535):04x}" for v in parts).lstrip("0") or "0"


def test_rect64_is_four_16_bit_fractions_left_top_right_bottom():
    left, top, right, bottom = decode_rect64("3f845bcb59418507")
    assert (round(left * 65535), round(top * 65535), round(right * 65535), round(bottom * 65535)) == (
        0x3F84,
        0x5BCB,
        0x5941,
        0x8507,
    )
    assert decode_rect64("45006e00")[:2] == (0.0, 0.0)  # Picasa drops leading zeros


def test_a_picasa_folder_gives_faces_with_names_from_contacts_and_the_ini(
    faces: FaceSet, pipeline: Pipeline, tmp_path: Path
):
    folder = tmp_path / "Pictures" / "2010"
    two = copy(faces.photo(TWO), folder / "two.jpg")
    obama, biden = sorted((f.box for f in pipeline.detect(load_image(two).pixels)), key=lambda b: b.x)
    # The same photo stored turned (EXIF orientation 6): Picasa's rectangles are of the stored image
    upright = load_image(faces.photo(TWO)).pixels
    exif = PILImage.Exif()
    exif[0x0112] = 6
    stored = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)
    turned = folder / "turned.jpg"
    PILImage.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB)).save(turned, quality=95, exif=exif.tobytes())
    t_obama, t_biden = sorted((f.box for f in pipeline.detect(load_image(turned).pixels)), key=lambda b: b.x)
    sh, sw = stored.shape[:2]  # the stored image is 661 wide, 1126 high; upright (u, v) -> stored (v, 1 - u)

    def stored_box(b: Box) -> Box:
        return Box(b.y, 1126 - (b.x + b.w), b.h, b.w)

    ini = folder / ".picasa.ini"
    ini.write_text(
        "[Contacts2]\n"
        "8e62398ebda8c1a5=Barack Obama;;\n"
        "[Picasa]\nname=2010\n"
        "[two.jpg]\n"
        f"faces=rect64({rect64(obama, 1126, 661)}),8e62398ebda8c1a5;"
        f"rect64({rect64(biden, 1126, 661)}),d10a8325c557b085\n"
        "backuphash=36003\n"
        "[turned.jpg]\n"
        f"faces=rect64({rect64(stored_box(t_obama), sw, sh)}),ffffffffffffffff;"
        f"rect64({rect64(stored_box(t_biden), sw, sh)}),d10a8325c557b085\n"
        "[gone.jpg]\nfaces=rect64(3f845bcb59418507),8e62398ebda8c1a5\n",
        encoding="utf-8",
    )
    (tmp_path / "Pictures" / "contacts.xml").write_text(
        '<contacts>\n <contact id="d10a8325c557b085" name="Joe Biden" display="Joe" modified_time="2011-06-09"'
        ' local_contact="1"/>\n</contacts>\n',
        encoding="utf-8",
    )

    found = read_picasa(tmp_path / "Pictures")

    assert [p.photo for p in found] == [turned, two]  # path order; gone.jpg is not there
    assert [name for name, _ in found[0].faces] == [None, "Joe Biden"]
    assert [name for name, _ in found[1].faces] == ["Barack Obama", "Joe Biden"]
    for photo, expected in zip(found, [(t_obama, t_biden), (obama, biden)]):
        for (_, box), want in zip(photo.faces, expected):
            assert all(abs(a - b) <= 1 for a, b in zip(box.as_list(), want.as_list())), (photo.photo, box, want)


def test_picasa_contacts_can_be_given_and_a_broken_contacts_file_is_an_error(faces: FaceSet, tmp_path: Path):
    two = copy(faces.photo(TWO), tmp_path / "two.jpg")
    # Picasa ran on Windows: the ini may spell the file name in another case
    (tmp_path / "Picasa.ini").write_text("[TWO.JPG]\nfaces=rect64(369c0bfd53aa4e97),0123456789abcdef\n")
    contacts = tmp_path / "elsewhere.xml"
    contacts.write_text('<contacts><contact id="0123456789abcdef" name="Barack Obama"/></contacts>')

    (photo,) = read_picasa(tmp_path, contacts=contacts)

    assert photo == PicasaPhoto(two, [("Barack Obama", photo.faces[0][1])])
    contacts.write_text("<contacts><contact")
    with pytest.raises(MetadataError, match="elsewhere.xml: cannot be read as Picasa contacts"):
        read_picasa(tmp_path, contacts=contacts)
