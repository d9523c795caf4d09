"""Playing the library's video clips on the page: `/video/ID` serves the clip a
face was found in, by face id (never by path), straight from the user's file
with HTTP range requests (`Range: bytes=...` -> 206 with `Content-Range`), so
the browser's <video> element seeks without downloading the clip first. The
file is never copied, converted or transcoded: a clip the browser cannot play
(most AVI, MTS, WMV, some HEVC) still shows its frame on the page's thumbnails.
The page's token is required here as everywhere (`facerec.web.security`).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from facerec.errors import FacerecError
from facerec.usecases.library.clips import PlayableClip, clip_of_face
from facerec.web.state import WebState

__all__ = ["routes"]

log = logging.getLogger(__name__)

CLIP_CACHE = "private, max-age=3600"
"""The browser may keep what it read of a clip for an hour."""


async def clip(request: Request) -> Response:
    """The video file of face ID's clip (`/video/ID`), in whole or in the byte ranges asked for."""
    state: WebState = request.app.state.web
    face_id = request.path_params["face"]
    try:
        found: PlayableClip = await state.call(clip_of_face, face_id)
    except FacerecError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    headers = {"cache-control": CLIP_CACHE}
    return FileResponse(found.path, media_type=found.media_type, headers=headers, content_disposition_type="inline")


def routes() -> list[BaseRoute]:
    """The routes of this module, included in the app's (`facerec.web.routes.routes`)."""
    return [Route("/video/{face:int}", clip, methods=["GET", "HEAD"])]
