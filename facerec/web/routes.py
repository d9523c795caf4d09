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
import re
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from facerec.errors import (
    FaceNotFoundError,
    FacerecError,
    GroupNotFoundError,
    ImageError,
    NoFaceError,
    PersonNotFoundError,
    UsageError,
)
from facerec.usecases.context import Context
from facerec.usecases.groups import suggest
from facerec.usecases.groups.changes import show_group
from facerec.usecases.groups.grouping import regroup_all
from facerec.usecases.groups.screen import FACES_PER_CARD
from facerec.usecases.groups.screen import people_screen as screen_of
from facerec.usecases.library.clips import clip_starts
from facerec.usecases.library.stats import MAX_FOLDERS, stats
from facerec.usecases.library.thumbnails import (
    Thumbnail,
    cache_name,
    locate_card,
    locate_thumbnail,
    make_card,
    make_thumbnail,
)
from facerec.usecases.library.upload import PhotoFaces, analyze_bytes, preview, search_face
from facerec.usecases.people import browse
from facerec.usecases.people.names import name_order
from facerec.web import actions, video_routes
from facerec.web.state import MAX_UPLOAD_BYTES, STATIC, Upload, WebState

log = logging.getLogger(__name__)

PAGE_SIZE = 48
"""Cards on one People page."""
MAX_FORM_BYTES = 256 * 1024
"""The largest body of a POST that is not a photo upload."""
THUMB_CACHE = "private, max-age=86400"
"""Thumbnails: the browser keeps them a day, then asks again (If-None-Match -> 304)."""
NOT_FOUND = (PersonNotFoundError, GroupNotFoundError, FaceNotFoundError)


class _TooLarge(Exception):
    pass


def _state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def _page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    state = _state(request)
    context.setdefault("flash", state.flashes.pop(request.query_params.get("m")))
    context.setdefault("nav", template.split(".")[0])
    context.setdefault("job", state.jobs.status())
    return state.templates.TemplateResponse(request, template, context, status_code=status)


def _error_page(request: Request, exc: FacerecError) -> Response:
    status = 404 if isinstance(exc, NOT_FOUND) else 400
    return _page(request, "error.html", status, message=str(exc), nav="")


def _local(target: str | None, default: str) -> str:
    """`target` if it is a path on this server (not `//host`, no scheme), else `default`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _redirect(request: Request, target: str, message: str, kind: str = "ok") -> Response:
    key = _state(request).flashes.add(message, kind)
    path, _, query = target.partition("?")
    params = [(k, v) for k, v in parse_qsl(query) if k != "m"] + [("m", key)]
    return RedirectResponse(f"{path}?{urlencode(params)}", status_code=303)


# -- POST: size limit, in-memory parsing, CSRF ---------------------------------------------


class _InMemoryParser(MultiPartParser):
    """Starlette's parser with uploads kept in memory (never spooled to a temporary file)."""

    spool_max_size = MAX_UPLOAD_BYTES + 1024 * 1024


async def _read_form(request: Request, limit: int) -> FormData:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":

        async def once() -> AsyncGenerator[bytes, None]:
            yield bytes(body)

        parser = _InMemoryParser(request.headers, once(), max_files=1, max_fields=50, max_part_size=MAX_FORM_BYTES)
        return await parser.parse()
    if kind in ("application/x-www-form-urlencoded", ""):
        try:
            fields: list[tuple[str, str | UploadFile]] = []
            fields += parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=500)
            return FormData(fields)
        except (UnicodeDecodeError, ValueError) as exc:
            raise MultiPartException(f"unreadable form ({exc})") from None
    raise MultiPartException(f"unexpected content type {kind!r}")


Handler = Callable[[Request, FormData], Awaitable[Response]]


def _post(handler: Handler, limit: int = MAX_FORM_BYTES) -> Callable[[Request], Awaitable[Response]]:
    """A POST route: body at most `limit` bytes, parsed in memory; the CSRF token
    checked; a `FacerecError` becomes a message on the page the form came from."""

    async def endpoint(request: Request) -> Response:
        state = _state(request)
        try:
            form = await _read_form(request, limit)
        except _TooLarge:
            return _page(
                request,
                "error.html",
                413,
                message=f"too large: at most {limit // (1024 * 1024) or 1} MB; nothing was stored",
                nav="",
            )
        except MultiPartException as exc:
            return _page(request, "error.html", 400, message=f"bad request: {exc.message}", nav="")
        token = form.get("csrf") or request.headers.get("x-csrf-token")
        if not state.keys.is_csrf(token if isinstance(token, str) else None):
            return _page(
                request, "error.html", 403, message="refused: the form has no valid CSRF token; reload the page", nav=""
            )
        try:
            return await handler(request, form)
        except FacerecError as exc:
            back = _local(_text(form, "next"), request.headers.get("x-back", "/people"))
            return _redirect(request, back, str(exc), "error")

    endpoint.csrf_checked = True  # type: ignore[attr-defined]
    return endpoint


def _text(form: FormData, key: str, default: str = "") -> str:
    value = form.get(key)
    return value if isinstance(value, str) else default


def _int(value: str | None, what: str) -> int:
    if value is None or not value.strip().isdigit():
        raise UsageError(f"no {what} given")
    return int(value)


async def _outcome(request: Request, outcome: actions.Outcome, back: str) -> Response:
    if isinstance(outcome, actions.Question):
        return _page(request, "question.html", question=outcome, back=back, nav="")
    return _redirect(request, back, outcome.message)


# -- People ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """A card on the People page: a registered person (`p:NAME`) or a group (`g:ID`)."""

    ref: str
    title: str
    detail: str
    faces: list[int]
    href: str
    named: bool
    group: int | None = None


@dataclass(frozen=True)
class CardsPage:
    """One page of the People page: its cards (registered people, then groups) and
    the counts the page shows (see `facerec.usecases.groups.screen.PeopleScreen`)."""

    cards: list[Card]
    page: int
    pages: int
    people: int
    groups: int
    names: list[str]
    hidden: int = 0
    showing_hidden: bool = False


def people_screen(ctx: Context, page: int, page_size: int = PAGE_SIZE, hidden: bool = False) -> CardsPage:
    """One page of the People screen (the use case's `people_screen`), as cards."""
    screen = screen_of(ctx, page, page_size, hidden)
    cards = [
        Card(
            f"p:{p.name}",
            p.name,
            f"{p.samples} sample{'s' * (p.samples != 1)} · {p.photos} library photo{'s' * (p.photos != 1)}",
            p.first,
            "/person?" + urlencode({"name": p.name}),
            True,
        )
        for p in screen.people
    ]
    for g in screen.groups:  # the faces of a group are in as many photos: one person is never twice in a photo
        cards.append(
            Card(
                f"g:{g.id}",
                f"Group {g.id}",
                f"{g.size} faces · {g.size} photo{'s' if g.size != 1 else ''}",
                [f.face_id for f in g.faces[:FACES_PER_CARD]],
                f"/people/group/{g.id}",
                False,
                g.id,
            )
        )
    return CardsPage(
        cards,
        screen.page,
        screen.pages,
        screen.people_total,
        screen.groups_total,
        screen.names,
        screen.hidden,
        screen.showing_hidden,
    )


def _page_number(request: Request) -> int:
    text = request.query_params.get("page", "1")
    return int(text) if text.isdigit() and 0 < len(text) < 7 else 1


async def people_page(request: Request) -> Response:
    hidden = request.query_params.get("hidden") == "1"
    screen = await _state(request).call(people_screen, _page_number(request), PAGE_SIZE, hidden)
    here = "/people?" + urlencode({"page": screen.page, **({"hidden": 1} if hidden else {})})
    return _page(request, "people.html", screen=screen, here=here)


async def group_page(request: Request) -> Response:
    group_id = request.path_params["group"]
    try:
        group = await _state(request).call(show_group, group_id)
        names = [p.name for p in (await _state(request).call(browse.people_cards, 0)).people]
        clips = await _state(request).call(clip_starts, [f.face_id for f in group.faces])
    except FacerecError as exc:
        return _error_page(request, exc)
    return _page(
        request,
        "group.html",
        group=group,
        clips=clips,
        names=sorted(names, key=name_order),
        here=f"/people/group/{group_id}",
        nav="people",
    )


async def person_page(request: Request) -> Response:
    name = request.query_params.get("name", "")
    try:
        detail = await _state(request).call(browse.person_detail, name, 500)
        maybe = await _state(request).call(suggest.near_misses, name, suggest.QUESTIONS_SHOWN)
    except FacerecError as exc:
        return _error_page(request, exc)
    here = "/person?" + urlencode({"name": name})
    samples = [f for f in detail.faces if f.registered]
    named = [f for f in detail.faces if not f.registered]
    return _page(
        request, "person.html", detail=detail, samples=samples, named=named, maybe=maybe, here=here, nav="people"
    )


async def name_group(request: Request, form: FormData) -> Response:
    back = _local(_text(form, "next"), "/people")
    group = _int(_text(form, "group"), "group")
    outcome = await _state(request).call(actions.name_group, group, _text(form, "name"), _confirmed(form), back)
    return await _outcome(request, outcome, back)


async def merge_cards(request: Request, form: FormData) -> Response:
    back = _local(_text(form, "next"), "/people")
    cards = [c for c in form.getlist("card") if isinstance(c, str)]
    outcome = await _state(request).call(actions.merge_cards, cards, _confirmed(form), back)
    return await _outcome(request, outcome, back)


def _on_one(change: Callable[[Context, int], actions.Outcome], key: str) -> Handler:
    """A POST route that makes `change` to the face or group whose id the form's `key` field holds."""

    async def handler(request: Request, form: FormData) -> Response:
        back = _local(_text(form, "next"), "/people")
        outcome = await _state(request).call(change, _int(_text(form, key), key))
        return await _outcome(request, outcome, back)

    return handler


split_face = _on_one(actions.not_this_person, "face")
remove_sample = _on_one(actions.remove_sample, "face")
hide_group = _on_one(actions.hide_group, "group")
unhide_group = _on_one(actions.unhide_group, "group")


async def answer_near_miss(request: Request, form: FormData) -> Response:
    name = _text(form, "name")
    back = _local(_text(form, "next"), "/person?" + urlencode({"name": name}))
    yes = _text(form, "answer") == "yes"
    face = _int(_text(form, "face"), "face")
    outcome = await _state(request).call(actions.answer_near_miss, name, face, yes, _confirmed(form), back)
    return await _outcome(request, outcome, back)


async def undo(request: Request, form: FormData) -> Response:
    back = _local(_text(form, "next"), "/people")
    outcome = await _state(request).call(actions.undo_last)
    return await _outcome(request, outcome, back)


async def regroup(request: Request, form: FormData) -> Response:
    n = (await _state(request).call(regroup_all)).groups
    return _redirect(request, "/people", f"found {n} group{'s' if n != 1 else ''} of unnamed faces")


def _confirmed(form: FormData) -> bool:
    return _text(form, "confirm") == "1"


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
        shown = await state.call(preview, photo)
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
        result = await _state(request).call(search_face, upload.photo, number)
    except FacerecError as exc:
        return _page(request, "search.html", 400, upload=None, result=None, error=str(exc))
    boxes = _face_boxes(upload.photo, upload.width)
    names = sorted((p.name for p in (await _state(request).call(browse.people_cards, 0)).people), key=name_order)
    return _page(
        request, "search.html", upload=upload, key=key, result=result, boxes=boxes, names=names, here=f"/search/{key}"
    )


def _face_boxes(photo: PhotoFaces, width: int) -> list[dict[str, int]]:
    """Each face's box in the preview's pixels (the page draws them over it)."""
    k = width / photo.pixels.shape[1]
    return [
        {"x": round(b.x * k), "y": round(b.y * k), "w": round(b.w * k), "h": round(b.h * k)}
        for b in (f.face.box for f in photo.faces)
    ]


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
