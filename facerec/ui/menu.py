"""The interactive numbered menu. Each item asks for what it needs and calls
the same function of `facerec.ui.commands` as the matching subcommand."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from facerec.errors import FacerecError
from facerec.ui import commands
from facerec.ui.console import Console
from facerec.usecases.context import Context
from facerec.usecases.grouping import MAX_DISTANCE
from facerec.usecases.users import show_person
from facerec.web import DEFAULT_HOST, DEFAULT_PORT


class _EndOfInput(Exception):
    """Input ended (Ctrl-D or a closed pipe): leave the menu."""


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    action: Callable[[], object]


class Menu:
    """`Menu(ctx, console).run()` loops until 0, Ctrl-C or end of input; returns 0."""

    def __init__(self, ctx: Context, con: Console) -> None:
        self.ctx = ctx
        # The menu prints text; questions it asks itself must be answered in it.
        self.con = dataclasses.replace(con, json=False, prompting=True)
        self.items = [
            Item("1", "Start Face Recognition", self.recognize),
            Item("2", "Register a New User", self.register),
            Item("3", "Manage User Database", self.manage),
            Item("4", "Index a photo folder", self.index),
            Item("5", "Find photos of a person (from a photo)", self.search),
            Item("6", "Photos of a registered person", self.photos),
            Item("7", "People in the photo library", self.people),
            Item("8", "Open the web page (people, search, library in a browser)", self.web),
            Item("0", "Exit", lambda: None),
        ]

    def run(self) -> int:
        try:
            while True:
                choice = self._choose("facerec - face recognition", self.items)
                if choice.key == "0":
                    break
                self._do(choice.action)
        except (_EndOfInput, KeyboardInterrupt):
            self.con.out("")
        self.con.out("bye")
        return 0

    # -- helpers ------------------------------------------------------------

    def _ask(self, prompt: str) -> str:
        answer = self.con.ask(prompt)
        if answer is None:
            raise _EndOfInput
        return answer.strip()

    def _choose(self, title: str, items: list[Item]) -> Item:
        while True:
            self.con.out("")
            self.con.out(title)
            for item in items:
                self.con.out(f"  {item.key}. {item.label}")
            answer = self._ask("Choose an option: ")
            for item in items:
                if answer == item.key:
                    return item
            self.con.out(f"'{answer}' is not an option; enter one of {', '.join(i.key for i in items)}")

    def _do(self, action: Callable[[], object]) -> None:
        """Run an action; its errors are shown and the menu goes on."""
        try:
            action()
        except FacerecError as exc:
            self.con.error(str(exc))
        except KeyboardInterrupt:
            self.con.out("")
            self.con.out("cancelled")

    # -- items --------------------------------------------------------------

    def recognize(self) -> None:
        self.con.out("Opening the camera: q or Esc closes the window.")
        commands.live(self.ctx, self.con, None, window=True)

    def register(self) -> None:
        name = self._ask("Name of the new user (empty to go back): ")
        if not name:
            return
        self.con.out("Look at the camera; good frames are captured automatically. Esc cancels.")
        commands.register_camera(self.ctx, self.con, name, None, samples=5, window=True)

    def index(self) -> None:
        folder = self._ask("Folder of photos (empty to go back): ")
        if folder:
            commands.index(self.ctx, self.con, [folder], workers=None, prune=False)

    def search(self) -> None:
        image = self._ask("Photo of the person (empty to go back): ")
        if image:
            commands.search(self.ctx, self.con, image, limit=20, face=None, export=None)

    def photos(self) -> None:
        name = self._ask("Registered person's name (empty to go back): ")
        if name:
            commands.photos(self.ctx, self.con, name, limit=None, export=None)

    def people(self) -> None:
        commands.people_list(self.ctx, self.con, min_faces=2, max_distance=MAX_DISTANCE, export=None)
        while True:
            answer = self._ask("Name a group? Enter its number (empty to go back): ")
            if not answer:
                return
            if not answer.isdigit():
                self.con.out("enter a group number")
                continue
            name = self._ask(f"Name for group {answer}: ")
            if name:
                group = int(answer)
                self._do(lambda: commands.people_name(self.ctx, self.con, group, name))  # noqa: B023 (called now)

    def web(self) -> None:
        self.con.out("Serving the web page; Ctrl-C stops it and comes back here.")
        commands.web(self.ctx, self.con, DEFAULT_HOST, DEFAULT_PORT, open_browser=False)

    def manage(self) -> None:
        items = [
            Item("1", "List users", lambda: commands.users_list(self.ctx, self.con)),
            Item("2", "Show a user", self._show),
            Item("3", "Rename a user", self._rename),
            Item("4", "Delete a user", self._delete),
            Item("0", "Back", lambda: None),
        ]
        while True:
            choice = self._choose("Manage User Database", items)
            if choice.key == "0":
                return
            self._do(choice.action)

    def _show(self) -> None:
        name = self._ask("Name: ")
        if name:
            commands.users_show(self.ctx, self.con, name)

    def _rename(self) -> None:
        old = self._ask("Current name: ")
        if not old:
            return
        show_person(self.ctx, old)  # an unknown name is refused before asking for the new one
        new = self._ask("New name: ")
        commands.users_rename(self.ctx, self.con, old, new)

    def _delete(self) -> None:
        name = self._ask("Name to delete: ")
        if name:
            commands.users_delete(self.ctx, self.con, name)
