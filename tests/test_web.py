"""The local web page (issue 14) over HTTP, with Starlette's TestClient, against
the real database, models and dev photos: the token, CSRF, uploads, paths,
every page and every change; and `facerec web` itself (address, Ctrl-C,
no network connection)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.testclient import TestClient

from facerec.usecases.groups.grouping import people_view, update_groups
from facerec.usecases.groups.suggest import near_misses
from facerec.usecases.library.index import index_folders
from facerec.usecases.library.search import photos_of
from facerec.usecases.people.register import register_photos
from facerec.usecases.people.users import delete_person
from facerec.web import actions
from facerec.web.pages import _read_form
from facerec.web.people_routes import people_screen
from tests.helpers import CLI, PROJECT, FaceSet, count
from tests.media import near_miss
from tests.webkit import Library, client, csrf, indexed_library, reset, state, stored_files


@pytest.fixture(scope="module")
def library(faces: FaceSet, pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """people/ and groups/ of the dev set, indexed once (distractors and negatives stay out: strangers)."""
    with indexed_library(
        tmp_path_factory.mktemp("web-data"), [faces.root / "people", faces.root / "groups"], pipeline
    ) as lib:
        yield lib


@pytest.fixture
def lib(library: Library) -> Library:
    reset(library)
    return library


@pytest.fixture
def web(lib: Library) -> Iterator[TestClient]:
    with client(lib) as c:
        yield c


def follow(c: TestClient, r) -> str:
    """The page a POST redirected to (with its one-time message)."""
    assert r.status_code == 303, (r.status_code, r.text[:500])
    page = c.get(r.headers["location"])
    assert page.status_code == 200, page.text[:500]
    return page.text


def flash(html: str) -> str:
    found = re.search(r'id="flash">([^<]*)<', html)
    assert found, "no message on the page"
    return found.group(1).replace("&#39;", "'")


GET_PAGES = ["/people", "/people?page=2", "/person?name=nobody", "/search", "/library", "/library/index/status"]


def every_get_path(lib: Library) -> list[str]:
    group = people_view(lib.ctx).groups[0]
    face = group.faces[0].face_id
    card = "-".join(str(f.face_id) for f in group.faces[:4])
    return [*GET_PAGES, f"/people/group/{group.id}", f"/thumb/face/{face}.jpg", f"/thumb/photo/{face}.jpg",
            f"/thumb/card/{card}.jpg",
            "/static/app.css", "/static/app.js", "/search/nosuchupload", "/"]  # fmt: skip


def post_routes(c: TestClient) -> list[str]:
    return sorted(
        {r.path for r in c.app.routes if isinstance(r, Route) and "POST" in (r.methods or set())}  # type: ignore[attr-defined]
    )


# -- the token ------------------------------------------------------------------------------------


def test_without_the_token_every_request_gets_403_and_no_data(lib: Library):
    with client(lib, logged_in=False) as c:
        for path in every_get_path(lib):
            r = c.get(path)
            assert r.status_code == 403, path
            assert "image" not in r.headers["content-type"] and "<img" not in r.text, path
            assert "/work/" not in r.text and str(lib.data_dir) not in r.text, path
        for path in post_routes(c):
            assert c.post(path, data={"csrf": csrf(c)}).status_code == 403, path
        c.cookies.set("facerec_token_8765", "guessed")
        assert c.get("/people").status_code == 403
        assert c.get("/people?token=guessed").status_code == 403


def test_the_printed_token_becomes_an_httponly_strict_cookie_and_leaves_the_address(lib: Library):
    with client(lib, logged_in=False) as c:
        token = c.app.state.web.keys.token
        r = c.get(f"/people?page=2&token={token}")
        assert r.status_code == 303 and r.headers["location"] == "/people?page=2"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"facerec_token_8765={token};")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert c.get("/people?page=2").status_code == 200  # the cookie is enough from now on
    with client(lib, logged_in=False) as other:  # another start, another token
        assert other.get(f"/people?token={token}").status_code == 403


def test_a_host_name_other_than_this_machine_is_refused(web: TestClient):
    assert web.get("/people", headers={"host": "attacker.example:8765"}).status_code == 400
    assert web.get("/people", headers={"host": "localhost:8765"}).status_code == 200


def test_only_get_head_and_post_are_answered(web: TestClient):
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        assert web.request(method, "/people").status_code == 405


# -- CSRF and GETs -----------------------------------------------------------------------------------


def test_every_post_without_the_csrf_token_is_refused_and_changes_nothing(lib: Library, web: TestClient):
    group = people_view(lib.ctx).groups[0]
    data = {"group": str(group.id), "name": "Mallory", "face": str(group.faces[0].face_id), "folder": "/tmp",
            "card": [f"g:{group.id}", f"g:{people_view(lib.ctx).groups[1].id}"], "confirm": "1"}  # fmt: skip
    before = state(lib)
    routes = post_routes(web)
    assert len(routes) >= 10
    for path in routes:
        for token in (None, "0" * 64, csrf(web)[:-1] + "x"):
            sent = data if token is None else {**data, "csrf": token}
            r = web.post(path, data=sent)
            assert r.status_code == 403, (path, r.status_code)
            assert "CSRF" in r.text
    assert state(lib) == before
    assert web.app.state.web.jobs.status().state == "idle"


def test_a_post_another_site_makes_is_refused_even_with_the_token(lib: Library, web: TestClient):
    group = people_view(lib.ctx).groups[0]
    before = state(lib)
    form = {"csrf": csrf(web), "group": str(group.id), "name": "Mallory"}
    for headers in (
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "http://evil.example"},
    ):
        assert web.post("/people/name", data=form, headers=headers).status_code == 403, headers
    assert state(lib) == before
    assert web.post("/people/name", data=form, headers={"sec-fetch-site": "same-origin"}).status_code == 303


def test_no_get_changes_anything(lib: Library, web: TestClient):
    before = state(lib)
    paths = every_get_path(lib)
    for path in paths:
        assert web.get(path).status_code in (200, 303, 404), path
    after = state(lib)
    assert after[:5] == before[:5]  # the database: not a row changed
    made = set(after[5]) - set(before[5])  # files: only the thumbnails that were looked at
    assert made and all(f.startswith("thumbnails/") for f in made), made


def test_every_get_route_is_listed_in_these_tests(web: TestClient):
    """A new GET route must be added to GET_PAGES (or every_get_path) so the tests above cover it."""
    listed = {p.split("?")[0] for p in GET_PAGES} | {
        "/",
        "/people/group/{group:int}",
        "/thumb/{kind:str}/{face:int}.jpg",
        "/thumb/card/{faces:str}.jpg",
        "/search/{upload:str}",
        "/search/{upload:str}/photo.jpg",
        "/video/{face:int}",  # tests/test_video_library.py (a library with a clip)
    }
    gets = {r.path for r in web.app.routes if isinstance(r, Route) and "GET" in (r.methods or set())}
    assert gets <= listed, gets - listed


# -- paths -----------------------------------------------------------------------------------------


def test_no_path_reaches_a_file_outside_what_the_page_serves(lib: Library, web: TestClient):
    secret = lib.data_dir / "secret.txt"
    secret.write_text("TOP SECRET")
    attempts = [
        "/static/../../../../etc/passwd",
        "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static/%2e%2e/%2e%2e/app.py",
        "/static/..%5c..%5capp.py",
        "/thumb/face/..%2f..%2fsecret.txt",
        "/thumb/face/../../secret.txt",
        "/thumb/..%2f..%2fsecret.txt/1.jpg",
        "/thumb/face/1.jpg/../../../secret.txt",
        "/search/..%2f..%2fsecret.txt/photo.jpg",
        "/person?name=../../../../etc/passwd",
        "/people/group/..%2f1",
    ]
    for path in attempts:
        r = web.get(path)
        assert r.status_code in (400, 404), (path, r.status_code)
        assert "root:" not in r.text and "TOP SECRET" not in r.text and "create_app" not in r.text, path
    assert web.get("/static/app.css").status_code == 200  # the folder itself is served


# -- uploads -------------------------------------------------------------------------------------------


def test_an_oversized_upload_is_refused_with_a_clear_message_and_nothing_is_stored(lib: Library, web: TestClient):
    before = stored_files(lib)
    big = b"\xff\xd8\xff\xe0" + os.urandom(26 * 1024 * 1024)
    r = web.post("/search", data={"csrf": csrf(web)}, files={"photo": ("big.jpg", big, "image/jpeg")})
    assert r.status_code == 413
    assert "too large: at most 25 MB; nothing was stored" in r.text
    assert stored_files(lib) == before and len(web.app.state.web.uploads) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"this is not a photo", "not an image"),
        ("truncated", "corrupt or truncated"),
        ("noface", "no face found"),
    ],
)
def test_a_corrupt_upload_is_refused_with_a_clear_message_and_nothing_is_stored(
    lib: Library, web: TestClient, faces: FaceSet, content, message: str
):
    if content == "truncated":
        content = faces.people()["barack_obama"][1].read_bytes()[:3000]
    elif content == "noface":
        content = faces.photo("negatives/cf_017_0_noface.jpg").read_bytes()
    before = state(lib)
    r = web.post("/search", data={"csrf": csrf(web)}, files={"photo": ("p.jpg", content, "image/jpeg")})
    assert r.status_code == 400
    assert message in r.text and "nothing was stored" in r.text
    assert state(lib) == before and len(web.app.state.web.uploads) == 0


def test_a_post_with_no_photo_says_so(web: TestClient):
    r = web.post("/search", data={"csrf": csrf(web)})
    assert r.status_code == 400 and "choose a photo to upload" in r.text


def test_an_upload_is_parsed_in_memory_and_never_spooled_to_a_temporary_file(faces: FaceSet):
    import anyio

    photo = faces.people()["barack_obama"][0].read_bytes() + bytes(3 * 1024 * 1024)  # beyond Starlette's 1 MB spool
    boundary = "xyz"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="big.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n".encode()
        + photo
        + f"\r\n--{boundary}--\r\n".encode()
    )
    kind = f"multipart/form-data; boundary={boundary}"

    class FakeRequest:
        headers = Headers({"content-type": kind, "content-length": str(len(body))})

        async def stream(self):
            yield body

    form = anyio.run(_read_form, FakeRequest(), 30 * 1024 * 1024)
    upload = form["photo"]
    assert upload.file._rolled is False  # type: ignore[union-attr]  # still in memory
    assert anyio.run(upload.read) == photo  # type: ignore[union-attr]


def test_an_uploaded_photo_finds_every_library_photo_of_that_person_and_is_not_kept(
    lib: Library, web: TestClient, faces: FaceSet, tmp_path: Path
):
    before = state(lib)
    query = faces.photo("groups/fr_two_people.jpg")  # Obama left, Biden right
    r = web.post("/search", data={"csrf": csrf(web)}, files={"photo": ("two.jpg", query.read_bytes(), "image/jpeg")})
    assert r.status_code == 303 and r.headers["location"].startswith("/search/")
    result = web.get(r.headers["location"] + "?face=1")
    assert result.status_code == 200
    shown = set(re.findall(r'title="([^"]+)">', result.text))
    obama = {str(p) for p in faces.people()["barack_obama"]}
    assert obama <= shown and str(faces.photo("groups/fr_obama_and_biden.jpg")) in shown
    assert not shown & {str(p) for p in faces.people()["joe_biden"]}
    biden = web.get(r.headers["location"] + "?face=2").text
    assert {str(p) for p in faces.people()["joe_biden"]} <= set(re.findall(r'title="([^"]+)">', biden))
    assert web.get(r.headers["location"] + "/photo.jpg").headers["content-type"] == "image/jpeg"
    assert web.get(r.headers["location"] + "?face=9").status_code == 400
    # Nothing of it was stored: not in the database, not in the data directory (and not in a
    # temporary file: see the test above).
    after = state(lib)
    assert after[:5] == before[:5]
    assert [f for f in after[5] if not f.startswith("thumbnails/")] == [f for f in before[5]]


def test_a_face_of_an_upload_is_kept_only_when_asked_and_only_as_a_crop(lib: Library, web: TestClient, faces: FaceSet):
    query = faces.photo("groups/fr_two_people.jpg")
    r = web.post("/search", data={"csrf": csrf(web)}, files={"photo": ("two.jpg", query.read_bytes(), "image/jpeg")})
    key = r.headers["location"]
    html = follow(web, web.post(f"{key}/keep", data={"csrf": csrf(web), "face": "2", "name": "Joe"}))
    assert "registered 'Joe': 1 sample(s); only the face crop is kept" in flash(html)
    crops = list((lib.data_dir / "captures").iterdir())
    assert len(crops) == 1 and crops[0].stat().st_size < query.stat().st_size / 4
    assert stat.S_IMODE(crops[0].stat().st_mode) == 0o600
    assert count(lib.db, "SELECT count(*) FROM faces f JOIN people p ON p.id = f.person_id WHERE p.name = 'Joe'") == 1
    # Face 1 is Obama: adding him to Joe asks first (he is unlike Joe's sample).
    question = web.post(f"{key}/keep", data={"csrf": csrf(web), "face": "1", "name": "Joe"})
    assert question.status_code == 200 and "is unlike every sample of 'Joe'" in question.text.replace("&#39;", "'")
    r = web.post(f"{key}/keep", data={"csrf": csrf(web), "face": "2", "name": "Barack"})
    assert r.status_code == 200 and "looks like registered person 'Joe'" in r.text.replace("&#39;", "'")
    assert (
        count(
            lib.db,
            "SELECT count(*) FROM faces WHERE person_id IS NOT NULL AND picture_id IN"
            " (SELECT id FROM pictures WHERE source = 'capture')",
        )
        == 1
    )  # asking stored nothing


def test_an_upload_that_is_gone_says_so(web: TestClient):
    r = web.get("/search/expired123")
    assert r.status_code == 404 and "upload it again" in r.text


# -- People ---------------------------------------------------------------------------------------------


def cards(html: str) -> list[str]:
    return re.findall(r'data-ref="([^"]+)"', html)


def test_the_people_page_shows_people_then_groups_largest_first_with_face_thumbnails(
    lib: Library, web: TestClient, faces: FaceSet
):
    register_photos(lib.ctx, "Angelina", [faces.people()["deepface_angelina"][0]])  # a library photo: attaches its face
    html = web.get("/people").text
    refs = cards(html)
    groups = people_view(lib.ctx).groups
    assert refs == ["p:Angelina"] + [f"g:{g.id}" for g in groups]
    sizes = [len(g.faces) for g in groups]
    assert sizes == sorted(sizes, reverse=True) and len(groups) >= 15
    shown = re.findall(r'src="/thumb/card/([\d-]+)\.jpg"', html)  # one image per card: its first 4 faces
    assert shown[1:] == ["-".join(str(f.face_id) for f in g.faces[:4]) for g in groups]
    assert f"{len(groups[0].faces)} faces" in html


def test_people_are_paged(lib: Library, web: TestClient):
    total = len(people_view(lib.ctx).groups)
    pages = [people_screen(lib.ctx, n, page_size=5) for n in range(1, 10)]
    assert pages[0].pages == -(-total // 5)
    seen = [c.ref for p in pages[: pages[0].pages] for c in p.cards]
    assert len(seen) == total == len(set(seen))
    assert pages[-1].page == pages[0].pages  # past the end: the last page
    assert web.get("/people?page=999").status_code == 200 and web.get("/people?page=abc").status_code == 200


def test_naming_a_group_makes_its_faces_a_registered_person(lib: Library, web: TestClient, faces: FaceSet):
    group = lib.group_with(faces.people()["deepface_jennifer"][0])
    html = follow(web, web.post("/people/name", data={"csrf": csrf(web), "group": group.id, "name": "Jennifer"}))
    assert flash(html) == f"{len(group.faces)} faces named 'Jennifer'"
    assert "p:Jennifer" in cards(html) and f"g:{group.id}" not in cards(html)
    person = web.get("/person?name=Jennifer").text
    assert f"{len(group.faces)} samples · {len(group.faces)} library photos" in person
    for f in group.faces:
        assert f"/thumb/face/{f.face_id}.jpg" in person
    assert web.get("/person?name=Nobody").status_code == 404


def test_a_bad_name_is_one_message_and_nothing_changes(lib: Library, web: TestClient):
    group = people_view(lib.ctx).groups[0]
    before = state(lib)
    html = follow(web, web.post("/people/name", data={"csrf": csrf(web), "group": group.id, "name": "  "}))
    assert "name" in flash(html).lower() and "flash error" in html
    gone = follow(web, web.post("/people/name", data={"csrf": csrf(web), "group": "999999", "name": "X"}))
    assert "no group 999999" in flash(gone)
    assert state(lib) == before


def test_naming_a_group_that_looks_like_someone_else_asks_first(
    lib: Library, web: TestClient, faces: FaceSet, tmp_path: Path
):
    obama = faces.people()["barack_obama"]
    group = lib.group_with(obama[1])
    copy = tmp_path / "obama.jpg"  # not a library photo: registering it attaches no library face
    shutil.copy(obama[0], copy)
    register_photos(lib.ctx, "Barack", [copy])
    before = state(lib)
    form = {"csrf": csrf(web), "group": group.id, "name": "Joe", "next": "/people"}
    r = web.post("/people/name", data=form)
    assert r.status_code == 200
    text = r.text.replace("&#39;", "'")
    assert re.search(
        rf"\d+ of the {len(group.faces)} faces of group {group.id} look like registered person 'Barack'", text
    )
    assert "store them as 'Joe' anyway?" in text.lower() or "Store them as 'Joe' anyway?" in text
    assert state(lib) == before  # asking changed nothing
    assert 'name="confirm" value="1"' in r.text
    html = follow(web, web.post("/people/name", data={**form, "confirm": "1"}))
    assert flash(html) == f"{len(group.faces)} faces named 'Joe'"


def test_merging_selected_cards(lib: Library, web: TestClient, faces: FaceSet):
    people = faces.people()
    a, b = lib.group_with(people["kit_harington"][0]), lib.group_with(people["rose_leslie"][0])
    form = {"csrf": csrf(web), "card": [f"g:{a.id}", f"g:{b.id}"]}
    asked = web.post("/people/merge", data=form)  # two different people: the guard asks first
    assert asked.status_code == 200 and "do not look like one person" in asked.text
    html = follow(web, web.post("/people/merge", data={**form, "confirm": "1"}))
    assert flash(html) == f"1 group merged into group {a.id}"
    merged = [g for g in people_view(lib.ctx).groups if g.id == a.id][0]
    assert len(merged.faces) == len(a.faces) + len(b.faces) and f"g:{b.id}" not in cards(html)
    # A group into a registered person names the group; two people ask first.
    follow(web, web.post("/people/name", data={"csrf": csrf(web), "group": a.id, "name": "Kit"}))
    c = lib.group_with(people["deepface_mark"][0])
    form = {"csrf": csrf(web), "card": ["p:Kit", f"g:{c.id}"]}
    asked = web.post("/people/merge", data=form)  # Mark's group is unlike Kit's samples: asked first
    assert asked.status_code == 200 and "unlike the samples of" in asked.text.replace("&#39;", "'")
    html = follow(web, web.post("/people/merge", data={**form, "confirm": "1"}))
    assert flash(html) == "1 card merged into 'Kit'"
    d = lib.group_with(people["deepface_elon"][0])
    follow(web, web.post("/people/name", data={"csrf": csrf(web), "group": d.id, "name": "Elon"}))
    r = web.post("/people/merge", data={"csrf": csrf(web), "card": ["p:Kit", "p:Elon"]})
    assert r.status_code == 200 and "Merge 'Elon' into 'Kit'?" in r.text.replace("&#39;", "'")
    assert count(lib.db, "SELECT count(*) FROM people WHERE name = 'Elon'") == 1
    follow(web, web.post("/people/merge", data={"csrf": csrf(web), "card": ["p:Kit", "p:Elon"], "confirm": "1"}))
    assert count(lib.db, "SELECT count(*) FROM people") == 1
    one = follow(web, web.post("/people/merge", data={"csrf": csrf(web), "card": ["p:Kit"]}))
    assert flash(one) == "select at least two cards to merge"


def test_not_this_person_takes_a_face_out_of_its_group_and_away_from_its_person(
    lib: Library, web: TestClient, faces: FaceSet
):
    group = lib.group_with(faces.people()["deepface_scarlett"][0])
    face = group.faces[-1].face_id
    page = web.get(f"/people/group/{group.id}").text
    assert f'data-split="{face}"' in page
    html = follow(
        web, web.post("/people/split", data={"csrf": csrf(web), "face": face, "next": f"/people/group/{group.id}"})
    )
    assert flash(html) == f"face {face} taken out of group {group.id}"
    assert f'data-split="{face}"' not in html
    follow(web, web.post("/people/name", data={"csrf": csrf(web), "group": group.id, "name": "Scarlett"}))
    named = group.faces[0].face_id
    html = follow(
        web, web.post("/people/split", data={"csrf": csrf(web), "face": named, "next": "/person?name=Scarlett"})
    )
    assert flash(html) == f"face {named} is no longer 'Scarlett'"
    assert count(lib.db, "SELECT count(*) FROM face_not_person WHERE face_id = %s", named) == 1


def test_regrouping_from_the_page(lib: Library, web: TestClient):
    html = follow(web, web.post("/people/regroup", data={"csrf": csrf(web)}))
    assert flash(html) == f"found {people_view(lib.ctx, limit=0).total} groups of unnamed faces"


def test_remove_sample_and_undo_from_the_page(lib: Library, web: TestClient, faces: FaceSet):
    assert actions.UNDO and actions.REMOVE_SAMPLE
    register_photos(lib.ctx, "Obama", faces.people()["barack_obama"][:1])
    update_groups(lib.ctx)  # as the People page shows it (its matches brought up to date)
    before = state(lib)
    html = web.get("/person?name=Obama").text
    assert 'action="/undo"' in html and "remove-sample" in html
    (face,) = re.findall(r'name="face" value="(\d+)"', html.split("remove-sample", 1)[1])[:1]
    done = follow(web, web.post("/people/remove-sample", data={"csrf": csrf(web), "face": face}))
    assert flash(done) == f"face {face} is no longer a sample of 'Obama'"
    assert state(lib) != before
    undone = follow(web, web.post("/undo", data={"csrf": csrf(web)}))
    assert flash(undone).startswith("undone: removed sample")
    assert state(lib) == before


def cards_on(html: str) -> list[str]:
    return re.findall(r'data-ref="([^"]+)"', html)


def test_hiding_a_group_takes_it_off_the_people_page_until_shown_again_or_undone(lib: Library, web: TestClient):
    assert actions.HIDE_GROUP
    first, second = people_view(lib.ctx).groups[:2]
    total = people_view(lib.ctx, limit=0).total
    before = state(lib)
    page = web.get("/people").text
    assert f"g:{first.id}" in cards_on(page) and f'data-hide="{first.id}"' in page and "show-hidden" not in page
    html = follow(web, web.post("/people/hide", data={"csrf": csrf(web), "group": first.id, "next": "/people"}))
    assert flash(html) == f"group {first.id} hidden from People"
    assert f"g:{first.id}" not in cards_on(html) and f"g:{second.id}" in cards_on(html)
    assert f"{total - 1} groups of unnamed faces" in html and 'id="show-hidden">1 hidden<' in html
    assert people_view(lib.ctx, limit=0).total == total - 1
    hidden = web.get("/people?hidden=1").text
    assert cards_on(hidden) == [f"g:{first.id}"] and f'data-unhide="{first.id}"' in hidden
    assert "Hidden from People" in web.get(f"/people/group/{first.id}").text  # its faces can still be looked at
    undone = follow(web, web.post("/undo", data={"csrf": csrf(web)}))
    assert flash(undone) == f"undone: hid group {first.id}" and f"g:{first.id}" in cards_on(undone)
    assert state(lib) == before
    follow(web, web.post("/people/hide", data={"csrf": csrf(web), "group": first.id}))
    html = follow(web, web.post("/people/unhide", data={"csrf": csrf(web), "group": first.id, "next": "/people"}))
    assert flash(html) == f"group {first.id} shown in People again" and f"g:{first.id}" in cards_on(html)
    assert state(lib)[:3] == before[:3] and state(lib)[3] == before[3]
    html = follow(web, web.post("/people/unhide", data={"csrf": csrf(web), "group": first.id, "next": "/people"}))
    assert flash(html).startswith(f"group {first.id} not hidden")
    html = follow(web, web.post("/people/hide", data={"csrf": csrf(web), "group": "999999", "next": "/people"}))
    assert flash(html).startswith("no group 999999")
    assert "999999" not in str(state(lib)[3])


def test_the_person_page_asks_about_a_face_of_theirs_just_past_the_threshold(
    lib: Library, web: TestClient, faces: FaceSet, tmp_path: Path
):
    scarlett = faces.people()["deepface_scarlett"]
    folder = tmp_path / "more"
    folder.mkdir()
    near_miss(lib.ctx.pipeline, scarlett[0], scarlett[1:], folder / "blurred.jpg", 0.575, 0.595)
    index_folders(lib.ctx, [folder], workers=1)
    register_photos(lib.ctx, "Scarlett", scarlett[:1])
    update_groups(lib.ctx)  # as the People page shows it (undo below goes back there)
    near = near_misses(lib.ctx, "Scarlett")
    found = {m.picture for m in photos_of(lib.ctx, "Scarlett").matches}
    assert near.matches[0].picture == str(folder / "blurred.jpg") and not found & {near.matches[0].picture}
    assert all(
        lib.ctx.threshold < m.distance <= lib.ctx.threshold + lib.ctx.numbers.question_band for m in near.matches
    )
    page = web.get("/person?name=Scarlett").text
    asked = re.findall(r'data-maybe="(\d+)"', page)
    assert asked == [str(m.hit.face_id) for m in near.matches] and "Is this Scarlett?" in page
    assert page.index('id="maybe"') > page.index("<h2>Library photos</h2>")  # after her photos
    face = int(asked[0])
    before = state(lib)
    html = follow(
        web, web.post("/person/answer", data={"csrf": csrf(web), "face": face, "name": "Scarlett", "answer": "no"})
    )
    assert flash(html) == f"face {face} is not 'Scarlett': remembered"
    assert f'data-maybe="{face}"' not in html  # not asked again
    assert count(lib.db, "SELECT count(*) FROM face_not_person WHERE face_id = %s", face) == 1
    follow(web, web.post("/undo", data={"csrf": csrf(web)}))
    assert state(lib) == before and f'data-maybe="{face}"' in web.get("/person?name=Scarlett").text
    html = follow(
        web, web.post("/person/answer", data={"csrf": csrf(web), "face": face, "name": "Scarlett", "answer": "yes"})
    )
    assert flash(html) == f"face {face} is now a sample of 'Scarlett'" and f'data-maybe="{face}"' not in html
    assert count(lib.db, "SELECT count(*) FROM faces f JOIN people p ON p.id = f.person_id"
                 " WHERE f.id = %s AND p.name = 'Scarlett'", face) == 1  # fmt: skip
    follow(web, web.post("/undo", data={"csrf": csrf(web)}))
    assert state(lib) == before
    r = web.post("/person/answer", data={"csrf": csrf(web), "face": face, "name": "Nobody", "answer": "no"})
    assert r.status_code == 303 and state(lib) == before


def test_not_this_person_on_a_library_photo_of_a_person_sticks_until_undone(
    lib: Library, web: TestClient, faces: FaceSet
):
    register_photos(lib.ctx, "Scarlett", faces.people()["deepface_scarlett"][:1])
    update_groups(lib.ctx)  # as the People page shows it (undo below goes back there)
    photos = photos_of(lib.ctx, "Scarlett")
    page = web.get("/person?name=Scarlett").text
    offered = [int(f) for f in re.findall(r'data-not="(\d+)"', page)]
    recognised = [m.hit.face_id for m in photos.matches if m.hit.person is None]
    assert offered == recognised and len(offered) >= 2  # named faces (the sample's photo) have no such button
    face = offered[0]
    picture = next(m.picture for m in photos.matches if m.hit.face_id == face)
    before = state(lib)
    form = {"csrf": csrf(web), "face": face, "name": "Scarlett", "answer": "no", "next": "/person?name=Scarlett"}
    html = follow(web, web.post("/person/answer", data=form))
    assert flash(html) == f"face {face} is not 'Scarlett': remembered"
    assert f'data-not="{face}"' not in html and picture not in {
        m.picture for m in photos_of(lib.ctx, "Scarlett").matches
    }
    assert photos_of(lib.ctx, "Scarlett").total == photos.total - 1
    follow(web, web.post("/undo", data={"csrf": csrf(web)}))
    assert state(lib) == before and photos_of(lib.ctx, "Scarlett").total == photos.total


# -- thumbnails -------------------------------------------------------------------------------------------


def test_thumbnails_are_made_once_kept_private_and_revalidated(lib: Library, web: TestClient):
    face = people_view(lib.ctx).groups[0].faces[0].face_id
    r = web.get(f"/thumb/face/{face}.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
    assert r.headers["cache-control"] == "private, max-age=86400"
    etag = r.headers["etag"]
    folder = lib.data_dir / "thumbnails"
    (made,) = folder.iterdir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(made.stat().st_mode) == 0o600
    mtime = made.stat().st_mtime_ns
    again = web.get(f"/thumb/face/{face}.jpg")
    assert again.content == r.content and made.stat().st_mtime_ns == mtime  # from the cache, not made again
    assert web.get(f"/thumb/face/{face}.jpg", headers={"if-none-match": etag}).status_code == 304
    photo = web.get(f"/thumb/photo/{face}.jpg")
    assert photo.status_code == 200 and photo.headers["etag"] != etag and len(list(folder.iterdir())) == 2
    from PIL import Image

    assert Image.open(io.BytesIO(r.content)).size == (160, 160)
    assert max(Image.open(io.BytesIO(photo.content)).size) <= 480
    assert web.get("/thumb/face/999999.jpg").status_code == 404
    assert web.get(f"/thumb/other/{face}.jpg").status_code == 404


def test_a_card_is_one_image_of_its_faces_made_once(lib: Library, web: TestClient):
    from PIL import Image

    group = people_view(lib.ctx).groups[0]
    ids = [f.face_id for f in group.faces[:4]]
    url = f"/thumb/card/{'-'.join(map(str, ids))}.jpg"
    r = web.get(url)
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (240, 240)
    made = sorted(p.name for p in (lib.data_dir / "thumbnails").iterdir())
    assert len(made) == len(ids) + 1 and sum(n.startswith("card-") for n in made) == 1  # its faces are cached too
    assert web.get(url).content == r.content and sorted(p.name for p in (lib.data_dir / "thumbnails").iterdir()) == made
    assert web.get(url, headers={"if-none-match": r.headers["etag"]}).status_code == 304
    for bad in ("1-2-3-4-5", "1--2", "-1", "a", "1-999999", ""):
        assert web.get(f"/thumb/card/{bad}.jpg").status_code == 404, bad


def test_facerec_web_makes_the_first_pages_card_images_at_start(lib: Library):
    from facerec.web.app import create_app
    from facerec.web.security import cookie_name, new_secrets

    keys = new_secrets()
    cards_dir = lib.data_dir / "thumbnails"
    with TestClient(create_app(lib.ctx, keys, prewarm=True), base_url="http://127.0.0.1:8765") as c:
        c.cookies.set(cookie_name(8765), keys.token)
        wanted = re.findall(r'src="/thumb/card/([\d-]+)\.jpg"', c.get("/people").text)
        deadline = time.monotonic() + 120
        while len(list(cards_dir.glob("card-*.jpg"))) < len(wanted):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        made = {p.name: p.stat().st_mtime_ns for p in cards_dir.iterdir()}
        for ids in wanted:
            assert c.get(f"/thumb/card/{ids}.jpg").status_code == 200
        assert {p.name: p.stat().st_mtime_ns for p in cards_dir.iterdir()} == made  # nothing made on the view


def test_a_thumbnail_of_a_photo_that_is_gone_is_a_placeholder(
    lib: Library, web: TestClient, faces: FaceSet, tmp_path: Path
):
    copy = tmp_path / "gone.jpg"
    shutil.copy(faces.people()["barack_obama"][0], copy)
    register_photos(lib.ctx, "Gone", [copy])
    (face,) = re.findall(r"/thumb/face/(\d+)\.jpg", web.get("/person?name=Gone").text)[:1]
    copy.unlink()
    r = web.get(f"/thumb/photo/{face}.jpg")
    assert r.status_code == 404 and r.headers["content-type"].startswith("image/svg+xml")
    assert web.get(f"/thumb/face/{face}.jpg").status_code == 404


def test_deleting_a_person_removes_the_thumbnails_of_their_faces(lib: Library, web: TestClient, faces: FaceSet):
    group = lib.group_with(faces.people()["deepface_jennifer"][0])
    assert web.get(f"/thumb/card/{'-'.join(str(f.face_id) for f in group.faces[:4])}.jpg").status_code == 200
    follow(web, web.post("/people/name", data={"csrf": csrf(web), "group": group.id, "name": "Jennifer"}))
    other = lib.group_with(faces.people()["deepface_angelina"][0]).faces[0].face_id
    for f in group.faces:
        assert web.get(f"/thumb/face/{f.face_id}.jpg").status_code == 200
    assert web.get(f"/thumb/photo/{other}.jpg").status_code == 200
    done = delete_person(lib.ctx, "Jennifer")
    assert done.thumbnails_removed == len(group.faces) + 1  # each face, and the card they were on
    left = [p.name for p in (lib.data_dir / "thumbnails").iterdir()]
    assert left == [n for n in left if n.startswith(f"{other}-photo-")] and len(left) == 1


# -- library ------------------------------------------------------------------------------------------------


def test_the_library_page_shows_counts_folders_and_the_last_index_run(lib: Library, web: TestClient, faces: FaceSet):
    html = web.get("/library").text
    photos = count(lib.db, "SELECT count(*) FROM pictures WHERE indexed_at IS NOT NULL")
    stored = count(lib.db, "SELECT count(*) FROM faces")
    assert f'id="stat-photos">{photos}<' in html and f'id="stat-faces">{stored}<' in html
    assert re.search(r'id="stat-last">\d{4}-\d\d-\d\d \d\d:\d\d<', html)
    assert f"<td>{faces.root / 'groups'}</td><td>14</td>" in html


def test_indexing_a_folder_from_the_page_shows_progress_and_finds_groups(
    lib: Library, web: TestClient, faces: FaceSet, tmp_path: Path
):
    folder = tmp_path / "new photos"
    folder.mkdir()
    for i, p in enumerate(faces.of_kind("distractor")):
        shutil.copy(p.path, folder / f"{i}{p.path.suffix}")
    (folder / "broken.jpg").write_bytes(b"not a photo")
    bad = follow(web, web.post("/library/index", data={"csrf": csrf(web), "folder": str(tmp_path / "nope")}))
    assert "no such folder" in flash(bad)
    html = follow(web, web.post("/library/index", data={"csrf": csrf(web), "folder": str(folder)}))
    assert flash(html) == "indexing started" and 'data-state="running"' in html
    again = follow(web, web.post("/library/index", data={"csrf": csrf(web), "folder": str(folder)}))
    assert "already indexing" in flash(again) or "indexing started" in flash(again)
    deadline = time.monotonic() + 120
    while (status := web.get("/library/index/status").json())["state"] == "running":
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert status["state"] == "done", status
    assert status["done"] == status["total"] == 6 and status["faces"] >= 5
    assert status["failed"] == [
        {"picture": str(folder / "broken.jpg"), "error": "not an image, or a format that cannot be read"}
    ]
    library = web.get("/library").text
    assert f"<td>{folder}</td><td>5</td>" in library


def test_stopping_an_index_keeps_what_it_stored(lib: Library, web: TestClient, faces: FaceSet, tmp_path: Path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i, p in enumerate(faces.of_kind("face")[:30]):
        shutil.copy(p.path, folder / f"{i:02d}{p.path.suffix}")
    follow(web, web.post("/library/index", data={"csrf": csrf(web), "folder": str(folder)}))
    deadline = time.monotonic() + 120
    while web.get("/library/index/status").json()["done"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    follow(web, web.post("/library/index/stop", data={"csrf": csrf(web)}))
    while (status := web.get("/library/index/status").json())["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status["state"] in ("stopped", "done")
    stored = count(lib.db, "SELECT count(*) FROM pictures WHERE starts_with(picture, %s)", str(folder) + "/")
    assert 1 <= stored <= 30 and (status["state"] == "done") == (stored == 30)


# -- nothing from elsewhere -------------------------------------------------------------------------------------


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data", "formaction") and value:
                self.refs.append(value)


def test_served_pages_reference_nothing_outside_this_server(lib: Library, web: TestClient, faces: FaceSet):
    register_photos(lib.ctx, "Biden", [faces.people()["joe_biden"][0]])
    r = web.post(
        "/search",
        data={"csrf": csrf(web)},
        files={"photo": ("q.jpg", faces.people()["joe_biden"][1].read_bytes(), "image/jpeg")},
    )
    group = people_view(lib.ctx).groups[0].id
    pages = ["/people", "/person?name=Biden", f"/people/group/{group}", "/search", r.headers["location"], "/library"]
    for path in pages:
        resp = web.get(path)
        assert resp.status_code == 200, path
        assert "default-src 'none'" in resp.headers["content-security-policy"]
        assert resp.headers["cache-control"] == "no-store" and resp.headers["referrer-policy"] == "no-referrer"
        parser = _Refs()
        parser.feed(resp.text)
        assert parser.refs, path
        outside = [ref for ref in parser.refs if not ref.startswith("/") or ref.startswith("//")]
        assert outside == [], (path, outside)
        assert not re.search(r"https?://|@import", resp.text.replace("http://www.w3.org/2000/svg", "")), path
    for asset in ("/static/app.css", "/static/app.js", "/static/icon.svg"):
        text = web.get(asset).text.replace("http://www.w3.org/2000/svg", "")
        assert not re.search(r"https?://|//[a-z]|@import|url\(", text), asset


# -- facerec web, the command ---------------------------------------------------------------------------------


def _start(
    cli: CLI, *args: str, env: dict[str, str] | None = None, strace: list[str] | None = None
) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [*(strace or []), sys.executable, str(PROJECT / "face_recognition.py"), "web", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or cli.env, cwd=cli.cwd,
    )  # fmt: skip
    _started.append(proc)
    return proc


@pytest.fixture(autouse=True)
def _no_server_left_behind() -> Iterator[None]:
    """A test that fails midway must not leave a `facerec web` running."""
    yield
    for proc in _started:
        if proc.poll() is None:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
            for pid in children.read_text().split() if children.exists() else []:  # under strace: facerec itself
                os.kill(int(pid), signal.SIGKILL)
            proc.kill()
            proc.wait(30)
    _started.clear()


_started: list[subprocess.Popen[str]] = []


def _address(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else ""
    return line.strip()


def _get(url: str, cookie: str | None = None) -> tuple[int, str, dict[str, str]]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):  # type: ignore[no-untyped-def]
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with opener.open(request, timeout=30) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def test_facerec_web_prints_its_address_alone_on_a_line_and_ctrl_c_stops_it_cleanly(cli: CLI):
    proc = _start(cli, "--port", "0")
    try:
        url = _address(proc)
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{43})", url)
        assert match, url
        port = int(match.group(1))
        status, _, headers = _get(url)
        assert status == 303 and "HttpOnly" in headers["set-cookie"]
        cookie = headers["set-cookie"].split(";")[0]
        status, body, _ = _get(f"http://127.0.0.1:{port}/people", cookie)
        assert status == 200 and "People" in body
        assert _get(f"http://127.0.0.1:{port}/people")[0] == 403
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "facerec web: stopped" in err and "Traceback" not in err
    with socket.socket() as s:  # nobody listens on the port any more (connections may linger in TIME_WAIT)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def test_facerec_web_on_another_address_warns_and_a_port_in_use_is_one_line(cli: CLI):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = cli("web", "--port", str(port), timeout=60)
        assert r.returncode == 1 and r.stderr.count("\n") == 1
        assert f"port {port} on 127.0.0.1 is in use; pass --port N" in r.stderr
    assert cli("web", "--port", "70000").returncode == 2
    proc = _start(cli, "--host", "0.0.0.0", "--port", "0")
    try:
        _address(proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "warning: listening on 0.0.0.0, not only on this machine" in err


@pytest.mark.slow
def test_facerec_web_opens_no_network_connection_and_writes_nothing_to_home(cli: CLI, tmp_path: Path, faces: FaceSet):
    """As test_privacy's strace test, for the web page's dependencies: it listens on 127.0.0.1
    and connects nowhere (AF_INET), however it is used, and leaves nothing in HOME."""
    strace = shutil.which("strace")
    if strace is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("strace is not installed (apt-get install strace) - required under CI")
        pytest.skip("strace is not installed")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in cli.env.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")} | {"HOME": str(home)}
    log = tmp_path / "web.strace"
    trace = [strace, "-f", "-qq", "-e", "trace=connect,bind,sendto,sendmsg", "-e", "signal=none", "-o", str(log)]
    proc = _start(cli, "--port", "0", env=env, strace=trace)
    try:
        url = _address(proc)
        port = int(url.split(":")[2].split("/")[0])
        cookie = _get(url)[2]["set-cookie"].split(";")[0]
        for path in ("/people", "/library", "/search", "/static/app.js"):
            assert _get(f"http://127.0.0.1:{port}{path}", cookie)[0] == 200, path
    finally:
        traced = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        for pid in traced:  # Ctrl-C to facerec itself, not to strace
            os.kill(int(pid), signal.SIGINT)
        proc.communicate(timeout=60)
    assert proc.returncode == 0
    calls = log.read_text().splitlines()
    inet = [c for c in calls if "AF_INET" in c]
    assert inet and all("bind(" in c and '"127.0.0.1"' in c for c in inet), inet
    assert list(home.rglob("*")) == []


def test_the_menu_offers_the_web_page():
    from facerec.ui.console import Console
    from facerec.ui.menu import Menu

    menu = Menu.__new__(Menu)
    Menu.__init__(menu, None, Console())  # type: ignore[arg-type]
    assert [i.label for i in menu.items if i.key == "9"] == ["Open the web page (people, search, library in a browser)"]


def test_the_web_command_is_in_the_help(cli: CLI):
    r = cli("web", "--help")
    assert r.returncode == 0 and "--port" in r.stdout and "--host" in r.stdout and "--open" in r.stdout


def test_the_person_page_says_how_not_this_person_differs_from_remove_sample(
    lib: Library, web: TestClient, faces: FaceSet
):
    """Issue 20: the two buttons stood side by side with nothing saying the difference."""
    register_photos(lib.ctx, "Obama", faces.people()["barack_obama"][:1])
    html = web.get("/person?name=Obama").text
    (face,) = re.findall(r'name="face" value="(\d+)"', html.split("remove-sample", 1)[1])[:1]
    split = re.search(rf'<button[^>]*data-split="{face}"[^>]*>', html)
    remove = re.search(r"<button[^>]*>Remove sample</button>", html)
    assert split and remove
    split_title = re.search(r'title="([^"]*)"', split.group(0))
    remove_title = re.search(r'title="([^"]*)"', remove.group(0))
    assert split_title and "someone else" in split_title.group(1) and "remembered" in split_title.group(1)
    assert remove_title and "stop using this face as a sample of Obama" in remove_title.group(1)
    assert "the photo stays" in remove_title.group(1)
    help_text = re.sub(r"<[^>]+>", "", html.split('id="sample-help">', 1)[1].split("</p>", 1)[0]).replace("&#39;", "'")
    assert help_text.startswith("Not this person: this face is someone else;")
    assert "Remove sample: the face is Obama, but stop using it as a sample" in help_text
    assert "the photo stays where it is, in the library if it was indexed" in help_text
    # On a group's page, "Not this person" says what it does there.
    group = people_view(lib.ctx).groups[0]
    page = web.get(f"/people/group/{group.id}").text
    assert "take it out of this group (remembered" in page


def grey_share(pixels: np.ndarray) -> float:
    """The share of `pixels` that are the flat grey a card or face tile is filled with where there is no photo."""
    flat = (pixels.max(axis=2).astype(int) - pixels.min(axis=2).astype(int)) <= 6
    level = pixels.mean(axis=2)
    return float(np.mean(flat & (np.abs(level - 200) <= 6) | flat & (np.abs(level - 227) <= 6)))


def test_the_card_of_a_face_in_a_small_photo_is_the_face_not_grey(
    lib: Library, web: TestClient, faces: FaceSet, tmp_path: Path
):
    """Issue 20: cards of small photos showed small faces in grey squares."""
    from PIL import Image

    photo = faces.people()["deepface_scarlett"][0]
    pixels = cv2.imread(str(photo))
    (found,) = lib.ctx.pipeline.analyze(pixels)
    b = found.face.box
    m = b.w // 10
    crop = pixels[max(0, b.y - m) : b.y + b.h + m, max(0, b.x - m) : b.x + b.w + m]
    small = cv2.resize(crop, (100, round(100 * crop.shape[0] / crop.shape[1])), interpolation=cv2.INTER_AREA)
    folder = tmp_path / "small"
    folder.mkdir()
    cv2.imwrite(str(folder / "scarlett-small.jpg"), small)  # a face thumbnail-sized photo, as old albums have
    index_folders(lib.ctx, [folder], workers=1)
    with lib.db.transaction() as cur:
        cur.execute(
            "SELECT f.id FROM faces f JOIN pictures p ON p.id = f.picture_id WHERE p.picture = %s",
            (str(folder / "scarlett-small.jpg"),),
        )
        (face,) = [r[0] for r in cur.fetchall()]
    r = web.get(f"/thumb/card/{face}.jpg")
    assert r.status_code == 200
    card = cv2.cvtColor(np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB")), cv2.COLOR_RGB2BGR)
    assert card.shape == (240, 240, 3)
    assert grey_share(card) < 0.05, grey_share(card)  # the face fills the card
    # and each face of a card of four fills its quarter
    group = people_view(lib.ctx).groups[0]
    ids = [face] + [f.face_id for f in group.faces[:3]]
    four = web.get(f"/thumb/card/{'-'.join(map(str, ids))}.jpg")
    tiles = cv2.cvtColor(np.asarray(Image.open(io.BytesIO(four.content)).convert("RGB")), cv2.COLOR_RGB2BGR)
    assert grey_share(tiles[1:119, 1:119]) < 0.05, grey_share(tiles[1:119, 1:119])


def test_people_with_as_many_faces_are_in_alphabetical_order_whatever_their_case(
    lib: Library, web: TestClient, faces: FaceSet
):
    """Issue 20: 'alice' came after 'Zoë' (cards, and the names offered when naming)."""
    people = faces.people()
    for name, person in [("Zoë", "deepface_scarlett"), ("alice", "deepface_jennifer"), ("Bob", "deepface_mark")]:
        register_photos(lib.ctx, name, people[person][:1])
    html = web.get("/people").text
    assert [c for c in cards_on(html) if c.startswith("p:")] == ["p:alice", "p:Bob", "p:Zoë"]
    offered = html.split('<datalist id="names">', 1)[1].split("</datalist>", 1)[0]
    assert re.findall(r'<option value="([^"]+)">', offered) == ["alice", "Bob", "Zoë"]


# -- one answer per question (issue 21) ---------------------------------------------------------


def test_the_person_page_runs_one_search_for_the_photos_and_the_questions(
    lib: Library, web: TestClient, faces: FaceSet, monkeypatch: pytest.MonkeyPatch
):
    """The person page's photos and "is this X?" questions are those of `photos_of` and
    `near_misses` (each one search on its own), from a single search of the library."""
    ctx = lib.ctx
    register_photos(ctx, "Barack", faces.people()["barack_obama"][:1])
    apart = photos_of(ctx, "Barack", 500)
    maybe = near_misses(ctx, "Barack")
    assert apart.matches  # something to compare
    searches: list[float] = []
    real = type(ctx.db.library).search

    def counted(self, vectors, max_distance):  # type: ignore[no-untyped-def]
        searches.append(max_distance)
        return real(self, vectors, max_distance)

    monkeypatch.setattr(type(ctx.db.library), "search", counted)
    page = web.get("/person", params={"name": "Barack"})
    assert page.status_code == 200
    assert len(searches) == 1
    for m in apart.matches:
        assert m.picture in page.text or Path(m.picture).name in page.text
    detail = browse_person(ctx)
    assert len(searches) == 2
    assert [m.picture for m in detail.photos] == [m.picture for m in apart.matches]
    assert detail.total == apart.total
    assert [m.picture for m in detail.maybe.matches] == [m.picture for m in maybe.matches]
    assert detail.maybe.total == maybe.total


def browse_person(ctx):  # type: ignore[no-untyped-def]
    from facerec.usecases.people.browse import person_detail

    return person_detail(ctx, "Barack", 500)


def test_stats_and_the_library_page_agree_when_groups_need_three_faces(lib: Library, tmp_path: Path):
    """`stats`, the menu's title and the web Library page count groups as the People view
    lists them: with FACEREC_PEOPLE_MIN_FACES=3, groups of 2 are not counted anywhere."""
    from dataclasses import replace

    from facerec.usecases.context import Context
    from facerec.usecases.library.stats import stats

    three = replace(lib.ctx.settings, people_min_faces=3)
    with Context(three, db=lib.db, pipeline=lib.ctx.pipeline) as ctx:
        listed = people_view(ctx, limit=None).groups
        assert any(g.size == 2 for g in people_view(ctx, min_faces=2, limit=None).groups)  # some are left out
        counted = stats(ctx).counts.groups
        assert counted == len(listed) and all(g.size >= 3 for g in listed)
        three_lib = Library(ctx, lib.db, lib.pictures, lib.faces)
        with client(three_lib) as c:
            page = c.get("/library")
        assert re.search(r"<dt>groups</dt><dd>(\d+)</dd>", page.text).group(1) == str(counted)  # type: ignore[union-attr]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEREC_") and k != "DATABASE_URL"}
    env.update(FACEREC_DATA_DIR=str(lib.data_dir), FACEREC_PEOPLE_MIN_FACES="3")
    out = subprocess.run(
        [sys.executable, str(PROJECT / "face_recognition.py"), "stats", "--json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout)["groups"] == counted


def test_an_upload_shown_again_is_not_searched_again_until_the_library_changes(
    lib: Library, web: TestClient, faces: FaceSet, monkeypatch: pytest.MonkeyPatch
):
    query = faces.photo("groups/fr_two_people.jpg")
    r = web.post("/search", data={"csrf": csrf(web)}, files={"photo": ("two.jpg", query.read_bytes(), "image/jpeg")})
    key = r.headers["location"]
    searches: list[float] = []
    real = type(lib.ctx.db.library).search

    def counted(self, vectors, max_distance):  # type: ignore[no-untyped-def]
        searches.append(max_distance)
        return real(self, vectors, max_distance)

    monkeypatch.setattr(type(lib.ctx.db.library), "search", counted)
    first = web.get(key + "?face=1").text
    assert len(searches) == 1
    assert web.get(key + "?face=1").text == first and len(searches) == 1  # a reload: the same answer, no search
    web.get(key + "?face=2")
    assert len(searches) == 2  # another face: its own search
    # Naming a face changes who is who: the next showing searches again and says so.
    follow(web, web.post(f"{key}/keep", data={"csrf": csrf(web), "face": "1", "name": "Barack"}))
    again = web.get(key + "?face=1").text
    assert len(searches) == 3 and "Barack" in again and again != first
