"""Helpers for the web page's tests: a library of dev photos indexed once into
a database of its own, put back as it was before each test, and a logged-in
Starlette TestClient."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.testclient import TestClient

from facerec.config import load_settings
from facerec.db import Database
from facerec.usecases.context import Context
from facerec.usecases.groups.grouping import Group, people_view, regroup
from facerec.usecases.library.index import index_folders
from facerec.vision.pipeline import Pipeline
from facerec.web.app import create_app
from facerec.web.security import Secrets, cookie_name, new_secrets

BASE_URL = "http://127.0.0.1:8765"


@dataclass
class Library:
    """Indexed dev photos in a database of their own; `pictures`: the keys indexed at the start."""

    ctx: Context
    db: Database
    pictures: list[str]
    faces: list[int]

    @property
    def data_dir(self) -> Path:
        return self.ctx.settings.data_dir

    def group_with(self, photo: Path) -> Group:
        """The current group holding a face of `photo`."""
        for g in people_view(self.ctx).groups:
            if any(f.picture == str(photo) for f in g.faces):
                return g
        raise AssertionError(f"no group has a face of {photo}")


@contextmanager
def indexed_library(data: Path, folders: list[Path], pipeline: Pipeline) -> Iterator[Library]:
    settings = load_settings({"FACEREC_DATA_DIR": str(data)}, dotenv_path=data / "no.env")
    db = Database.open(settings)
    try:
        ctx = Context(settings, db=db, pipeline=pipeline)
        report = index_folders(ctx, folders, workers=2)
        assert report.indexed and not report.failed, report
        with db.transaction() as cur:
            cur.execute("SELECT picture FROM pictures ORDER BY picture")
            pictures = [r[0] for r in cur.fetchall()]
            cur.execute("SELECT id FROM faces ORDER BY id")
            face_ids = [r[0] for r in cur.fetchall()]
        library = Library(ctx, db, pictures, face_ids)
        reset(library)
        yield library
    finally:
        db.close()


def reset(library: Library) -> None:
    """Back to the freshly indexed library: no one registered, nothing said about any face, groups found again."""
    with library.db.transaction() as cur:
        cur.execute("DELETE FROM faces WHERE NOT id = ANY(%s)", (library.faces,))  # samples the tests added
        cur.execute("UPDATE faces SET person_id = NULL, crop = NULL WHERE person_id IS NOT NULL OR crop IS NOT NULL")
        cur.execute("DELETE FROM people")
        cur.execute("DELETE FROM pictures WHERE NOT picture = ANY(%s)", (library.pictures,))
        cur.execute("TRUNCATE face_links, face_not_person, hidden_groups")
    for sub in ("captures", "thumbnails"):
        shutil.rmtree(library.data_dir / sub, ignore_errors=True)
    regroup(library.ctx)


def state(library: Library) -> tuple[object, ...]:
    """Everything a change could touch: people, who each face is and its group,
    links, "not this person" and hidden groups, pictures, files in the data directory."""
    with library.db.transaction() as cur:
        cur.execute("SELECT id, name FROM people ORDER BY id")
        people = cur.fetchall()
        cur.execute(
            "SELECT f.id, f.person_id, g.state, g.group_id, g.matched_person_id"
            " FROM faces f LEFT JOIN face_groups g ON g.face_id = f.id ORDER BY f.id"
        )
        faces = cur.fetchall()
        cur.execute("SELECT * FROM face_links ORDER BY 1, 2")
        links = cur.fetchall()
        cur.execute("SELECT * FROM face_not_person ORDER BY 1, 2")
        refused = cur.fetchall()
        cur.execute("SELECT model, group_id FROM hidden_groups ORDER BY 1, 2")
        refused += cur.fetchall()
        cur.execute("SELECT picture FROM pictures ORDER BY picture")
        pictures = cur.fetchall()
    return people, faces, links, refused, pictures, stored_files(library)


def stored_files(library: Library) -> list[str]:
    """Every file facerec keeps in the data directory, but the database's own."""
    root = library.data_dir
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "pgdata" not in p.relative_to(root).parts and p.name != "pgserver.pids"
    )


@contextmanager
def client(library: Library, keys: Secrets | None = None, logged_in: bool = True) -> Iterator[TestClient]:
    """A TestClient of a fresh app over the library (its own secrets), with the token cookie if `logged_in`."""
    keys = keys or new_secrets()
    app = create_app(library.ctx, keys, index_workers=1)
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as c:
        if logged_in:
            c.cookies.set(cookie_name(8765), keys.token)
        yield c


def csrf(c: TestClient) -> str:
    token: str = c.app.state.web.keys.csrf  # type: ignore[attr-defined]
    return token


@contextmanager
def serving(ctx: Context, keys: Secrets) -> Iterator[str]:
    """`facerec web`'s app served by uvicorn on a free port of 127.0.0.1 (for a real
    browser), over `ctx`; yields the base URL ('http://127.0.0.1:PORT'). The server
    stops when the block ends."""
    import threading
    import time

    import uvicorn

    from facerec.web.server import bind

    sock = bind("127.0.0.1", 0)
    app = create_app(ctx, keys, index_workers=1)
    config = uvicorn.Config(app, log_config=None, access_log=False, log_level="warning", lifespan="on")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        running.should_exit = True
        thread.join(30)
        sock.close()
