"""`register --folder DIR`: everyone of a labelled folder, `DIR/<name>/<photos>`
(or `DIR/people/<name>/<photos>`, the layout `evaluate` reads), each person
through `register_photos` with all of their photos, and its checks. A person
who is refused (a photo without a face, a face that looks like someone else)
is reported and the others go on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from facerec.errors import DatabaseError, DatasetError, FacerecError, InputPathError, ModelError
from facerec.usecases.context import Context
from facerec.usecases.people.names import normalized
from facerec.usecases.people.register import register_photos
from facerec.vision.images import IMAGE_SUFFIXES

__all__ = ["FolderRegistration", "PersonOutcome", "register_folder"]


@dataclass(frozen=True)
class PersonOutcome:
    """One name of the folder: samples added (and whether the person is new), how many
    of its photos were their samples already, or why not. `folder` is the folder's
    name when it differs from the person's (`joe_biden` for 'Joe Biden')."""

    name: str
    photos: int
    added: int = 0
    created: bool = False
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    already_stored: int = 0
    folder: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class FolderRegistration:
    folder: Path
    people: list[PersonOutcome]

    @property
    def failed(self) -> list[PersonOutcome]:
        return [p for p in self.people if not p.ok]


def people_folders(folder: Path) -> dict[str, list[Path]]:
    """name -> photos (in name order) of a labelled folder; `DatasetError` if it has none."""
    if not folder.exists():
        raise InputPathError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise InputPathError(f"{folder}: not a folder (expected {folder}/<name>/<photos>)")
    root = folder / "people" if (folder / "people").is_dir() else folder
    out: dict[str, list[Path]] = {}
    for person in sorted(p for p in root.iterdir() if p.is_dir()):
        photos = sorted(p for p in person.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if photos:
            out[person.name] = photos
    if not out:
        raise DatasetError(f"{root}: no <name>/<photos> folders with photos in them")
    return out


def person_of_folder(known: list[str], folder: str) -> str:
    """The registered person a folder is named after ('Joe Biden' for `joe_biden`,
    `Joe-Biden` or `JOE BIDEN`: underscores and dashes read as spaces, case and
    accents ignored), else the folder's name itself."""
    key = normalized(folder.replace("_", " ").replace("-", " "))
    return next((k for k in known if normalized(k) == key), folder)


def register_folder(
    ctx: Context,
    folder: Path | str,
    use_largest: bool = False,
    on_person: Callable[[PersonOutcome], None] | None = None,
) -> FolderRegistration:
    """Register every person folder of `folder` (see the module docstring);
    `on_person` hears each outcome as it comes. A model or database failure
    stops the run (it is not about one person)."""
    root = Path(folder)
    outcomes = []
    known = ctx.db.people.names()
    for folder_name, photos in people_folders(root).items():
        name = person_of_folder(known, folder_name)
        renamed = folder_name if name != folder_name else None
        try:
            done = register_photos(ctx, name, photos, use_largest)
            outcome = PersonOutcome(
                name, len(photos), done.added, done.created, None, list(done.warnings), done.already_stored, renamed
            )
        except (ModelError, DatabaseError):
            raise
        except FacerecError as exc:
            outcome = PersonOutcome(name, len(photos), error=str(exc), folder=renamed)
        outcomes.append(outcome)
        if on_person is not None:
            on_person(outcome)
    return FolderRegistration(root, outcomes)
