"""The web page in a real browser: Debian's headless Chromium (/usr/bin/chromium),
driven by Playwright with that executable (no browser download, ever), against
`facerec web`'s app served by uvicorn on 127.0.0.1, over the real database,
models and dev photos.

Every test also reads the browser's network log: every request it made went
to the local server, and Chromium is told that no other host name exists,
so a reference to anything else would show up as a request elsewhere.

Screenshots of each page are written to the test's folder; with
FACEREC_WEB_SCREENSHOTS=docs they are also written there (how the README's
were made).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from facerec.usecases.context import Context
from facerec.usecases.groups.grouping import people_view
from facerec.usecases.library.index import index_folders
from facerec.usecases.people.register import register_photos
from facerec.web.security import Secrets, new_secrets
from tests.helpers import FaceSet, skip_or_fail
from tests.media import near_miss
from tests.webkit import Library, indexed_library, reset, serving

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@dataclass
class Server:
    base: str
    keys: Secrets

    @property
    def login(self) -> str:
        return f"{self.base}/?token={self.keys.token}"


@dataclass
class Browser:
    """One fresh Chromium profile; `requests`: every URL it asked for."""

    page: object
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def library(faces: FaceSet, pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    with indexed_library(
        tmp_path_factory.mktemp("browser-data"), [faces.root / "people", faces.root / "groups"], pipeline
    ) as lib:
        yield lib


@pytest.fixture(scope="module")
def server(library: Library) -> Iterator[Server]:
    """The app on a free port of 127.0.0.1, with a database connection of its own."""
    keys = new_secrets()
    with Context(library.ctx.settings, pipeline=library.ctx.pipeline) as ctx, serving(ctx, keys) as base:
        yield Server(base, keys)


@pytest.fixture(scope="module")
def playwright() -> Iterator[object]:
    if not CHROMIUM.exists():
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium chromium-driver)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright package is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as p:
        yield p


@pytest.fixture
def browser(playwright, server: Server, library: Library, tmp_path: Path) -> Iterator[Browser]:
    reset(library)
    profile = tmp_path / "profile"
    context = playwright.chromium.launch_persistent_context(  # type: ignore[attr-defined]
        str(profile),
        executable_path=str(CHROMIUM),
        headless=True,
        args=FLAGS,
        viewport={"width": 1280, "height": 860},
    )
    seen = Browser(context.pages[0] if context.pages else context.new_page())
    context.on("request", lambda r: seen.requests.append(r.url))
    seen.page.set_default_timeout(60_000)  # type: ignore[attr-defined]
    try:
        yield seen
    finally:
        context.close()
    hosts = {urlsplit(u).netloc for u in seen.requests if not u.startswith(("data:", "about:"))}
    assert hosts <= {urlsplit(server.base).netloc}, sorted(hosts)


def screenshot(page, name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    wanted = os.environ.get("FACEREC_WEB_SCREENSHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(wanted) / f"{name}.png")


def flash(page) -> str:
    return str(page.locator("#flash").inner_text())


def group_cards(page) -> list[str]:
    return [str(r) for r in page.locator("li.card.group").evaluate_all("els => els.map(e => e.dataset.ref)")]


def test_naming_a_group_by_clicking_and_typing(browser: Browser, server: Server, library: Library, tmp_path: Path):
    page = browser.page
    page.goto(server.login)
    assert page.url == f"{server.base}/people"  # the token left the address
    assert len(browser.requests) >= 3  # the network log is read (see the fixture)
    page.wait_for_load_state("networkidle")
    assert page.locator("li.card.group img").first.evaluate("img => img.naturalWidth") == 240
    screenshot(page, "web-people", tmp_path)
    first = people_view(library.ctx).groups[0]
    field_ = page.get_by_label(f"name for group {first.id}")
    field_.click()
    field_.type("Alice")
    with page.expect_navigation():
        field_.press("Enter")
    assert flash(page) == f"{len(first.faces)} faces named 'Alice'"
    assert page.locator('li.card.named[data-ref="p:Alice"]').count() == 1
    assert f"g:{first.id}" not in group_cards(page)
    page.click('li.card.named[data-ref="p:Alice"] a.title')
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Alice"
    screenshot(page, "web-person", tmp_path)


def test_merging_two_cards_of_different_people_asks_first(
    browser: Browser, server: Server, library: Library, faces: FaceSet, tmp_path: Path
):
    """Two groups of different men ticked and merged: the guard's question, and
    nothing merged until Yes (issue 20: the page used to merge them silently)."""
    page = browser.page
    page.goto(server.login)
    before = group_cards(page)
    a = f"g:{library.group_with(faces.people()['barack_obama'][1]).id}"
    b = f"g:{library.group_with(faces.people()['kit_harington'][1]).id}"
    assert page.locator("#merge").is_disabled()  # the page's script: two cards are needed
    page.locator(f'li.card[data-ref="{a}"] input[type=checkbox]').check()
    page.locator(f'li.card[data-ref="{b}"] input[type=checkbox]').check()
    assert page.locator("#merge").inner_text() == "Merge 2 cards" and page.locator("#merge").is_enabled()
    with page.expect_navigation():
        page.click("#merge")
    assert "do not look like one person" in page.locator("#question").inner_text()
    screenshot(page, "web-merge-question", tmp_path)
    with page.expect_navigation():
        page.click("#no")
    assert group_cards(page) == before  # Cancel: nothing merged
    page.locator(f'li.card[data-ref="{a}"] input[type=checkbox]').check()
    page.locator(f'li.card[data-ref="{b}"] input[type=checkbox]').check()
    with page.expect_navigation():
        page.click("#merge")
    with page.expect_navigation():
        page.click("#yes")
    assert flash(page) == f"1 group merged into group {a[2:]}"
    after = group_cards(page)
    assert b not in after and a in after and len(after) == len(before) - 1


def test_uploading_a_photo_shows_its_matches_and_picking_a_face(
    browser: Browser, server: Server, library: Library, faces: FaceSet, tmp_path: Path
):
    register_photos(library.ctx, "Joe Biden", [faces.people()["joe_biden"][0]])
    page = browser.page
    page.goto(server.login)
    page.goto(f"{server.base}/search")
    with page.expect_navigation(url=re.compile(r"/search/[\w-]+$")):
        page.set_input_files("#photo", str(faces.photo("groups/fr_two_people.jpg")))  # the script submits it
    page.wait_for_load_state("networkidle")
    assert page.locator("svg#preview a.facebox").count() == 2
    titles = page.locator("#matches li.match span").evaluate_all("els => els.map(e => e.title)")
    assert {str(p) for p in faces.people()["joe_biden"]} <= set(titles)  # the largest face: Biden
    assert "Joe Biden" in page.locator("#matches").inner_text()
    screenshot(page, "web-search", tmp_path)
    with page.expect_navigation():
        page.locator('svg#preview a.facebox[data-face="1"]').click()
    titles = page.locator("#matches li.match span").evaluate_all("els => els.map(e => e.title)")
    assert {str(p) for p in faces.people()["barack_obama"]} <= set(titles)


def test_the_library_page_indexes_a_folder_with_live_progress(
    browser: Browser, server: Server, library: Library, faces: FaceSet, tmp_path: Path
):
    folder = tmp_path / "more photos"
    folder.mkdir()
    for i, p in enumerate(faces.of_kind("distractor")):
        shutil.copy(p.path, folder / f"{i}{p.path.suffix}")
    page = browser.page
    page.goto(server.login)
    page.goto(f"{server.base}/library")
    before = int(page.locator("#stat-photos").inner_text())
    page.fill("#folder", str(folder))
    with page.expect_navigation():
        page.click("#start-index")
    assert flash(page) == "indexing started"
    # The script polls the status and reloads the page when the run is over.
    page.wait_for_function("() => document.querySelector('#index-job').dataset.state === 'done'", timeout=120_000)
    page.wait_for_load_state("networkidle")
    assert int(page.locator("#stat-photos").inner_text()) == before + 5
    assert "seen 5, indexed 5" in page.locator("#index-text").inner_text()
    screenshot(page, "web-library", tmp_path)
    group = people_view(library.ctx).groups[0]
    page.goto(f"{server.base}/people/group/{group.id}")
    page.wait_for_load_state("networkidle")
    screenshot(page, "web-group", tmp_path)


def test_undo_a_naming(browser: Browser, server: Server, library: Library):
    """Name a group by typing, then the header's Undo button puts it back."""
    page = browser.page
    page.goto(server.login)
    first = people_view(library.ctx).groups[0]
    field_ = page.get_by_label(f"name for group {first.id}")
    field_.fill("Alice")
    with page.expect_navigation():
        field_.press("Enter")
    with page.expect_navigation():
        page.click("#undo")
    assert f"g:{first.id}" in group_cards(page)
    assert page.locator('li.card.named[data-ref="p:Alice"]').count() == 0


def test_hiding_a_group_and_showing_it_again(browser: Browser, server: Server, library: Library):
    page = browser.page
    page.goto(server.login)
    first = people_view(library.ctx).groups[0]
    with page.expect_navigation():
        page.click(f'button[data-hide="{first.id}"]')
    assert flash(page) == f"group {first.id} hidden from People"
    assert f"g:{first.id}" not in group_cards(page)
    with page.expect_navigation():
        page.click("#show-hidden")
    assert page.locator("h1").inner_text() == "Hidden groups" and group_cards(page) == [f"g:{first.id}"]
    with page.expect_navigation():
        page.click(f'button[data-unhide="{first.id}"]')
    assert flash(page) == f"group {first.id} shown in People again" and group_cards(page) == []
    with page.expect_navigation():
        page.click("#back-to-people")
    assert f"g:{first.id}" in group_cards(page) and page.locator("#show-hidden").count() == 0


def test_answering_is_this_the_person_on_their_page(
    browser: Browser, server: Server, library: Library, faces: FaceSet, tmp_path: Path
):
    """A blurred photo of Scarlett, just past the threshold, is asked about after her
    photos; No is remembered (issue 20: the page used to ask about her look-alikes)."""
    scarlett = faces.people()["deepface_scarlett"]
    folder = tmp_path / "more"
    folder.mkdir()
    near_miss(library.ctx.pipeline, scarlett[0], scarlett[1:], folder / "blurred.jpg", 0.575, 0.595)
    index_folders(library.ctx, [folder], workers=1)
    register_photos(library.ctx, "Scarlett", scarlett[:1])
    page = browser.page
    page.goto(server.login)
    page.goto(f"{server.base}/person?name=Scarlett")
    assert page.locator("#maybe").inner_text() == "Is this Scarlett?"
    asked = page.locator("li[data-maybe]").evaluate_all("els => els.map(e => e.dataset.maybe)")
    assert 1 <= len(asked) <= 5  # her blurred photo first, nearest first
    page.wait_for_load_state("networkidle")
    screenshot(page, "web-person-maybe", tmp_path)
    with page.expect_navigation():
        page.click(f'li[data-maybe="{asked[0]}"] button[data-answer="no"]')
    assert flash(page) == f"face {asked[0]} is not 'Scarlett': remembered"
    assert page.locator(f'li[data-maybe="{asked[0]}"]').count() == 0


def test_indexing_a_missing_folder_says_so_on_the_library_page(
    browser: Browser, server: Server, library: Library, tmp_path: Path
):
    """The error shows where the folder was typed, with the folder still typed (issue 20:
    it showed on the People page)."""
    missing = str(tmp_path / "no such photos")
    page = browser.page
    page.goto(server.login)
    page.goto(f"{server.base}/library")
    page.fill("#folder", missing)
    with page.expect_navigation():
        page.click("#start-index")
    assert urlsplit(page.url).path == "/library"
    assert page.locator("h1").inner_text() == "Library"
    assert flash(page) == f"{missing}: no such folder"
    assert "error" in str(page.locator("#flash").get_attribute("class"))
    assert page.locator("#folder").input_value() == missing  # to correct, not to type again


def test_the_select_box_of_a_card_covers_none_of_its_faces(
    browser: Browser, server: Server, library: Library, faces: FaceSet
):
    """Issue 20: the "select" box sat over a corner of the card's image, on a face."""
    register_photos(library.ctx, "Kit", faces.people()["kit_harington"][:1])
    page = browser.page
    page.goto(server.login)
    page.wait_for_load_state("networkidle")
    cards = page.locator("li.card")
    assert cards.count() >= 2 and page.locator("li.card.named").count() == 1

    def intersect(a: dict, b: dict) -> bool:
        return (
            a["x"] < b["x"] + b["width"]
            and b["x"] < a["x"] + a["width"]
            and (a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])
        )

    for i in range(min(cards.count(), 12)):
        card = cards.nth(i)
        image = card.locator("a.faces img").bounding_box()
        for control in (card.locator("input[type=checkbox]"), card.locator("label.pick")):
            box = control.bounding_box()
            assert image is not None and box is not None and box["width"] > 0
            assert not intersect(box, image), (card.get_attribute("data-ref"), box, image)
    first = cards.nth(0).locator("input[type=checkbox]")
    first.click()  # still a working control
    assert first.is_checked()
