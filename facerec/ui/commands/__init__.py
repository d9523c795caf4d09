"""One function per user action, shared by the CLI and the menu.

Each takes the `Context` and a `Console`, calls one use case (or a few),
prints its results (text or JSON Lines) and returns an exit status: 0
success, 1 when some input failed. Errors that stop the whole command are
raised as `FacerecError` and turned into one line by the caller.

One module per subject (people, library, groups, live, checks); `common` holds what they share."""

from facerec.ui.commands import metadata as metadata
from facerec.ui.commands.checks import doctor, evaluate, verify_pairs, web
from facerec.ui.commands.common import guarded
from facerec.ui.commands.groups import (
    people_answer,
    people_hide,
    people_list,
    people_merge,
    people_name,
    people_show,
    people_split,
    people_suggest,
)
from facerec.ui.commands.library import embed, index, photos, photos_maybe, recognize, reembed, search, stats, verify
from facerec.ui.commands.live import live
from facerec.ui.commands.people import (
    history,
    redo,
    register_camera,
    register_folder_of_people,
    register_images,
    undo,
    users_delete,
    users_list,
    users_remove_samples,
    users_rename,
    users_show,
)
from facerec.ui.commands.watch import watch, watch_parser  # noqa: F401 (re-exported)

__all__ = [
    "doctor",
    "embed",
    "evaluate",
    "guarded",
    "history",
    "index",
    "live",
    "people_answer",
    "people_hide",
    "people_list",
    "people_merge",
    "people_name",
    "people_show",
    "people_split",
    "people_suggest",
    "photos",
    "photos_maybe",
    "recognize",
    "redo",
    "reembed",
    "register_camera",
    "register_folder_of_people",
    "register_images",
    "search",
    "stats",
    "undo",
    "users_delete",
    "users_list",
    "users_remove_samples",
    "users_rename",
    "users_show",
    "verify",
    "verify_pairs",
    "web",
]
