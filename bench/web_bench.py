"""Web page benchmark: the People page with 2,000 groups, in headless Chromium.

    python bench/web_bench.py [--groups 2000] [--faces ../shared/faces/dev] [--runs 5]

In a throw-away embedded database it indexes the dev photos, then adds
faces (copies of the real ones: same photo, same box, so thumbnails are real
crops of real photos) until there are `--groups` groups of 2 to 12 faces,
sizes spread like a photo library's (a few big groups, many small ones). It
serves the page with `facerec web`'s app on 127.0.0.1 and measures:

- the server: GET /people (the first page of cards) over HTTP, and the time
  inside it spent on the stored groups (`people_view`);
- Debian's Chromium (Playwright with /usr/bin/chromium): from navigation to
  the first screen complete (every image in the 1280x860 viewport loaded),
  three times: thumbnails not made yet (cold), made and cached on disk (a new
  browser profile), and in the browser's cache too (a reload);
- thumbnails: how many were made on the first view and on the second (0: the
  second view came from the cache), and one thumbnail's time cold and cached.

Prints a table and writes bench/out/web.json. Needs the dev photos and chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from psycopg2.extras import execute_values

from facerec.config import load_settings
from facerec.db import Database
from facerec.db.server import EmbeddedServer
from facerec.usecases.context import Context
from facerec.usecases.groups.grouping import people_view
from facerec.usecases.library.index import index_folders
from facerec.web.app import create_app
from facerec.web.pages import PAGE_SIZE
from facerec.web.security import new_secrets
from facerec.web.server import bind
from facerec.web.state import WebState
from facerec.web.thumb_routes import prewarm_cards

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_FACES = Path(os.environ.get("FACEREC_TEST_FACES", PROJECT.parent / "shared" / "faces" / "dev"))
DEFAULT_OUT = PROJECT / "bench" / "out" / "web.json"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
VIEWPORT = {"width": 1280, "height": 860}
BROWSER_TIMES_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const inView = Array.from(document.images).filter(i => {
    const r = i.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
  }).map(i => i.currentSrc);
  const ends = performance.getEntriesByType("resource").filter(e => inView.includes(e.name)).map(e => e.responseEnd);
  return {html: nav.responseEnd, dom: nav.domContentLoadedEventEnd, images: inView.length,
          first_screen: Math.max(nav.domContentLoadedEventEnd, ...ends)};
}"""
FIRST_SCREEN_JS = """() => {
  const imgs = Array.from(document.images).filter(i => {
    const r = i.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
  });
  return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0);
}"""


def group_sizes(n: int, rng: np.random.Generator) -> list[int]:
    """`n` group sizes from 2 to 12, most of them small (a Zipf-like spread)."""
    sizes = np.clip(np.round(2 + rng.pareto(1.6, n) * 2), 2, 12).astype(int)
    return sorted(sizes.tolist(), reverse=True)


def build_library(data: Path, faces_dir: Path, groups: int) -> tuple[Context, dict[str, Any]]:
    settings = load_settings({"FACEREC_DATA_DIR": str(data)}, dotenv_path=data / "no.env")
    db = Database.open(settings)
    ctx = Context(settings, db=db)
    t = time.perf_counter()
    report = index_folders(
        ctx, [faces_dir / "people", faces_dir / "groups", faces_dir / "distractors"], workers=2, group=False
    )
    indexed_s = time.perf_counter() - t
    rng = np.random.default_rng(0)
    sizes = group_sizes(groups, rng)
    with db.transaction() as cur:
        cur.execute("SELECT picture_id, model, box, landmarks, score, embedding FROM faces ORDER BY id")
        real = cur.fetchall()
        rows = []
        for size in sizes:
            for i in rng.choice(len(real), size=size, replace=False).tolist():
                rows.append(real[i])
        ids = execute_values(
            cur,
            "INSERT INTO faces (picture_id, model, box, landmarks, score, embedding) VALUES %s RETURNING id",
            rows,
            fetch=True,
            page_size=2000,
        )
        ids = [r[0] for r in ids]
        assignment, start = [], 0
        for size in sizes:
            members = ids[start : start + size]
            assignment += [(face_id, members[0]) for face_id in members]
            start += size
        # The People view reads face_groups (sql/006): the real faces stay out of every group
        # ('gated'), the copies make the groups.
        cur.execute("UPDATE face_groups SET state = 'gated', group_id = NULL, matched_person_id = NULL")
        execute_values(
            cur,
            "UPDATE face_groups g SET state = 'grouped', group_id = v.c FROM (VALUES %s) AS v(id, c)"
            " WHERE g.face_id = v.id",
            assignment,
            page_size=5000,
        )
        cur.execute("ANALYZE faces")
        cur.execute("ANALYZE face_groups")
    return ctx, {"photos": report.indexed, "real_faces": len(real), "faces": len(ids), "index_s": indexed_s}


class Serving:
    """The app on a free port of 127.0.0.1, in a thread."""

    def __init__(self, settings: Any) -> None:
        import uvicorn

        self.keys = new_secrets()
        self.ctx = Context(settings)
        self.sock = bind("127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(self.ctx, self.keys), log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Serving:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()
        self.ctx.close()


def _login(base: str, token: str) -> str:
    """The cookie the printed address gives (sent back by `_get`)."""

    class Keep(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    try:
        urllib.request.build_opener(Keep).open(f"{base}/?token={token}")
    except urllib.error.HTTPError as exc:  # the 303 that sets the cookie
        return str(exc.headers["set-cookie"]).split(";")[0]
    raise AssertionError("no cookie")


def _get(url: str, cookie: str) -> float:
    t = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Cookie": cookie})) as r:
        r.read()
        assert r.status == 200, r.status
    return time.perf_counter() - t


def http_times(base: str, token: str, path: str, runs: int) -> list[float]:
    cookie = _login(base, token)
    return [_get(base + path, cookie) for _ in range(runs)]


def browser_first_screen(base: str, token: str, runs: int, thumbs: Path) -> dict[str, Any]:
    """The browser's own timings (Navigation and Resource Timing, ms from the
    start of the navigation), and the wall time seen from here (which adds
    Playwright's own round trips)."""
    from playwright.sync_api import sync_playwright

    def made() -> int:
        return len(list(thumbs.glob("*.jpg"))) if thumbs.exists() else 0

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)

        def fresh() -> Any:
            """A new profile (empty browser cache) with the cookie, set on a page that shows no faces."""
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            page.goto(f"{base}/library/index/status?token={token}")
            return context

        def view(context: Any, reload: bool = False) -> dict[str, float]:
            page = context.pages[0]
            t = time.perf_counter()
            if reload:
                page.reload(wait_until="domcontentloaded")
            else:
                page.goto(f"{base}/people", wait_until="domcontentloaded")
            page.wait_for_function(FIRST_SCREEN_JS, timeout=300_000, polling=20)
            wall = time.perf_counter() - t
            inside = page.evaluate(BROWSER_TIMES_JS)
            page.wait_for_load_state("networkidle")  # the lazy images below it too: nothing left to make later
            return {**inside, "wall": 1000 * wall}

        before = made()
        context = fresh()
        cold = view(context)
        cards = int(context.pages[0].evaluate("() => document.querySelectorAll('li.card').length"))
        context.close()
        first = made() - before
        warm, cached = [], []
        for _ in range(runs):
            context = fresh()
            warm.append(view(context))
            cached.append(view(context, reload=True))
            context.close()
        later = made() - before - first
        browser.close()
    return {
        "cards_on_page": cards,
        "images_in_first_screen": cold["images"],
        "cold": cold,
        "warm": _summary(warm),
        "browser_cache": _summary(cached),
        "thumbnails_made_first_view": first,
        "thumbnails_made_later_views": later,
    }


def _summary(views: list[dict[str, float]]) -> dict[str, float]:
    """Medians (and the worst first screen) of several views, in ms."""
    out = {key: statistics.median(v[key] for v in views) for key in ("html", "dom", "first_screen", "wall")}
    return {**out, "first_screen_max": max(v["first_screen"] for v in views), "runs": len(views)}


def thumbnail_times(base: str, token: str, ctx: Context, n: int) -> dict[str, float]:
    """One thumbnail's time, made (faces not shown yet) and from the cache (the same again)."""
    view = people_view(ctx)
    faces = [f.face_id for g in view.groups[-n:] for f in g.faces[:1]]  # the last page: not made by the views above
    cookie = _login(base, token)
    cold = [_get(f"{base}/thumb/face/{face}.jpg", cookie) for face in faces]
    warm = [_get(f"{base}/thumb/face/{face}.jpg", cookie) for face in faces]
    return {"made_ms": 1000 * statistics.median(cold), "cached_ms": 1000 * statistics.median(warm), "n": len(faces)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--groups", type=int, default=2000)
    ap.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    if not (args.faces / "people").is_dir():
        print(f"no dev photos at {args.faces} (set --faces)", file=sys.stderr)
        return 1
    if not Path(CHROMIUM).exists():
        print("needs Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 1
    data = Path(tempfile.mkdtemp(prefix="facerec-web-bench-"))
    try:
        ctx, built = build_library(data, args.faces, args.groups)
        t = time.perf_counter()
        view = people_view(ctx)
        view_s = time.perf_counter() - t
        assert len(view.groups) == args.groups, len(view.groups)
        with Serving(ctx.settings) as serving:
            server = http_times(serving.base, serving.keys.token, "/people", args.runs * 4)
            browser = browser_first_screen(serving.base, serving.keys.token, args.runs, data / "thumbnails")
            thumbs = thumbnail_times(serving.base, serving.keys.token, ctx, 20)
        shutil.rmtree(data / "thumbnails")
        t = time.perf_counter()
        premade = prewarm_cards(WebState(ctx, new_secrets()), threading.Event())
        thumbs["prewarm_s"], thumbs["prewarm_cards"] = time.perf_counter() - t, premade
        ctx.database.close()
    finally:
        EmbeddedServer(data).stop()
        shutil.rmtree(data, ignore_errors=True)
    result = {
        "groups": args.groups,
        "cards_per_page": PAGE_SIZE,
        **built,
        "people_view_s": view_s,
        "server_people_page_s": {"median": statistics.median(server), "max": max(server), "runs": len(server)},
        "browser": browser,
        "thumbnail": thumbs,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    b = browser
    cold, warm, cached = b["cold"], b["warm"], b["browser_cache"]
    print(
        f"People page, {args.groups} groups ({built['faces']} faces), {PAGE_SIZE} cards a page, {os.cpu_count()} cores"
    )
    print(f"  people_view (every stored group, largest first): {1000 * view_s:.0f} ms")
    print(f"  GET /people, served (median of {len(server)}): {1000 * statistics.median(server):.0f} ms")
    print(f"  Chromium, {b['images_in_first_screen']} card images in the first screen, ms from navigation start:")
    print("                                          HTML   DOM ready  first screen  (wall, with Playwright)")
    rows = [
        (f"cold: {b['thumbnails_made_first_view']} thumbnails made", cold),
        (f"thumbnails cached on disk (x{warm['runs']})", warm),
        ("also in the browser cache (reload)", cached),
    ]
    for label, r in rows:
        print(f"  {label:<38}{r['html']:6.0f}{r['dom']:11.0f}{r['first_screen']:14.0f}  ({r['wall']:.0f})")
    print(f"  thumbnails made on later views: {b['thumbnails_made_later_views']} (all from the cache)")
    print(
        f"  one face thumbnail over HTTP: made {thumbs['made_ms']:.0f} ms, from the cache {thumbs['cached_ms']:.1f} ms"
    )
    print(
        f"  facerec web at start: the first page's {thumbs['prewarm_cards']} card images (and their faces) "
        f"made in the background in {thumbs['prewarm_s']:.1f} s"
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
