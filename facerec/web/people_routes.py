"""The People screens: cards of people and groups, a group, a person; naming,
merging, splitting, hiding, answering "is this X?", undo, regroup (all POSTs)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from facerec.errors import (
    FacerecError,
)
from facerec.usecases.context import Context
from facerec.usecases.groups.changes import show_group
from facerec.usecases.groups.grouping import regroup_all
from facerec.usecases.groups.screen import FACES_PER_CARD
from facerec.usecases.groups.screen import people_screen as screen_of
from facerec.usecases.library.clips import clip_starts
from facerec.usecases.people import browse
from facerec.usecases.people.names import name_order
from facerec.web import actions
from facerec.web.pages import (
    PAGE_SIZE,
    Handler,
    _confirmed,
    _error_page,
    _int,
    _local,
    _outcome,
    _page,
    _redirect,
    _state,
    _text,
)

log = logging.getLogger(__name__)

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
    except FacerecError as exc:
        return _error_page(request, exc)
    here = "/person?" + urlencode({"name": name})
    samples = [f for f in detail.faces if f.registered]
    named = [f for f in detail.faces if not f.registered]
    return _page(
        request, "person.html", detail=detail, samples=samples, named=named, maybe=detail.maybe, here=here, nav="people"
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
