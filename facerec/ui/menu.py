"""The interactive numbered menu. Each item asks for what it needs and calls
the same function of `facerec.ui.commands` as the matching subcommand.

The menu has no flags, so advice written for the command line ("pass
--yes") is reworded for it before it is shown (`menu_advice`); paths are
read as a file manager's drag and drop types them (`clean_path`); name
prompts say who is registered."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from facerec.errors import Cancelled, DatabaseError, FacerecError, SimilarNameError, UsageError
from facerec.ui import commands
from facerec.ui.console import Console, Terminated
from facerec.usecases.context import Context
from facerec.usecases.groups import changes as people_uc
from facerec.usecases.groups import suggest as suggest_uc
from facerec.usecases.library.stats import stats
from facerec.usecases.people import users as users_uc
from facerec.web import DEFAULT_HOST, DEFAULT_PORT

DEFAULT_SAMPLES = 5
PEOPLE_PAGE = 50
"""Groups the People item lists at a time (n and p page through them)."""
NAMES_SHOWN = 15
"""A name prompt lists at most this many registered names."""

ADVICE = [
    (
        re.compile(r"; pass --source with another camera index, a video file or an image folder"),
        "; set FACEREC_CAMERA (in .env) to another camera index, a video file or an image folder",
    ),
    (re.compile(r"; use --no-window for text output"), "; unset DISPLAY to run it in text mode"),
    (re.compile(r" \(answer yes, or pass --yes, to [^)]*\)"), ""),
    (re.compile(r"or ask for --samples (\d+)"), r"or ask for \1 samples"),
    (re.compile(r"; run 'people' to list the current groups"), "; see the list above"),
    (re.compile(r"\(index some photos, or lower --min-faces\)"), "(index some photos first: option 4)"),
    (re.compile(r"; pass --yes\b"), "; answer yes"),
    (re.compile(r" \(--offset \d+ for more\)"), " (n: the next page)"),
    (re.compile(r" \('people --hidden' lists them\)"), " (u: list them to show one again)"),
    (re.compile(r"; run index again to continue"), "; index the folder again to continue"),
    (re.compile(r"; 'people' will place the new faces"), "; People (7) will place the new faces"),
    (
        re.compile(r"answer them in the menu \(People > suggestions\), or with 'people name' / 'people merge'"),
        "answer them with 8 (Review people suggestions)",
    ),
    (re.compile(r"; 'people --hidden' lists them"), "; u lists them"),
    (re.compile(r"run 'people' first"), "list People (7) first"),
]
"""Command-line advice -> what to do in the menu instead."""


def menu_advice(text: str) -> str:
    """`text` with advice about command-line flags reworded for the menu."""
    for pattern, replacement in ADVICE:
        text = pattern.sub(replacement, text)
    return text


def clean_path(answer: str) -> str:
    """A path as typed or dropped into a terminal: surrounding spaces removed,
    quotes and backslash escapes undone, `file://` URLs and `~` understood."""
    text = answer.strip()
    if text and not os.path.lexists(os.path.expanduser(text)):
        try:
            parts = shlex.split(text)
        except ValueError:  # an unmatched quote: take it as typed
            parts = [text]
        if len(parts) == 1:
            text = parts[0]
    if text.startswith("file://"):
        text = unquote(urlparse(text).path)
    return os.path.expanduser(text)


class MenuConsole(Console):
    """The menu's console: text, questions answered here, advice for the menu."""

    def out(self, text: str = "") -> None:
        super().out(menu_advice(text))

    def info(self, text: str) -> None:
        super().info(menu_advice(text))

    def error(self, text: str) -> None:
        super().error(menu_advice(text))


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
        self.con = MenuConsole(con.stdin, con.stdout, con.stderr, json=False, assume_yes=False, prompting=True)
        self._title_failed = False
        self.items = [
            Item("1", "Start Face Recognition", self.recognize),
            Item("2", "Register a New User", self.register),
            Item("3", "Manage User Database", self.manage),
            Item("4", "Index a photo folder", self.index),
            Item("5", "Find photos of a person (from a photo)", self.search),
            Item("6", "Photos of a registered person", self.photos),
            Item("7", "People in the photo library", self.people),
            Item("8", "Review people suggestions", self.suggestions),
            Item("9", "Open the web page (people, search, library in a browser)", self.web),
            Item("w", "Watch the library folders: index what arrives, changes, moves or goes", self.watch),
            Item("0", "Exit", lambda: None),
        ]

    def run(self) -> int:
        """Returns 0, or 1 when the database cannot be reached at all (nothing here works without it)."""
        try:
            stats(self.ctx)
        except DatabaseError as exc:
            self.con.error(str(exc))
            return 1
        try:
            while True:
                choice = self._choose(self._title(), self.items)
                if choice.key == "0":
                    break
                self._do(choice.action)
        except Terminated:
            raise  # the terminal may be gone: no goodbye, just unwind
        except (_EndOfInput, KeyboardInterrupt):
            self.con.out("")
        self.con.out("bye")
        return 0

    # -- helpers ------------------------------------------------------------

    def _title(self) -> str:
        """The title line, with what the database holds."""
        title = "facerec - face recognition"
        try:
            s = stats(self.ctx).counts
        except FacerecError as exc:
            if not self._title_failed:
                self.con.error(str(exc))
                self._title_failed = True
            return title
        self._title_failed = False
        return (
            f"{title} ({s.photos} photo{'s' * (s.photos != 1)}, {s.faces} face{'s' * (s.faces != 1)}, "
            f"{s.people} registered, {s.groups} group{'s' * (s.groups != 1)})"
        )

    def _ask(self, prompt: str) -> str:
        answer = self.con.ask(prompt)
        if answer is None:
            raise _EndOfInput
        return answer.strip()

    def _ask_path(self, prompt: str) -> str:
        answer = self.con.ask(prompt)
        if answer is None:
            raise _EndOfInput
        return clean_path(answer) if answer.strip() else ""

    def _ask_paths(self, prompt: str) -> list[str]:
        """Several paths on one line, as dragging files into a terminal types them."""
        answer = self.con.ask(prompt)
        if answer is None:
            raise _EndOfInput
        text = answer.strip()
        if not text:
            return []
        if os.path.lexists(clean_path(text)):
            return [clean_path(text)]
        try:
            parts = shlex.split(text)
        except ValueError:
            parts = text.split()
        return [clean_path(p) for p in parts]

    def _ask_name(self, prompt: str) -> str:
        """A person's name, after listing who is registered."""
        names = [p.name for p in users_uc.list_people(self.ctx).people]
        if names:
            shown = ", ".join(names[:NAMES_SHOWN])
            more = f" and {len(names) - NAMES_SHOWN} more (option 3, 1 lists them)" if len(names) > NAMES_SHOWN else ""
            self.con.out(f"registered: {shown}{more}")
        else:
            self.con.out("no one is registered yet")
        return self._ask(prompt)

    def _ask_count(self, prompt: str, default: int) -> int | None:
        """A whole number of at least 1 (Enter for `default`); None to go back."""
        while True:
            answer = self._ask(prompt)
            if not answer:
                return default
            if answer.isdigit() and int(answer) >= 1:
                return int(answer)
            if answer.lower() in ("b", "back", "q"):
                return None
            self.con.out("enter a whole number of at least 1, or press Enter for the default")

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
        except Terminated:
            raise
        except KeyboardInterrupt:
            with contextlib.suppress(OSError):
                self.con.out("")
                self.con.out("cancelled")

    @property
    def _window(self) -> bool:
        """Whether the camera items open a window (a display exists) or run in text mode."""
        return bool(self.ctx.settings.display)

    # -- items --------------------------------------------------------------

    def recognize(self) -> None:
        if self._window:
            self.con.out("Opening the camera: q or Esc closes the window.")
        else:
            self.con.out("Recognizing from the camera in text mode: Ctrl-C stops.")
        commands.live(self.ctx, self.con, None, window=True)

    def register(self) -> None:
        name = self._ask_name("Name of the new user, or a folder of people to register them all (empty to go back): ")
        if not name:
            return
        folder = clean_path(name)
        if name.startswith(("/", "~", "file://", "'", '"')) and os.path.isdir(folder):
            self.con.out(f"Registering everyone of {folder} (one subfolder of photos per person).")
            commands.register_folder_of_people(self.ctx, self.con, folder, use_largest=True)
            return
        sources = [
            Item("1", "Photos of them (drag files here)", lambda: self._register_photos(name)),
            Item("2", "The camera", lambda: self._register_camera(name)),
            Item("0", "Back", lambda: None),
        ]
        self._choose(f"Register {name} from", sources).action()

    def _register_photos(self, name: str) -> None:
        paths = self._ask_paths(f"Photos of {name} (paths, separated by spaces; empty to go back): ")
        if paths:
            self._named(name, lambda n: commands.register_images(self.ctx, self.con, n, paths, use_largest=True))

    def _register_camera(self, name: str) -> None:
        samples = self._ask_count(f"Number of samples (Enter for {DEFAULT_SAMPLES}): ", DEFAULT_SAMPLES)
        if samples is None:
            return
        cancel = "Esc cancels" if self._window else "Ctrl-C cancels"
        self.con.out(f"Look at the camera and follow the prompts; good frames are captured automatically. {cancel}.")
        self._named(name, lambda n: commands.register_camera(self.ctx, self.con, n, None, samples=samples, window=True))

    def index(self) -> None:
        folder = self._ask_path("Folder of photos (empty to go back): ")
        if folder:
            commands.index(self.ctx, self.con, [folder], workers=None, prune=False)

    def watch(self) -> None:
        folder = self._ask_path("Folder to watch (Enter: the folders already indexed): ")
        self.con.out("Watching: new, changed, moved and deleted photos are indexed as they settle. Ctrl-C stops.")
        commands.watch(self.ctx, self.con, [folder] if folder else [], stop_on_sigterm=False)

    def search(self) -> None:
        image = self._ask_path("Photo of the person (empty to go back): ")
        if image:
            commands.search(self.ctx, self.con, image, limit=None, face=None, export=None)

    def photos(self) -> None:
        name = self._ask_name("Registered person's name (empty to go back): ")
        if name:
            commands.photos(self.ctx, self.con, name, limit=None, export=None)

    def people(self) -> None:
        """The People view a page at a time; a group's number offers what can be done with it."""
        offset, hidden = 0, False
        while True:
            commands.people_list(
                self.ctx, self.con, min_faces=None, export=None, offset=offset, limit=PEOPLE_PAGE, hidden=hidden
            )
            answer = self._ask(
                "A group's number to name, merge, split or hide it; n/p: next/previous page; "
                f"u: {'back to People' if hidden else 'hidden groups'} (empty to go back): "
            ).lower()
            if not answer:
                if not hidden:
                    return
                hidden, offset = False, 0
            elif answer in ("n", "p"):
                offset = offset + PEOPLE_PAGE if answer == "n" else max(0, offset - PEOPLE_PAGE)
            elif answer == "u":
                hidden, offset = not hidden, 0
            elif not answer.isdigit():
                self.con.out("enter a group number, n, p or u")
            else:
                self._do(lambda: self._group(int(answer), hidden))  # noqa: B023 (called now)

    def _group(self, group: int, hidden: bool) -> None:
        people_uc.show_group(self.ctx, group)  # an unknown group is refused before asking anything
        items = [
            Item("1", "Name it", lambda: self._name_group(group)),
            Item("2", "Merge it with another group or a registered person", lambda: self._merge_group(group)),
            Item("3", "Take faces out of it (not this person)", lambda: self._split_group(group)),
            Item(
                "4",
                "Show it in People again" if hidden else "Hide it (a stranger in the background)",
                lambda: commands.people_hide(self.ctx, self.con, [group], not hidden),
            ),
            Item("0", "Back", lambda: None),
        ]
        self._choose(f"Group {group}", items).action()

    def _name_group(self, group: int) -> None:
        name = self._ask_name(f"Name for group {group}: ")
        if name:
            self._named(name, lambda n: commands.people_name(self.ctx, self.con, group, n))

    def _merge_group(self, group: int) -> None:
        other = self._ask_name(f"Merge group {group} into (a group number or a registered name; empty to go back): ")
        if other:
            commands.people_merge(self.ctx, self.con, other, str(group))

    def _split_group(self, group: int) -> None:
        commands.people_show(self.ctx, self.con, str(group))
        answer = self._ask("Face ids that are not this person (spaces between; empty to go back): ")
        ids = answer.replace(",", " ").split()
        if not ids:
            return
        if not all(i.isdigit() for i in ids):
            raise UsageError("enter face ids (numbers) from the list above")
        commands.people_split(self.ctx, self.con, [int(i) for i in ids])

    def web(self) -> None:
        self.con.out("Serving the web page; Ctrl-C stops it and comes back here.")
        commands.web(self.ctx, self.con, DEFAULT_HOST, DEFAULT_PORT, open_browser=False)

    def suggestions(self) -> None:
        """Ask about each suggestion in turn; y and n are remembered, skip asks again another time."""
        items = suggest_uc.suggestions(self.ctx, limit=None).items
        if not items:
            self.con.out("no suggestions: no group is close to a registered person or to another group")
            return
        asked = set()
        for s in items:
            if s.group.id in asked or (s.other is not None and s.other.id in asked):
                continue  # an earlier answer changed this group: it is suggested again next time if still apt
            self.con.out("")
            for g in (s.group, s.other):
                if g is not None:
                    self.con.out(f"group {g.id}: " + ", ".join(f.picture for f in g.faces[:3]))
            while True:
                answer = self._ask(f"{s.question} [y/n/skip, empty to stop] ").lower()
                if answer in ("", "y", "yes", "n", "no", "s", "skip"):
                    break
                self.con.out("answer y, n or skip")
            if not answer:
                return
            if answer in ("s", "skip"):
                continue
            yes = answer in ("y", "yes")
            if yes:
                asked |= {s.group.id} | ({s.other.id} if s.other is not None else set())
            self._do(
                lambda: self.con.out(
                    commands.guarded(self.con, lambda force: suggest_uc.answer(self.ctx, s, yes, force)).message  # noqa: B023
                )
            )
        self.con.out("no more suggestions")

    def manage(self) -> None:
        items = [
            Item("1", "List users", lambda: commands.users_list(self.ctx, self.con)),
            Item("2", "Show a user", self._show),
            Item("3", "Rename a user", self._rename),
            Item("4", "Delete a user", self._delete),
            Item("5", "Remove a wrong sample of a user", self._remove_sample),
            Item("6", "Undo the last change", lambda: commands.undo(self.ctx, self.con)),
            Item("7", "History of changes", lambda: commands.history(self.ctx, self.con, 20)),
            Item("8", "Check the installation (doctor)", lambda: commands.doctor(self.ctx, self.con)),
            Item("9", "Redo what was undone", lambda: commands.redo(self.ctx, self.con)),
            Item("x", "Write the names into XMP sidecars (for other photo programs)", self._xmp_export),
            Item("i", "Import names from a Google Takeout or Picasa folder", self._import_names),
            Item("0", "Back", lambda: None),
        ]
        while True:
            choice = self._choose("Manage User Database", items)
            if choice.key == "0":
                return
            self._do(choice.action)

    def _xmp_export(self) -> None:
        name = self._ask("Only the photos of (a registered name; empty: every photo with a name): ").strip()
        commands.metadata.xmp_export(self.ctx, self.con, [], name or None, False)

    def _import_names(self) -> None:
        folder = self._ask_path("Google Takeout or Picasa folder (empty to go back): ")
        if folder:
            commands.metadata.import_folder(self.ctx, self.con, folder, None)

    def _show(self) -> None:
        name = self._ask_name("Name: ")
        if name:
            commands.users_show(self.ctx, self.con, name)

    def _rename(self) -> None:
        old = self._ask_name("Current name: ")
        if not old:
            return
        users_uc.show_person(self.ctx, old)  # an unknown name is refused before asking for the new one
        new = self._ask("New name: ")
        commands.users_rename(self.ctx, self.con, old, new)

    def _named(self, name: str, store: Callable[[str], object]) -> None:
        """`store(name)`; a new name that differs from a registered one only by case,
        accents or spacing is asked about ("did you mean ...?")."""
        try:
            store(name)
        except SimilarNameError as exc:
            if not self.con.confirm(f"{exc.existing!r} is registered; did you mean {exc.existing!r}?"):
                raise Cancelled("nothing stored") from None
            store(exc.existing)

    def _remove_sample(self) -> None:
        name = self._ask("Name: ")
        if not name:
            return
        commands.users_show(self.ctx, self.con, name)
        answer = self._ask("Face ids to remove (spaces between; empty to go back): ")
        ids = answer.replace(",", " ").split()
        if not ids:
            return
        if not all(i.isdigit() for i in ids):
            raise UsageError("enter face ids (numbers) from the list above")
        commands.users_remove_samples(self.ctx, self.con, [int(i) for i in ids])

    def _delete(self) -> None:
        name = self._ask_name("Name to delete: ")
        if name:
            commands.users_delete(self.ctx, self.con, name)
