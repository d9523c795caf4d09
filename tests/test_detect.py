"""Every face in the photo (issue 22): several looks at one photo, merged.

Real dev photos and the real models; the photos are built here, in memory
(crowds, faces cut by tiles, photos on their side), from `bench/detect_cases.py`.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bench.detect_cases import crowd_cases, filled_cases, jpeg, match, turned_cases
from facerec.types import Box, Face
from facerec.vision.detectors import YuNetDetector
from facerec.vision.embedders import embedder_spec
from facerec.vision.images import decode, load_image
from facerec.vision.looks import Looks
from facerec.vision.pipeline import Pipeline
from facerec.vision.tiles import TILE, tile_grid
from facerec.vision.turns import face_upright, turn_image
from tests.helpers import FaceSet


@pytest.fixture(scope="module")
def today() -> YuNetDetector:
    """Today's detector (one look at 640 px): what the truth of the built photos comes from."""
    return YuNetDetector()


def duplicates(boxes: list[Box]) -> list[tuple[Box, Box]]:
    """Pairs of boxes that overlap like two boxes of one face."""
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            inter = a.iou(b) * (a.area + b.area) / (1 + a.iou(b))
            if a.iou(b) >= 0.3 or inter >= 0.6 * min(a.area, b.area):
                out.append((a, b))
    return out


def test_a_12_megapixel_crowd_photo_gives_95_percent_of_its_faces_once(
    pipeline: Pipeline, faces: FaceSet, today: YuNetDetector
):
    (crowd,) = crowd_cases(faces.root, today, count=1)
    photo = pipeline.analyze_photo(crowd.data, crowd.name)
    boxes = [f.face.box for f in photo.faces]
    found, _ = match(boxes, crowd.truth)
    assert len(crowd.truth) >= 100
    assert found / len(crowd.truth) >= 0.95, f"{found} of {len(crowd.truth)} faces"
    assert not duplicates(boxes)
    assert (photo.width, photo.height, photo.turn) == (4032, 3024, 0)
    assert "tiles" in photo.looks


def test_a_person_registered_from_one_photo_is_the_nearest_face_of_a_crowd(
    pipeline: Pipeline, faces: FaceSet, today: YuNetDetector
):
    (crowd,) = crowd_cases(faces.root, today, count=1)
    photo = pipeline.analyze_photo(crowd.data, crowd.name)
    threshold = embedder_spec("sface").threshold
    groups = {p.path: set(p.person.split(";")) for p in faces.of_kind("group")}
    for person in ("barack_obama", "joe_biden", "kit_harington", "rose_leslie"):
        assert any(person in groups[path] for path, _ in crowd.origins), person
        sample = load_image(faces.people()[person][0], reduce_to=1920).pixels
        (registered,) = pipeline.analyze(sample)
        distances = [1.0 - float(np.dot(f.embedding, registered.embedding)) for f in photo.faces]
        nearest = int(np.argmin(distances))
        assert distances[nearest] <= threshold, person
        box = photo.faces[nearest].face.box
        origin = max(range(len(crowd.truth)), key=lambda i: crowd.truth[i].iou(box))
        assert person in groups[crowd.origins[origin][0]], person


def test_a_face_that_fills_the_frame_is_found_once(pipeline: Pipeline, faces: FaceSet, today: YuNetDetector):
    missed = []
    for case in filled_cases(faces.root, today):
        pixels, *_ = decode(case.data, case.name)
        found = pipeline.find(pixels).faces
        if len(found) != 1 or found[0].box.iou(case.truth[0]) < 0.4:
            missed.append((case.name, [f.box for f in found]))
    assert not missed


def test_a_photo_on_its_side_is_found_with_its_turn_and_boxes_in_its_own_pixels(
    pipeline: Pipeline, faces: FaceSet, today: YuNetDetector
):
    for case in turned_cases(faces.root, today):
        if case.source is None or case.source.parent.name not in ("joe_biden", "groups"):
            continue
        photo = pipeline.analyze_photo(case.data, case.name)
        assert photo.turn == case.turn, case.name
        found, _ = match([f.face.box for f in photo.faces], case.truth)
        assert found == len(case.truth), case.name
        # Shown upright, the photo has the faces today's detector finds in it upright, and no others.
        pixels, *_ = decode(case.data, case.name)
        expected = [f.box for f in today.detect(turn_image(pixels, photo.turn))]
        shown = [face_upright(f.face, photo.turn, photo.width, photo.height).box for f in photo.faces]
        assert match(shown, expected) == (len(expected), 0), case.name


def test_embeddings_of_a_face_in_a_turned_photo_match_the_upright_one(pipeline: Pipeline, faces: FaceSet):
    for relative in ("people/barack_obama/1.jpg", "people/rose_leslie/2.jpg", "groups/fr_two_people.jpg"):
        upright = load_image(faces.photo(relative), reduce_to=1920).pixels
        want = pipeline.analyze_photo(jpeg(upright, 95), relative)
        assert want.turn == 0 and want.faces
        for turn in (90, 180, 270):
            turned = pipeline.analyze_photo(jpeg(turn_image(upright, turn), 95), relative)
            assert turned.turn == (360 - turn) % 360
            h, w = turned.height, turned.width
            shown = [face_upright(f.face, turned.turn, w, h) for f in turned.faces]
            for expected in want.faces:
                i = max(range(len(shown)), key=lambda k: shown[k].box.iou(expected.face.box))
                assert shown[i].box.iou(expected.face.box) >= 0.8, (relative, turn)
                distance = 1.0 - float(np.dot(turned.faces[i].embedding, expected.embedding))
                assert distance < 0.05, (relative, turn, distance)


def place(canvas: np.ndarray, photo: np.ndarray, face: Face, width: int, centre: tuple[int, int]) -> Box:
    """Paste `photo` scaled so `face` is `width` px wide, the face's centre at `centre`; its box there."""
    s = width / face.box.w
    small = cv2.resize(photo, (round(photo.shape[1] * s), round(photo.shape[0] * s)), interpolation=cv2.INTER_AREA)
    b = face.box
    x0 = centre[0] - round((b.x + b.w / 2) * s)
    y0 = centre[1] - round((b.y + b.h / 2) * s)
    h, w = small.shape[:2]
    canvas[y0 : y0 + h, x0 : x0 + w] = small
    return Box(x0 + round(b.x * s), y0 + round(b.y * s), round(b.w * s), round(b.h * s))


def test_a_face_cut_by_a_tile_edge_is_kept_once_and_whole(pipeline: Pipeline, faces: FaceSet, today: YuNetDetector):
    width, height = 4032, 3024
    grid = tile_grid(width, height)
    # Inner tile edges: the right edge of the first tile, its bottom edge, and a corner further on.
    first = grid[0]
    corner = next(t for t in grid if t.x > 2000 and t.y > 0)
    points = [
        (first.x + first.w, 300),
        (2000, first.y + first.h),
        (corner.x + corner.w, corner.y + corner.h),
    ]
    assert first.w == TILE
    canvas = np.full((height, width, 3), 120, np.uint8)
    portrait = load_image(faces.photo("people/joe_biden/2.jpg")).pixels
    (face,) = today.detect(portrait)
    truth = [place(canvas, portrait, face, 44, point) for point in points]
    found = [f.box for f in pipeline.find(canvas, Looks(tiles="always")).faces]
    for box in truth:
        near = [f for f in found if f.iou(box) > 0.05]
        assert len(near) == 1, (box, near)
        assert near[0].iou(box) >= 0.5 and near[0].w >= 0.8 * box.w, (box, near)


def test_dev_photos_with_a_known_face_count_never_get_more_boxes_than_faces(pipeline: Pipeline, faces: FaceSet):
    known = [p for p in faces.photos if p.faces_in_photo is not None]
    assert len(known) >= 10
    for p in known:
        photo = pipeline.analyze_photo(p.path.read_bytes(), str(p.path))
        assert len(photo.faces) <= p.faces_in_photo, p.path  # type: ignore[operator]
        assert not duplicates([f.face.box for f in photo.faces])


def test_a_face_too_small_to_recognise_is_found_and_flagged(pipeline: Pipeline, faces: FaceSet, today: YuNetDetector):
    min_px = embedder_spec("sface").min_face_px
    assert 16 < min_px <= 40
    portrait = load_image(faces.photo("people/joe_biden/2.jpg")).pixels
    (face,) = today.detect(portrait)
    canvas = np.full((480, 640, 3), 120, np.uint8)
    box = place(canvas, portrait, face, 20, (320, 240))
    photo = pipeline.analyze_photo(jpeg(canvas), "small face")
    assert [f.face.box.iou(box) >= 0.5 for f in photo.faces] == [True]
    assert photo.small == (True,) and photo.min_face_px == min_px
    big = pipeline.analyze_photo(faces.photo("people/joe_biden/2.jpg").read_bytes(), "big face")
    assert big.small == (False,)


def test_the_single_look_is_todays_detector(pipeline: Pipeline, faces: FaceSet):
    pixels = load_image(faces.photo("groups/cf_016_8.jpg")).pixels
    assert [f.box for f in pipeline.find(pixels, None).faces] == [f.box for f in pipeline.detect(pixels)]
    assert [f.face.box for f in pipeline.analyze(pixels)] == [f.box for f in pipeline.detect(pixels)]
