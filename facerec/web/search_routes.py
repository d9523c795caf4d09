"""Search by photo: an upload held in memory (never stored unless a face is kept,
and then only its crop), its faces, and the library photos of each."""

from __future__ import annotations

import logging
import os
import time

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from facerec.errors import (
    FacerecError,
    NoFaceError,
)
from facerec.usecases.library.upload import PhotoFaces, analyze_bytes, preview, search_face
from facerec.usecases.people import browse
from facerec.usecases.people.names import name_order
from facerec.web import actions
from facerec.web.pages import (
    _confirmed,
    _int,
    _outcome,
    _page,
    _state,
    _text,
)
from facerec.web.state import Upload

log = logging.getLogger(__name__)

# -- Search by photo ----------------------------------------------------------------------------------


async def search_page(request: Request) -> Response:
    return _page(request, "search.html", upload=None, result=None)


async def upload_photo(request: Request, form: FormData) -> Response:
    state = _state(request)
    file = form.get("photo")
    if not isinstance(file, UploadFile) or not file.filename:
        return _page(request, "search.html", 400, upload=None, result=None, error="choose a photo to upload")
    data = await file.read()
    await file.close()
    label = os.path.basename(file.filename)[:200] or "upload"
    try:
        photo = await state.call(analyze_bytes, data, label)
        if not photo.faces:
            raise NoFaceError(f"{label}: no face found in this photo")
        shown = await run_in_threadpool(preview, state.ctx, photo)  # pixels only: outside the database lock
    except FacerecError as exc:
        return _page(request, "search.html", 400, upload=None, result=None, error=f"{exc}; nothing was stored")
    finally:
        del data
    key = state.uploads.add(Upload(photo, shown.jpeg, shown.width, shown.height, time.monotonic()))
    return RedirectResponse(f"/search/{key}", status_code=303)


def _upload(request: Request) -> tuple[str, Upload] | None:
    key = request.path_params["upload"]
    found = _state(request).uploads.get(key)
    return None if found is None else (key, found)


_GONE = (
    "this uploaded photo is gone (uploads are kept in memory for 15 minutes, until the server stops); upload it again"
)


async def search_result(request: Request) -> Response:
    found = _upload(request)
    if found is None:
        return _page(request, "search.html", 404, upload=None, result=None, error=_GONE)
    key, upload = found
    text = request.query_params.get("face", "")
    number = int(text) if text.isdigit() and len(text) < 4 else None
    try:
        result = await _state(request).call(search_face, upload.photo, number, None, upload.searches)
    except FacerecError as exc:
        return _page(request, "search.html", 400, upload=None, result=None, error=str(exc))
    boxes = _face_boxes(upload.photo, upload.width)
    names = sorted((p.name for p in (await _state(request).call(browse.people_cards, 0)).people), key=name_order)
    return _page(
        request, "search.html", upload=upload, key=key, result=result, boxes=boxes, names=names, here=f"/search/{key}"
    )


def _face_boxes(photo: PhotoFaces, width: int) -> list[dict[str, int]]:
    """Each face's box in the preview's pixels (the page draws them over it)."""
    return [{"x": b.x, "y": b.y, "w": b.w, "h": b.h} for b in photo.preview_boxes(width)]


async def upload_preview(request: Request) -> Response:
    found = _upload(request)
    if found is None:
        return Response("gone", status_code=404, media_type="text/plain")
    return Response(found[1].preview, media_type="image/jpeg", headers={"cache-control": "no-store"})


async def keep_upload_face(request: Request, form: FormData) -> Response:
    found = _upload(request)
    if found is None:
        return _page(request, "search.html", 404, upload=None, result=None, error=_GONE)
    key, upload = found
    number = _int(_text(form, "face"), "face")
    back = f"/search/{key}?face={number}"
    outcome = await _state(request).call(
        actions.keep_face, upload.photo, number, _text(form, "name"), _confirmed(form), f"/search/{key}/keep"
    )
    return await _outcome(request, outcome, back)
