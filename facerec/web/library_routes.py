"""The Library screen: the counts, the indexed folders, and the index job
(start, stop, status)."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from facerec.errors import (
    FacerecError,
)
from facerec.usecases.library.stats import MAX_FOLDERS, stats
from facerec.web.pages import (
    _page,
    _redirect,
    _state,
    _text,
)

log = logging.getLogger(__name__)

# -- Library ----------------------------------------------------------------------------------------


async def library_page(request: Request) -> Response:
    overview = await _state(request).call(stats, MAX_FOLDERS)
    folder = request.query_params.get("folder", "")[:4096]  # typed before an error: to correct, not type again
    return _page(request, "library.html", overview=overview, folder=folder)


async def start_index(request: Request, form: FormData) -> Response:
    folder = _text(form, "folder")
    try:
        _state(request).jobs.start(folder)
    except FacerecError as exc:  # said on the Library page, where the folder was typed
        return _redirect(request, "/library?" + urlencode({"folder": folder}), str(exc), "error")
    return _redirect(request, "/library", "indexing started")


async def stop_index(request: Request, form: FormData) -> Response:
    _state(request).jobs.stop()
    return _redirect(request, "/library", "stopping: what was indexed is kept")


async def index_status(request: Request) -> Response:
    return JSONResponse(_state(request).jobs.status().as_json())


async def home(request: Request) -> Response:
    return RedirectResponse("/people", status_code=303)
