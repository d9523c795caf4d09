"""Face regions in XMP, read and written, with exiftool as the reference on both sides.

The photos are dev photos copied into tmp_path and turned by EXIF orientation here;
regions other tools would have written are written by exiftool, and what facerec
writes is read back by exiftool. Nothing is mocked.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage

from facerec.errors import MetadataError
from facerec.metadata import containers, read_regions, restore, sidecar_for_writing, write_regions
from facerec.metadata.geometry import upright_rect
from facerec.types import Box
from facerec.vision.images import _ORIENT, load_image
from facerec.vision.pipeline import Pipeline
from tests.helpers import PROJECT, FaceSet, skip_or_fail

SIX = "groups/cf_015_6.jpg"  # six faces in a row
TWO = "groups/fr_two_people.jpg"  # Barack Obama (left), Joe Biden (right)
NAMES = ["Zoë Ñúñez", "Жанна", "李娜", "Ada Lovelace", "O'Brien & Sons <x>", "Grace"]
Rect = tuple[float, float, float, float]


@pytest.fixture(scope="module")
def exiftool() -> str:
    path = shutil.which("exiftool")
    if path is None:
        skip_or_fail("exiftool is not installed (apt-get install libimage-exiftool-perl)")
    assert path is not None
    return path


def run_exiftool(exiftool: str, *args: str | Path) -> str:
    r = subprocess.run([exiftool, *map(str, args)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def exiftool_json(exiftool: str, path: Path) -> dict[str, object]:
    out = run_exiftool(
        exiftool, "-j", "-struct", "-XMP-mwg-rs:all", "-XMP-MP:all", "-XMP-iptcExt:PersonInImage",
        "-XMP-dc:Subject", "-XMP-xmp:Rating", "-XMP-digiKam:TagsList", "-Orientation#", path,
    )  # fmt: skip
    data: dict[str, object] = json.loads(out)[0]
    return data


def turned_copy(src: Path, dst: Path, orientation: int) -> None:
    """A JPEG whose stored pixels are `src`'s upright ones turned so that EXIF
    `orientation` shows them upright again."""
    upright = load_image(src).pixels
    turn = {1: None, 3: cv2.ROTATE_180, 6: cv2.ROTATE_90_COUNTERCLOCKWISE, 8: cv2.ROTATE_90_CLOCKWISE}[orientation]
    stored = upright if turn is None else cv2.rotate(upright, turn)
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    PILImage.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB)).save(dst, quality=95, exif=exif.tobytes())


def stored_fractions(box: Box, width: int, height: int, orientation: int) -> Rect:
    """An upright box (pixels) as left, top, right, bottom fractions of the stored image
    (worked out here on its own, not with facerec's code)."""
    u0, v0, u1, v1 = box.x / width, box.y / height, (box.x + box.w) / width, (box.y + box.h) / height
    if orientation == 6:  # stored x = upright v, stored y = 1 - upright u
        return v0, 1 - u1, v1, 1 - u0
    if orientation == 8:  # stored x = 1 - upright v, stored y = upright u
        return 1 - v1, u0, 1 - v0, u1
    return u0, v0, u1, v1


def upright_pixels(rect: Rect, width: int, height: int, orientation: int) -> tuple[float, float, float, float]:
    """The inverse: stored fractions -> upright x, y, w, h in pixels."""
    left, top, right, bottom = rect
    if orientation == 6:
        u0, u1, v0, v1 = 1 - bottom, 1 - top, left, right
    elif orientation == 8:
        u0, u1, v0, v1 = top, bottom, 1 - right, 1 - left
    else:
        u0, u1, v0, v1 = left, right, top, bottom
    return u0 * width, v0 * height, (u1 - u0) * width, (v1 - v0) * height


def mwg_argument(regions: list[tuple[str, Rect]], stored: tuple[int, int]) -> str:
    items = ",".join(
        f"{{Area={{X={(a + c) / 2:.6f},Y={(b + d) / 2:.6f},W={c - a:.6f},H={d - b:.6f},Unit=normalized}},"
        f"Name={name},Type=Face}}"
        for name, (a, b, c, d) in regions
    )
    w, h = stored
    return f"-XMP-mwg-rs:RegionInfo={{AppliedToDimensions={{W={w},H={h},Unit=pixel}},RegionList=[{items}]}}"


def mp_argument(regions: list[tuple[str, Rect]]) -> str:
    items = ",".join(
        f"{{Rectangle={a:.6f}|, {b:.6f}|, {c - a:.6f}|, {d - b:.6f},PersonDisplayName={name}}}"
        for name, (a, b, c, d) in regions
    )
    return f"-XMP-MP:RegionInfoMP={{Regions=[{items}]}}"


def as_list(value: object) -> list[object]:
    """exiftool's JSON gives a list of one as the value alone."""
    return value if isinstance(value, list) else [value]


def close(a: Box | tuple[float, ...], b: Box, tolerance: float = 1.0) -> bool:
    values = a.as_list() if isinstance(a, Box) else list(a)
    return all(abs(p - q) <= tolerance for p, q in zip(values, b.as_list()))


def detected(pipeline: Pipeline, photo: Path) -> list[Box]:
    """The faces YuNet finds in the upright photo, left to right."""
    return sorted((f.box for f in pipeline.detect(load_image(photo).pixels)), key=lambda b: b.x)


@pytest.fixture(scope="module")
def turned(faces: FaceSet, tmp_path_factory: pytest.TempPathFactory, pipeline: Pipeline) -> dict[int, tuple]:
    """The six-face photo stored three ways (orientation 1, 6, 8): its path, its upright
    size, its stored size and the named faces YuNet finds in it."""
    folder = tmp_path_factory.mktemp("turned")
    out = {}
    for orientation in (1, 6, 8):
        photo = folder / f"six-{orientation}.jpg"
        turned_copy(faces.photo(SIX), photo, orientation)
        boxes = detected(pipeline, photo)
        assert len(boxes) == 6, boxes
        with PILImage.open(photo) as img:
            stored = img.size
        upright = load_image(photo)
        out[orientation] = (photo, (upright.width, upright.height), stored, list(zip(NAMES, boxes)))
    return out


def fresh(tmp_path: Path, source: Path) -> Path:
    photo = tmp_path / source.name
    shutil.copyfile(source, photo)
    photo.chmod(0o644)
    return photo


# -- reading what other tools wrote -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mwg", "mp"])
@pytest.mark.parametrize("where", ["embedded", "photo.jpg.xmp", "photo.xmp"])
@pytest.mark.parametrize("orientation", [1, 6, 8])
def test_regions_exiftool_wrote_come_back_with_the_right_names_on_the_faces_yunet_finds(
    exiftool: str, turned: dict[int, tuple], tmp_path: Path, orientation: int, where: str, kind: str
):
    source, (width, height), stored, named = turned[orientation]
    photo = fresh(tmp_path, source)
    regions = [(name, stored_fractions(box, width, height, orientation)) for name, box in named]
    argument = mwg_argument(regions, stored) if kind == "mwg" else mp_argument(regions)
    target = {"embedded": photo, "photo.jpg.xmp": photo.with_name(photo.name + ".xmp")}.get(
        where, photo.with_suffix(".xmp")
    )
    run_exiftool(exiftool, "-q", "-overwrite_original", argument, target)

    got = read_regions(photo)

    assert (got.width, got.height, got.orientation) == (width, height, orientation)
    assert sorted(r.name or "" for r in got.regions) == sorted(NAMES)
    for name, box in named:
        (region,) = [r for r in got.regions if r.name == name]
        assert close(region.box, box), (name, region.box, box)
        assert (region.source, region.origin, region.own) == (kind, target, False)
    states = {s.path: s.sha256 for s in got.sidecars}
    assert set(states) == {photo.with_name(photo.name + ".xmp"), photo.with_suffix(".xmp")}
    assert (states.get(target) is not None) == (where != "embedded")


def test_microsoft_regions_are_read_only_where_a_file_has_no_mwg_ones(
    exiftool: str, faces: FaceSet, pipeline: Pipeline, tmp_path: Path
):
    photo = fresh(tmp_path, faces.photo(TWO))
    obama, biden = detected(pipeline, photo)
    size = (1126, 661)
    mwg = [("Barack Obama", stored_fractions(obama, *size, 1)), ("Joe Biden", stored_fractions(biden, *size, 1))]
    mp = [("Wrong Name", stored_fractions(obama, *size, 1))]
    run_exiftool(exiftool, "-q", "-overwrite_original", mwg_argument(mwg, size), mp_argument(mp), photo)

    got = read_regions(photo)

    assert [(r.name, r.source) for r in sorted(got.regions, key=lambda r: r.box.x)] == [
        ("Barack Obama", "mwg"),
        ("Joe Biden", "mwg"),
    ]


def test_a_sidecar_wins_over_the_photo_for_the_same_face_and_the_others_are_added(
    exiftool: str, faces: FaceSet, pipeline: Pipeline, tmp_path: Path
):
    photo = fresh(tmp_path, faces.photo(TWO))
    obama, biden = detected(pipeline, photo)
    size = (1126, 661)
    embedded = [("Old Name", stored_fractions(obama, *size, 1)), ("Joe Biden", stored_fractions(biden, *size, 1))]
    run_exiftool(exiftool, "-q", "-overwrite_original", mwg_argument(embedded, size), photo)
    sidecar = photo.with_name(photo.name + ".xmp")
    run_exiftool(exiftool, "-q", mwg_argument([("Barack Obama", stored_fractions(obama, *size, 1))], size), sidecar)

    got = read_regions(photo)

    assert [(r.name, r.origin) for r in sorted(got.regions, key=lambda r: r.box.x)] == [
        ("Barack Obama", sidecar),
        ("Joe Biden", photo),
    ]


def test_malformed_xmp_is_one_clear_error_naming_the_file(faces: FaceSet, tmp_path: Path):
    photo = fresh(tmp_path, faces.photo(TWO))
    sidecar = photo.with_name(photo.name + ".xmp")
    sidecar.write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><broken></x:xmpmeta>' + " " * 100)
    before = sidecar.read_bytes()

    with pytest.raises(MetadataError, match=str(sidecar).replace(".", r"\.") + ": malformed XMP"):
        read_regions(photo)
    with pytest.raises(MetadataError, match="malformed XMP"):
        write_regions(photo, [("Ada", Box(10, 10, 50, 50))])
    assert sidecar.read_bytes() == before


def test_the_orientation_rule_is_the_one_facerecs_decoder_applies_for_all_eight():
    h, w = 30, 50
    for orientation in range(1, 9):
        stored = np.zeros((h, w, 3), np.uint8)
        stored[3:9, 5:12] = 255
        turn = _ORIENT.get(orientation)
        upright = turn(stored) if turn is not None else stored
        ys, xs = np.nonzero(upright[:, :, 0])
        uh, uw = upright.shape[:2]
        seen = (xs.min() / uw, ys.min() / uh, (xs.max() + 1) / uw, (ys.max() + 1) / uh)
        assert np.allclose(seen, upright_rect((5 / w, 3 / h, 12 / w, 9 / h), orientation)), orientation


# -- writing, read back by exiftool ---------------------------------------------------------------------


def region_list(data: dict[str, object]) -> list[dict]:
    info = data.get("RegionInfo")
    return list(info["RegionList"]) if isinstance(info, dict) else []


def mp_list(data: dict[str, object]) -> list[dict]:
    info = data.get("RegionInfoMP")
    return list(info["Regions"]) if isinstance(info, dict) else []


def facerec_regions(data: dict[str, object]) -> list[dict]:
    return [r for r in region_list(data) if r.get("Extensions", {}).get("XMP-facerec:Source") == "facerec"]


def area_rect(region: dict) -> Rect:
    a = region["Area"]
    return a["X"] - a["W"] / 2, a["Y"] - a["H"] / 2, a["X"] + a["W"] / 2, a["Y"] + a["H"] / 2


def mp_rect(region: dict) -> Rect:
    x, y, w, h = (float(v) for v in region["Rectangle"].split(","))
    return x, y, x + w, y + h


OTHER = ("Someone Else", (0.02, 0.02, 0.08, 0.1))  # another tool's region, far from every face


def other_tools_sidecar(exiftool: str, path: Path, stored: tuple[int, int]) -> None:
    """A sidecar as digiKam would leave it: keywords, a rating, a tag and a region of its own."""
    name, (a, b, c, d) = OTHER
    region = (
        f"-XMP-mwg-rs:RegionInfo={{AppliedToDimensions={{W={stored[0]},H={stored[1]},Unit=pixel}},RegionList=["
        f"{{Area={{X={(a + c) / 2},Y={(b + d) / 2},W={c - a},H={d - b},Unit=normalized}},Name={name},Type=Face,"
        f"Description=tagged in digiKam,Rotation=0.25}}]}}"
    )
    run_exiftool(
        exiftool, "-q", region, mp_argument([OTHER]), "-XMP-dc:Subject=Family", "-XMP-dc:Subject=Holiday",
        "-XMP-xmp:Rating=4", f"-XMP-digiKam:TagsList=People/{name}", f"-XMP-iptcExt:PersonInImage={name}", path,
    )  # fmt: skip


def test_regions_facerec_writes_are_read_back_by_exiftool_and_the_sidecars_other_tags_are_kept(
    exiftool: str, turned: dict[int, tuple], tmp_path: Path
):
    source, (width, height), stored, named = turned[6]
    photo = fresh(tmp_path, source)
    sidecar = photo.with_name(photo.name + ".xmp")
    other_tools_sidecar(exiftool, sidecar, stored)
    before = exiftool_json(exiftool, sidecar)

    result = write_regions(photo, named)

    assert (result.path, result.written, result.replaced, result.kept) == (sidecar, 6, 0, 2)
    assert result.previous is not None and result.changed
    after = exiftool_json(exiftool, sidecar)
    ours = facerec_regions(after)
    assert sorted(r["Name"] for r in ours) == sorted(NAMES)
    for name, box in named:
        (region,) = [r for r in ours if r["Name"] == name]
        assert region["Type"] == "Face" and region["Area"]["Unit"] == "normalized"
        assert close(upright_pixels(area_rect(region), width, height, 6), box), (name, region)
        (mp,) = [r for r in mp_list(after) if r.get("PersonDisplayName") == name]
        assert close(upright_pixels(mp_rect(mp), width, height, 6), box), (name, mp)
    assert after["RegionInfo"]["AppliedToDimensions"] == {"W": stored[0], "H": stored[1], "Unit": "pixel"}
    # The other tool's region, its MP region and the sidecar's other tags are as they were.
    assert [r for r in region_list(after) if r not in ours] == region_list(before)
    assert [r for r in mp_list(after) if r.get("Source") != "facerec"] == mp_list(before)
    for tag in ("Subject", "Rating", "TagsList"):
        assert after[tag] == before[tag], tag
    assert as_list(after["PersonInImage"]) == [OTHER[0], *NAMES]
    # ... and facerec reads back its own regions, marked as its own, on the same faces.
    again = read_regions(photo)
    own = {r.name: r.box for r in again.regions if r.own}
    assert set(own) == set(NAMES) and all(close(own[n], b) for n, b in named)


def test_writing_again_replaces_only_facerecs_regions(exiftool: str, turned: dict[int, tuple], tmp_path: Path):
    source, (width, height), stored, named = turned[8]
    photo = fresh(tmp_path, source)
    sidecar = photo.with_name(photo.name + ".xmp")
    other_tools_sidecar(exiftool, sidecar, stored)
    write_regions(photo, named)
    first = exiftool_json(exiftool, sidecar)
    renamed = [("Ada Byron", named[0][1]), named[3]]

    result = write_regions(photo, renamed)

    assert (result.written, result.replaced, result.kept) == (2, 6, 2)
    after = exiftool_json(exiftool, sidecar)
    ours = facerec_regions(after)
    assert sorted(r["Name"] for r in ours) == sorted(["Ada Byron", named[3][0]])
    for name, box in renamed:
        (region,) = [r for r in ours if r["Name"] == name]
        assert close(upright_pixels(area_rect(region), width, height, 8), box)
    others = [r for r in region_list(after) if r not in ours]
    assert others == [r for r in region_list(first) if r not in facerec_regions(first)]
    assert sorted(r["PersonDisplayName"] for r in mp_list(after)) == sorted([OTHER[0], "Ada Byron", named[3][0]])
    assert as_list(after["PersonInImage"]) == [OTHER[0], named[3][0], "Ada Byron"]
    # Nothing named any more: facerec's regions go, the rest stays.
    write_regions(photo, [])
    last = exiftool_json(exiftool, sidecar)
    assert facerec_regions(last) == [] and region_list(last) == others
    assert as_list(last["PersonInImage"]) == [OTHER[0]]


def test_a_new_sidecar_is_named_after_the_whole_file_name_and_readable_like_its_photo(
    exiftool: str, turned: dict[int, tuple], tmp_path: Path
):
    source, _, _, named = turned[1]
    photo = fresh(tmp_path, source)
    photo.chmod(0o640)

    result = write_regions(photo, named[:2])

    assert result.path == photo.with_name(photo.name + ".xmp") and result.previous is None
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o640
    data = exiftool_json(exiftool, result.path)
    assert [r["Name"] for r in facerec_regions(data)] == NAMES[:2]
    assert data["RegionInfo"]["AppliedToDimensions"] == {"W": 800, "H": 533, "Unit": "pixel"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [photo.name, result.path.name]  # no temporary file left


def test_an_existing_photo_xmp_is_used_unless_another_file_shares_it(faces: FaceSet, tmp_path: Path):
    photo = fresh(tmp_path, faces.photo(TWO))
    short = photo.with_suffix(".xmp")
    write_regions(photo, [("Ada", Box(241, 31, 142, 196))])  # a new IMG.jpg.xmp
    photo.with_name(photo.name + ".xmp").unlink()
    short.write_bytes(b"")
    assert sidecar_for_writing(photo) == short
    photo.with_suffix(".cr2").write_bytes(b"raw")  # a RAW+JPEG pair: photo.xmp is the RAW's too
    assert sidecar_for_writing(photo) == photo.with_name(photo.name + ".xmp")


# -- in place, and undo ---------------------------------------------------------------------------------


def test_in_place_changes_only_the_photos_xmp_never_its_pixels(exiftool: str, turned: dict[int, tuple], tmp_path: Path):
    source, (width, height), _, named = turned[6]
    photo = fresh(tmp_path, source)
    run_exiftool(exiftool, "-q", "-overwrite_original", "-XMP-dc:Subject=Family", "-IPTC:Keywords=kw", photo)
    original = photo.read_bytes()
    pixels = load_image(photo).pixels
    old = containers.find_xmp(original)
    assert old is not None and old.packet is not None

    result = write_regions(photo, named, in_place=True)

    assert result.path == photo and result.previous == original
    new = photo.read_bytes()
    assert np.array_equal(load_image(photo).pixels, pixels)
    now = containers.find_xmp(new)
    assert now is not None and now.start == old.start
    assert new[: old.start] == original[: old.start]  # everything before the XMP segment
    assert new[now.end :] == original[old.end :]  # and everything after it (EXIF, IPTC, pixels) is untouched
    data = exiftool_json(exiftool, photo)
    assert data["Orientation"] == 6 and as_list(data["Subject"]) == ["Family"]
    ours = facerec_regions(data)
    for name, box in named:
        (region,) = [r for r in ours if r["Name"] == name]
        assert close(upright_pixels(area_rect(region), width, height, 6), box)
    assert not photo.with_name(photo.name + ".xmp").exists()

    restore(result)
    assert photo.read_bytes() == original


def test_in_place_in_a_png_adds_its_xmp_chunk_and_nothing_else(exiftool: str, faces: FaceSet, tmp_path: Path):
    photo = tmp_path / "two.png"
    PILImage.open(faces.photo(TWO)).save(photo)
    original = photo.read_bytes()
    pixels = load_image(photo).pixels

    write_regions(photo, [("Barack Obama", Box(241, 31, 142, 196))], in_place=True)

    assert np.array_equal(load_image(photo).pixels, pixels)
    where = containers.find_xmp(photo.read_bytes())
    assert where is not None and photo.read_bytes()[: where.start] + photo.read_bytes()[where.end :] == original
    (region,) = facerec_regions(exiftool_json(exiftool, photo))
    assert region["Name"] == "Barack Obama"
    assert close(upright_pixels(area_rect(region), 1126, 661, 1), Box(241, 31, 142, 196))


def test_restore_gives_back_the_old_sidecar_exactly_or_removes_a_new_one(
    exiftool: str, turned: dict[int, tuple], tmp_path: Path
):
    source, _, stored, named = turned[1]
    photo = fresh(tmp_path, source)
    sidecar = photo.with_name(photo.name + ".xmp")
    other_tools_sidecar(exiftool, sidecar, stored)
    old = sidecar.read_bytes()
    mode = stat.S_IMODE(sidecar.stat().st_mode)

    first = write_regions(photo, named)
    assert first.previous == old
    restore(first)
    assert sidecar.read_bytes() == old and stat.S_IMODE(sidecar.stat().st_mode) == mode

    sidecar.unlink()
    created = write_regions(photo, named)
    assert created.previous is None
    restore(created)
    assert not sidecar.exists()

    changed = write_regions(photo, named)
    sidecar.write_bytes(sidecar.read_bytes() + b"\n")  # edited by someone else since
    with pytest.raises(MetadataError, match="changed since facerec wrote it"):
        restore(changed)


def test_a_read_only_photo_is_not_rewritten(faces: FaceSet, tmp_path: Path):
    photo = fresh(tmp_path, faces.photo(TWO))
    photo.chmod(0o444)
    before = photo.read_bytes()
    with pytest.raises(MetadataError, match="read-only"):
        write_regions(photo, [("Ada", Box(241, 31, 142, 196))], in_place=True)
    assert photo.read_bytes() == before


@pytest.mark.slow
def test_reading_and_writing_xmp_opens_no_network_connection_and_writes_nothing_home(faces: FaceSet, tmp_path: Path):
    strace = shutil.which("strace")
    if strace is None:
        skip_or_fail("strace is not installed (apt-get install strace)")
    home = tmp_path / "home"
    home.mkdir()
    photo = fresh(tmp_path, faces.photo(TWO))
    code = (
        "import sys; from pathlib import Path; from facerec.types import Box;"
        "from facerec.metadata import read_regions, write_regions, restore;"
        "p = Path(sys.argv[1]); w = write_regions(p, [('Ada', Box(241, 31, 142, 196))]);"
        "print(len(read_regions(p).regions)); restore(w)"
    )
    log = tmp_path / "xmp.strace"
    env = {k: v for k, v in os.environ.items() if k not in ("CI",)} | {"HOME": str(home)}
    r = subprocess.run(
        [str(strace), "-f", "-qq", "-e", "trace=network,openat", "-e", "signal=none", "-o", str(log),
         sys.executable, "-c", code, str(photo)],
        capture_output=True, text=True, env=env, cwd=PROJECT, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"
    calls = log.read_text().splitlines()
    assert [c for c in calls if "AF_INET" in c] == []
    assert [c for c in calls if str(home) in c] == []
    assert list(home.rglob("*")) == []
