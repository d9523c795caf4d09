"""Every face in the photo (issue 22), end to end through the product: `index`
stores the faces of every look (a 12 MP crowd, a photo lying on its side), the
turn that shows a photo upright and the faces too small to recognise; `photos
NAME`, `search`, the People view, naming and the web page use them.

Real dev photos, real models, the real database and a real browser; the
photos are built here (crowds from `bench/detect_cases.py`), never committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.detect_cases import crowd_cases, jpeg
from facerec.config import Settings
from facerec.db import Database
from facerec.types import Box, Face
from facerec.ui.sheets import TILE, Tile, make_sheet
from facerec.usecases.context import Context
from facerec.usecases.groups.grouping import people_view, update_groups
from facerec.usecases.library.index import index_folders
from facerec.usecases.library.recognize import recognize_photo
from facerec.usecases.library.search import photos_of, search_photo
from facerec.usecases.library.stats import stats
from facerec.usecases.library.thumbnails import (
    BOX_COLOR,
    PHOTO_SIDE,
    boxed_photo,
    locate_thumbnail,
    make_thumbnail,
)
from facerec.usecases.library.upload import analyze_bytes, preview
from facerec.usecases.people.register import register_photos
from facerec.vision.detectors import YuNetDetector
from facerec.vision.embedders import embedder_spec
from facerec.vision.images import load_image
from facerec.vision.pipeline import Pipeline
from facerec.vision.turns import face_upright, turn_image
from facerec.web.security import new_secrets
from tests.helpers import CLI, FaceSet, count, skip_or_fail
from tests.webkit import serving

CROWD_PEOPLE = ("barack_obama", "joe_biden", "kit_harington", "rose_leslie")


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def stored_faces(db: Database, picture: Path) -> list[tuple[int, Box, bool, int | None]]:
    """(id, box, small, person) of each stored face of `picture` (test assertions only)."""
    with db.transaction() as cur:
        cur.execute(
            "SELECT f.id, f.box, f.small, f.person_id FROM faces f JOIN pictures p ON p.id = f.picture_id"
            " WHERE p.picture = %s ORDER BY f.id",
            (str(picture),),
        )
        return [(int(i), Box(*b), bool(s), p) for i, b, s, p in cur.fetchall()]


def turn_of(db: Database, picture: Path) -> int:
    return count(db, "SELECT turn FROM pictures WHERE picture = %s", str(picture))


# -- a 12 MP crowd ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crowd(faces: FaceSet):
    """One 12 MP photo of the dev set's group photos, faces 26-80 px wide (over 100 of them)."""
    (case,) = crowd_cases(faces.root, YuNetDetector(), count=1)
    return case


def clear_person(faces: FaceSet, crowd) -> str:
    """A person of the crowd's group photos who is there at least once with every face
    of that group photo wide enough to recognise (so theirs is too)."""
    groups = {p.path: set(p.person.split(";")) for p in faces.of_kind("group")}
    min_px = embedder_spec("sface").min_face_px
    pasted: list[tuple[Path, list[Box]]] = []  # each group photo pasted: consecutive faces of one path
    for box, (path, _) in zip(crowd.truth, crowd.origins):
        if pasted and pasted[-1][0] == path:
            pasted[-1][1].append(box)
        else:
            pasted.append((path, [box]))
    for person in CROWD_PEOPLE:
        if any(person in groups[path] and min(b.w for b in boxes) >= min_px + 4 for path, boxes in pasted):
            return person
    raise AssertionError("no person of the crowd stands clear enough to be recognised")


def theirs(faces: FaceSet, crowd, person: str, box: Box) -> bool:
    """Whether `box` is a face of one of `person`'s group photos in the crowd."""
    groups = {p.path: set(p.person.split(";")) for p in faces.of_kind("group")}
    best = max(range(len(crowd.truth)), key=lambda i: crowd.truth[i].iou(box))
    return crowd.truth[best].iou(box) >= 0.4 and person in groups[crowd.origins[best][0]]


@pytest.mark.slow
def test_a_person_registered_from_one_photo_is_found_in_a_12_megapixel_crowd(
    ctx: Context, db: Database, faces: FaceSet, crowd, tmp_path: Path, cli: CLI
):
    person = clear_person(faces, crowd)
    library = tmp_path / "library"
    photo = write(library / "crowd.jpg", crowd.data)
    report = index_folders(ctx, [library], workers=1)
    assert report.indexed == 1 and not report.failed
    assert report.faces == len(stored_faces(db, photo)) >= 0.9 * len(crowd.truth) >= 90, len(crowd.truth)
    name = person.replace("_", " ").title()
    sample, other = faces.people()[person][:2]
    register_photos(ctx, name, [sample])

    found = photos_of(ctx, name)
    assert [m.picture for m in found.matches] == [str(photo)]
    assert theirs(faces, crowd, person, found.matches[0].hit.box), found.matches[0].hit.box

    searched = search_photo(ctx, other)
    assert str(photo) in [m.picture for m in searched.matches]
    hit = next(m for m in searched.matches if m.picture == str(photo)).hit
    assert theirs(faces, crowd, person, hit.box), hit.box

    result = cli("--json", "photos", name)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line["picture"] for line in lines] == [str(photo)]


@pytest.mark.slow
def test_small_faces_of_a_crowd_are_stored_but_never_grouped_named_or_matched(
    ctx: Context, db: Database, crowd, tmp_path: Path
):
    photo = write(tmp_path / "library" / "crowd.jpg", crowd.data)
    index_folders(ctx, [photo.parent], workers=1)
    rows = stored_faces(db, photo)
    small = [i for i, _, tiny, _ in rows if tiny]
    assert small and len(small) < len(rows), (len(small), len(rows))
    min_px = embedder_spec("sface").min_face_px
    assert all((b.w < min_px) == tiny for _, b, tiny, _ in rows)
    update_groups(ctx)
    # The People view looks at every other face (a row each in face_groups), never at a small one.
    assert count(db, "SELECT count(*) FROM face_groups WHERE face_id = ANY(%s)", small) == 0
    others = [i for i, _, tiny, _ in rows if not tiny]
    assert count(db, "SELECT count(*) FROM face_groups WHERE face_id = ANY(%s)", others) == len(others)
    grouped = {f.face_id for g in people_view(ctx, min_faces=1, limit=10_000).groups for f in g.faces}
    assert not grouped & set(small)
    counts = stats(ctx).counts  # `stats` and the Library page say how many
    assert counts.small_faces == len(small) and counts.faces == len(rows)


# -- a photo on its side ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def turned_photo(faces: FaceSet) -> bytes:
    """The dev photo of Barack Obama and Joe Biden, lying on its side (turned 90 degrees clockwise, no EXIF)."""
    upright = load_image(faces.photo("groups/fr_two_people.jpg")).pixels
    return jpeg(turn_image(upright, 90), 95)


def test_a_photo_on_its_side_is_indexed_with_its_turn_and_found_by_photos_and_search(
    ctx: Context, db: Database, faces: FaceSet, turned_photo: bytes, tmp_path: Path
):
    photo = write(tmp_path / "library" / "side.jpg", turned_photo)
    report = index_folders(ctx, [photo.parent], workers=1)
    assert report.faces == 2 and not report.failed
    assert turn_of(db, photo) == 270  # 270 degrees clockwise shows it upright
    register_photos(ctx, "Joe Biden", [faces.people()["joe_biden"][0]])
    found = photos_of(ctx, "Joe Biden")
    assert [m.picture for m in found.matches] == [str(photo)]
    searched = search_photo(ctx, faces.people()["joe_biden"][1])
    assert [m.picture for m in searched.matches] == [str(photo)]
    # The box is in the file's own pixels (a portrait: the photo lies on its side), on Biden's face.
    box = found.matches[0].hit.box
    height, width = cv2.imdecode(np.frombuffer(turned_photo, np.uint8), cv2.IMREAD_COLOR).shape[:2]
    assert height > width and box.x + box.w <= width and box.y + box.h <= height
    upright = face_upright(Face(box, 1.0), 270, width, height).box
    biden = recognize_photo(ctx, faces.photo("groups/fr_two_people.jpg")).faces
    assert max(r.face.box.iou(upright) for r in biden if r.name == "Joe Biden") >= 0.7


# -- faces too small to recognise ---------------------------------------------------------------------------


def paste(canvas: np.ndarray, portrait: np.ndarray, face: Face, width: int, centre: tuple[int, int]) -> Box:
    """Paste `portrait` scaled so `face` is `width` px wide, centred on `centre`; the face's box there."""
    s = width / face.box.w
    small = cv2.resize(portrait, (round(portrait.shape[1] * s), round(portrait.shape[0] * s)), cv2.INTER_AREA)
    b = face.box
    x0, y0 = centre[0] - round((b.x + b.w / 2) * s), centre[1] - round((b.y + b.h / 2) * s)
    h, w = small.shape[:2]
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(canvas.shape[1], x0 + w), min(canvas.shape[0], y0 + h)
    canvas[cy0:cy1, cx0:cx1] = small[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    return Box(x0 + round(b.x * s), y0 + round(b.y * s), round(b.w * s), round(b.h * s))


@pytest.fixture(scope="module")
def small_photo(faces: FaceSet) -> tuple[bytes, Box, list[Box]]:
    """Joe Biden, 110 px wide, and four small faces of him, 20 px wide, around him: (JPEG, his box, theirs)."""
    detector = YuNetDetector()
    canvas = np.full((480, 640, 3), 110, np.uint8)
    biden = [load_image(p).pixels for p in faces.people()["joe_biden"][1:3]]  # [0] registers him
    big = paste(canvas, biden[0], detector.detect(biden[0])[0], 110, (320, 250))
    smalls = []
    for n, centre in enumerate([(60, 60), (580, 60), (60, 420), (580, 420)]):
        portrait = biden[n % len(biden)]
        smalls.append(paste(canvas, portrait, detector.detect(portrait)[0], 20, centre))
    return jpeg(canvas, 95), big, smalls


def test_faces_too_small_to_recognise_are_on_the_persons_photo_but_never_named(
    ctx: Context, db: Database, faces: FaceSet, small_photo: tuple[bytes, Box, list[Box]], tmp_path: Path
):
    data, big, smalls = small_photo
    photo = write(tmp_path / "library" / "biden-and-small-faces.jpg", data)
    index_folders(ctx, [photo.parent], workers=1)
    rows = stored_faces(db, photo)
    assert len(rows) == 5
    (main,) = [r for r in rows if r[1].iou(big) >= 0.5]
    tiny = [r for r in rows if r is not main]
    assert not main[2] and all(r[2] for r in tiny)
    assert all(max(r[1].iou(s) for s in smalls) >= 0.4 for r in tiny)

    register_photos(ctx, "Joe Biden", [faces.people()["joe_biden"][0]])
    update_groups(ctx)
    found = photos_of(ctx, "Joe Biden")
    assert [(m.picture, m.hit.face_id) for m in found.matches] == [(str(photo), main[0])]
    # Naming every face of the photo at once (as naming a group does) names the one face that can be named.
    done = ctx.db.people.attach([r[0] for r in rows], "Joe Biden", "test: name every face")
    assert done.faces == 1
    assert [r[3] is not None for r in stored_faces(db, photo)] == [r is main for r in rows]
    # Recognising the photo (the Python API): only the large face has a name.
    named = recognize_photo(ctx, photo).faces
    assert sorted(r.name or "" for r in named) == ["", "", "", "", "Joe Biden"]

    # The person's photo (the web page's photo view) shows them boxed, and the small faces boxed in grey.
    source = locate_thumbnail(ctx, main[0], "photo")
    assert {tuple(b.as_list()) for b in source.small} == {tuple(r[1].as_list()) for r in tiny}
    shown = cv2.imread(str(make_thumbnail(ctx, source).path))
    plain = boxed_photo(load_image(photo).pixels, main[1])
    assert shown.shape == plain.shape
    f = shown.shape[1] / 640
    for _, t, _, _ in tiny:  # each small face's outline differs from the photo without it
        b = Box(int(t.x * f), int(t.y * f), int(t.w * f), int(t.h * f))
        band = np.zeros(shown.shape[:2], np.uint8)
        cv2.rectangle(band, (b.x, b.y), (b.x + b.w, b.y + b.h), 255, 3)
        diff = np.abs(shown.astype(int) - plain.astype(int))[band > 0].mean()
        inside = np.abs(shown.astype(int) - plain.astype(int))[b.y + 4 : b.y + b.h - 4, b.x + 4 : b.x + b.w - 4].mean()
        assert diff > 15 and inside < 6, (b, diff, inside)


# -- the web page: the photo on its side shown upright -------------------------------------------------------


@pytest.fixture
def web(ctx: Context, settings: Settings, pipeline: Pipeline) -> Iterator[tuple[str, str]]:
    """`facerec web`'s app on a free port of 127.0.0.1 over the test database: (base URL, login URL)."""
    keys = new_secrets()
    with Context(settings, pipeline=pipeline) as app_ctx, serving(app_ctx, keys) as base:
        yield base, f"{base}/?token={keys.token}"
        app_ctx.close()


def drawn_box(image: np.ndarray, unboxed: np.ndarray) -> Box:
    """The bounding box of what a thumbnail drew over the photo (`unboxed`): its amber face box."""
    drawn = np.abs(image.astype(int) - unboxed.astype(int)).sum(axis=2) > 120
    b, g, r = (image[..., i].astype(int) for i in range(3))
    amber = (np.abs(b - BOX_COLOR[0]) < 90) & (np.abs(g - BOX_COLOR[1]) < 60) & (np.abs(r - BOX_COLOR[2]) < 60)
    ys, xs = np.nonzero(drawn & amber)
    assert len(xs) > 40, "no amber box in the photo"
    return Box(int(xs.min()), int(ys.min()), int(xs.max() - xs.min()), int(ys.max() - ys.min()))


@pytest.mark.slow
def test_the_web_page_shows_a_photo_on_its_side_upright_with_the_box_on_the_face(
    ctx: Context, faces: FaceSet, turned_photo: bytes, tmp_path: Path, web: tuple[str, str]
):
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium chromium-driver)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright package is not installed (pip install -r requirements-dev.txt)")
    photo = write(tmp_path / "library" / "side.jpg", turned_photo)
    index_folders(ctx, [photo.parent], workers=1)
    register_photos(ctx, "Joe Biden", [faces.people()["joe_biden"][0]])
    (match,) = photos_of(ctx, "Joe Biden").matches
    base, login = web
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.set_default_timeout(60_000)
            page.goto(login)
            page.goto(f"{base}/person?name=Joe%20Biden")
            img = page.locator(f'img.photo[src="/thumb/photo/{match.hit.face_id}.jpg"]')
            img.scroll_into_view_if_needed()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
            natural = img.evaluate("img => [img.naturalWidth, img.naturalHeight]")
            served = page.request.get(f"{base}/thumb/photo/{match.hit.face_id}.jpg")
            assert served.ok
            body = served.body()
            page.screenshot(path=str(tmp_path / "person-side-photo.png"))
        finally:
            browser.close()
    shown = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    upright = load_image(faces.photo("groups/fr_two_people.jpg")).pixels
    assert natural == [shown.shape[1], shown.shape[0]]
    assert natural[0] > natural[1]  # upright: a landscape, as the photo is, though the file is a portrait
    assert abs(shown.shape[1] / shown.shape[0] - upright.shape[1] / upright.shape[0]) < 0.02
    # The amber box is on Joe Biden's face in the upright photo. The photo as the page should show it,
    # without the box: the file decoded as the thumbnail decodes it, turned a quarter counter-clockwise.
    as_decoded = load_image(photo, reduce_to=PHOTO_SIDE).pixels
    unboxed = boxed_photo(np.ascontiguousarray(np.rot90(as_decoded, 1)), Box(-99, -99, 1, 1))
    assert unboxed.shape == shown.shape
    assert np.abs(shown.astype(int) - unboxed.astype(int)).mean() < 4  # the same pixels, but for the box
    box = drawn_box(shown, unboxed)
    k = shown.shape[1] / upright.shape[1]
    biden = [r.face.box for r in recognize_photo(ctx, faces.photo("groups/fr_two_people.jpg")).faces if r.name]
    assert len(biden) == 1
    b = biden[0]
    expected = Box(round(b.x * k), round(b.y * k), round(b.w * k), round(b.h * k))
    assert box.iou(expected) >= 0.6, (box, expected)
    # And the served image is upright: the detector finds both faces there in one normal look.
    assert len([f for f in YuNetDetector().detect(shown) if f.score >= 0.9]) == 2


# -- the search by photo and the contact sheets show a photo on its side upright -------------------------------


def test_an_uploaded_photo_on_its_side_is_previewed_upright_with_its_boxes_on_the_faces(
    ctx: Context, turned_photo: bytes
):
    photo = analyze_bytes(ctx, turned_photo, "side.jpg")
    assert photo.turn == 270 and len(photo.faces) == 2 and photo.small == (False, False)
    shown = preview(ctx, photo)
    assert shown.width > shown.height  # the photo is a landscape; its file lies on its side
    pixels = cv2.imdecode(np.frombuffer(shown.jpeg, np.uint8), cv2.IMREAD_COLOR)
    expected = [f.box for f in YuNetDetector().detect(pixels)]  # found upright, in one normal look
    boxes = photo.preview_boxes(shown.width)
    assert len(expected) == 2
    assert all(max(b.iou(e) for e in expected) >= 0.7 for b in boxes), (boxes, expected)


def test_a_contact_sheet_shows_a_photo_on_its_side_as_it_shows_it_upright(
    faces: FaceSet, turned_photo: bytes, tmp_path: Path
):
    upright_path = faces.photo("groups/fr_two_people.jpg")
    upright = load_image(upright_path).pixels
    side = write(tmp_path / "side.jpg", turned_photo)
    height, width = upright.shape[:2]
    face = YuNetDetector().detect(upright)[0]
    # The same face's box in the file on its side (turned 90 clockwise): what `index` stores.
    b = face.box
    in_file = Box(height - (b.y + b.h), b.x, b.h, b.w)
    turned = make_sheet([Tile(str(side), in_file, "side", turn=270)], tmp_path / "turned.jpg")
    plain = make_sheet([Tile(str(upright_path), b, "upright")], tmp_path / "upright.jpg")
    a, c = cv2.imread(str(turned.path)), cv2.imread(str(plain.path))
    assert a.shape == c.shape
    tile = slice(0, TILE)  # the photo, not its caption (the captions differ)
    diff = np.abs(a[tile, tile].astype(int) - c[tile, tile].astype(int))
    assert diff.mean() < 6, diff.mean()
    unturned = make_sheet([Tile(str(side), in_file, "side")], tmp_path / "unturned.jpg")
    assert np.abs(cv2.imread(str(unturned.path))[tile, tile].astype(int) - c[tile, tile].astype(int)).mean() > 20
