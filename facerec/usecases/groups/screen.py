"""The People screen of the web page: registered people first, then the groups of
unnamed faces, a page of cards at a time (the terminal's `people` lists the same
view: `facerec.usecases.groups.grouping.people_view`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from facerec.types import Person
from facerec.usecases.context import Context
from facerec.usecases.groups.grouping import Group, people_view, update_groups
from facerec.usecases.people.names import name_order

__all__ = ["PeopleScreen", "people_screen"]

FACES_PER_CARD = 4
"""Faces shown on a person's or a group's card."""


@dataclass(frozen=True)
class PeopleScreen:
    """One page: `people` (registered people on it, most samples first, each with
    their first `FACES_PER_CARD` faces), then `groups`; `page` of `pages`; how many
    registered people and groups there are in all; every registered name (for the
    naming forms), and how many groups are hidden (or, with `showing_hidden`, only
    hidden groups are listed)."""

    people: list[Person]
    groups: list[Group]
    page: int
    pages: int
    people_total: int
    groups_total: int
    names: list[str]
    hidden: int = 0
    showing_hidden: bool = False


def people_screen(ctx: Context, page: int, page_size: int, hidden: bool = False) -> PeopleScreen:
    """Page `page` (past the end: the last one) of `page_size` cards, after bringing the
    People view's matches up to date (quick when nothing changed, as `people` does),
    so every count on it agrees with the terminal's. Only the page's groups are read:
    10,000 groups cost what 48 do. With `hidden`, only the groups the user hid."""
    update_groups(ctx)
    everyone = sorted(ctx.db.people.people(first=FACES_PER_CARD), key=lambda p: (-p.samples, name_order(p.name)))
    persons = [] if hidden else everyone
    page = max(1, page)
    while True:
        start = (page - 1) * page_size
        on_page = persons[start : start + page_size]
        offset = max(0, start - len(persons))
        view = people_view(ctx, offset=offset, limit=page_size - len(on_page), hidden=hidden, people=everyone)
        pages = max(1, math.ceil((len(persons) + view.total) / page_size))
        if page <= pages:
            break
        page = pages  # groups named or hidden since: the last page
    names = sorted((p.name for p in everyone), key=name_order)
    return PeopleScreen(on_page, view.groups, page, pages, len(persons), view.total, names, view.hidden, hidden)
