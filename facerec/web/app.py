"""The web application: `create_app(ctx, keys)` gives the Starlette app that
`facerec web` serves (and the tests drive with Starlette's TestClient).

One `Context` serves every request (`facerec.web.state.WebState`): use cases
run one at a time, on a worker thread so the server keeps answering;
thumbnails are decoded outside that lock. An upload lives in memory only, for
a few minutes, and is gone when the server stops.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware

from facerec.usecases.context import Context
from facerec.web import metadata_routes
from facerec.web.routes import routes
from facerec.web.security import Secrets, TokenGuard
from facerec.web.state import WebState
from facerec.web.thumb_routes import prewarm_cards
from facerec.web.watch_routes import install as install_watch


def create_app(
    ctx: Context,
    keys: Secrets,
    allowed_hosts: frozenset[str] | None = frozenset({"127.0.0.1", "localhost", "::1"}),
    index_workers: int | None = None,
    prewarm: bool = False,
) -> Starlette:
    """The app for one server start. `allowed_hosts`: the names the Host header
    may carry (None: any); `index_workers`: processes for an index run (default:
    one per core); `prewarm`: make the first People page's card images in the
    background at start, so the first view is as fast as the next ones."""
    state = WebState(ctx, keys, index_workers)
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if prewarm:
            threading.Thread(target=prewarm_cards, args=(state, stop), name="facerec-web-prewarm", daemon=True).start()
        yield
        stop.set()
        state.jobs.stop(wait=30)
        state.uploads.clear()

    app = Starlette(
        routes=[*metadata_routes.routes(), *routes()],
        middleware=[Middleware(TokenGuard, keys=keys, allowed_hosts=allowed_hosts)],
        lifespan=lifespan,
    )
    app.state.web = state
    install_watch(app, state)
    return app
