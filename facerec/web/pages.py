"""What every page of the web edge shares: the state, rendering a page or an error,
redirects with a one-time message, and POSTs (size-limited, parsed in memory,
CSRF-checked; `_post`) and their form values."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from facerec.errors import (
    FaceNotFoundError,
    FacerecError,
    GroupNotFoundError,
    PersonNotFoundError,
    UsageError,
)
from facerec.web import actions
from facerec.web.state import MAX_UPLOAD_BYTES, WebState

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


def _confirmed(form: FormData) -> bool:
    return _text(form, "confirm") == "1"
