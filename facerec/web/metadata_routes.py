"""Web routes that move names out of facerec: the person page's "Write names into
XMP sidecars" button (`xmp export --person NAME`), a POST like every other change
(CSRF token checked by `facerec.web.routes._post`); `undo` puts the old sidecars back."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from facerec.usecases.context import Context
from facerec.usecases.metadata.export import export_regions
from facerec.web.pages import _local, _post, _redirect, _state, _text


def _export_message(ctx: Context, name: str) -> str:
    done = export_regions(ctx, person=name)
    failed = f"; {len(done.failed)} failed (moved or read-only?)" if done.failed else ""
    return (
        f"{len(done.written)} sidecar{'s' if len(done.written) != 1 else ''} written with the names of the photos "
        f"where {name!r} is ({done.faces} face regions), {done.unchanged} already up to date{failed}; Undo puts the "
        "old sidecars back"
    )


async def export_person(request: Request, form: FormData) -> Response:
    name = _text(form, "name")
    back = _local(_text(form, "next"), "/person?" + urlencode({"name": name}))
    message = await _state(request).call(_export_message, name)
    return _redirect(request, back, message)


def routes() -> list[BaseRoute]:
    """The routes of this module, for the app to include."""
    return [Route("/person/xmp-export", _post(export_person), methods=["POST"])]
