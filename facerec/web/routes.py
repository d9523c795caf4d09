"""The page's routes. GETs never change what the user said (the People page only
brings the People view's derived matches up to date first); every change is a
POST through `_post` (body size-limited and parsed in memory, CSRF token
checked) that answers with a redirect to a page showing what happened, or
with a question to confirm. Library photos and faces are served by face id
(`/thumb/face/ID.jpg`, `/thumb/photo/ID.jpg`), never by path.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from facerec.web import video_routes
from facerec.web.library_routes import home, index_status, library_page, start_index, stop_index
from facerec.web.pages import _post
from facerec.web.people_routes import (
    answer_near_miss,
    group_page,
    hide_group,
    merge_cards,
    name_group,
    people_page,
    person_page,
    regroup,
    remove_sample,
    split_face,
    undo,
    unhide_group,
)
from facerec.web.search_routes import keep_upload_face, search_page, search_result, upload_photo, upload_preview
from facerec.web.state import MAX_UPLOAD_BYTES, STATIC
from facerec.web.thumb_routes import card, thumbnail

log = logging.getLogger(__name__)


class _Static(StaticFiles):
    """The page's CSS, JavaScript and icon, kept by the browser for an hour."""

    def file_response(
        self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = "private, max-age=3600"
        return response


def routes() -> list[BaseRoute]:
    get = ["GET", "HEAD"]
    return [
        Route("/", home, methods=get),
        Route("/people", people_page, methods=get),
        Route("/people/group/{group:int}", group_page, methods=get),
        Route("/person", person_page, methods=get),
        Route("/people/name", _post(name_group), methods=["POST"]),
        Route("/people/merge", _post(merge_cards), methods=["POST"]),
        Route("/people/split", _post(split_face), methods=["POST"]),
        Route("/people/remove-sample", _post(remove_sample), methods=["POST"]),
        Route("/people/hide", _post(hide_group), methods=["POST"]),
        Route("/people/unhide", _post(unhide_group), methods=["POST"]),
        Route("/person/answer", _post(answer_near_miss), methods=["POST"]),
        Route("/people/regroup", _post(regroup), methods=["POST"]),
        Route("/undo", _post(undo), methods=["POST"]),
        Route("/thumb/card/{faces:str}.jpg", card, methods=get),
        Route("/thumb/{kind:str}/{face:int}.jpg", thumbnail, methods=get),
        Route("/search", search_page, methods=get),
        Route("/search", _post(upload_photo, MAX_UPLOAD_BYTES), methods=["POST"]),
        Route("/search/{upload:str}", search_result, methods=get),
        Route("/search/{upload:str}/photo.jpg", upload_preview, methods=get),
        Route("/search/{upload:str}/keep", _post(keep_upload_face), methods=["POST"]),
        Route("/library", library_page, methods=get),
        Route("/library/index", _post(start_index), methods=["POST"]),
        Route("/library/index/stop", _post(stop_index), methods=["POST"]),
        Route("/library/index/status", index_status, methods=get),
        *video_routes.routes(),
        Mount("/static", _Static(directory=str(STATIC)), name="static"),
    ]
