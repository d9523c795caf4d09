"""Faces, photos and cards as JPEG thumbnails, by face id (never by path), with
ETags; a card's faces made ahead of time (`prewarm_cards`)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from facerec.errors import (
    FacerecError,
    ImageError,
)
from facerec.usecases.context import Context
from facerec.usecases.library.thumbnails import (
    Thumbnail,
    cache_name,
    locate_card,
    locate_thumbnail,
    make_card,
    make_thumbnail,
)
from facerec.web.pages import (
    THUMB_CACHE,
    _state,
)
from facerec.web.people_routes import people_screen
from facerec.web.state import WebState

log = logging.getLogger(__name__)

# -- thumbnails -----------------------------------------------------------------------------------


async def thumbnail(request: Request) -> Response:
    """A face cropped (`/thumb/face/ID.jpg`) or its photo with the face boxed (`/thumb/photo/ID.jpg`)."""
    kind, face_id = request.path_params["kind"], request.path_params["face"]
    return await _thumbnail(request, cache_name(kind, [face_id]), locate_thumbnail, make_thumbnail, face_id, kind)


async def card(request: Request) -> Response:
    """A People card's faces, 2 x 2 in one image: `/thumb/card/12-15-19-20.jpg`."""
    text = request.path_params["faces"]
    if not _CARD_FACES.fullmatch(text):
        return Response("no such card", status_code=404, media_type="text/plain")
    faces = [int(i) for i in text.split("-")]
    return await _thumbnail(request, cache_name("card", faces), locate_card, make_card, faces)


_CARD_FACES = re.compile(r"\d{1,15}(-\d{1,15}){0,3}")


async def _thumbnail(
    request: Request, name: str, locate: Callable[..., Any], make: Callable[[Context, Any], Thumbnail], *args: Any
) -> Response:
    state = _state(request)
    known = state.thumbnails.get(name)
    if known is not None:  # made before and up to date: no database, no thread
        try:
            return _jpeg(request, known.path.read_bytes(), known.etag)
        except FileNotFoundError:  # removed meanwhile (its person deleted): ask the database
            state.thumbnails.forget(name)
    try:
        source = await state.call(locate, *args)
    except FacerecError:
        return Response("no such face", status_code=404, media_type="text/plain")
    try:
        thumb = await run_in_threadpool(make, state.ctx, source)  # no database: outside the lock
    except ImageError:
        return Response(
            _MISSING_SVG, status_code=404, media_type="image/svg+xml", headers={"cache-control": "no-store"}
        )
    state.thumbnails.add(name, thumb)
    return _jpeg(request, thumb.path.read_bytes(), thumb.etag)


def prewarm_cards(state: WebState, stop: threading.Event) -> int:
    """Make the card images of the first People page (those not cached yet); returns how many were made."""
    made = 0
    try:
        screen = state.locked(people_screen, 1)
        for c in screen.cards:
            if stop.is_set():
                break
            name = cache_name("card", c.faces)
            if not c.faces or state.thumbnails.get(name) is not None:
                continue
            source = state.locked(locate_card, c.faces)
            thumb = make_card(state.ctx, source)
            state.thumbnails.add(name, thumb)
            made += thumb.made
    except FacerecError as exc:  # a photo gone, a face deleted meanwhile: the page makes it when asked
        log.info("stopped making the first page's thumbnails: %s", exc)
    return made


def _etag(tag: str) -> str:
    return f'"{tag}"'


def _if_none_match(request: Request) -> list[str]:
    return [t.strip() for t in request.headers.get("if-none-match", "").split(",") if t.strip()]


def _thumb_headers(tag: str) -> dict[str, str]:
    return {"cache-control": THUMB_CACHE, "etag": _etag(tag)}


def _jpeg(request: Request, data: bytes, tag: str) -> Response:
    """A thumbnail (small: read whole), or 304 when the browser has this version."""
    if _etag(tag) in _if_none_match(request):
        return Response(status_code=304, headers=_thumb_headers(tag))
    return Response(data, media_type="image/jpeg", headers=_thumb_headers(tag))


_MISSING_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160"><rect width="160" height="160" fill="#ccc"/>'
    '<text x="80" y="85" font-size="14" text-anchor="middle" fill="#555">photo unreadable</text></svg>'
)
