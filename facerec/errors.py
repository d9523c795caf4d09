"""Domain exceptions. Library code raises these; the CLI and menu turn them
into one line on stderr and an exit status. Their messages are written for
the user: say what went wrong and, where possible, what to do."""

from __future__ import annotations

from collections.abc import Callable


class FacerecError(Exception):
    """Base class of every error the user can cause or fix."""

    exit_code = 1


class ConfigError(FacerecError):
    """A setting (environment, `.env`, option) has a bad value."""


class ImageError(FacerecError):
    """An image file is missing, unreadable, corrupt, or too large."""


class NoFaceError(FacerecError):
    """No face was found where one was needed."""


class MultipleFacesError(FacerecError):
    """Several faces were found where exactly one was needed."""


class InvalidNameError(FacerecError):
    """A person's name is empty, too long, or contains control characters."""


class PersonNotFoundError(FacerecError):
    """No registered person has that name."""


class PersonExistsError(FacerecError):
    """A person with that name is already registered."""


class DatabaseError(FacerecError):
    """The database cannot be reached or refused an operation."""


class DatabaseConflict(DatabaseError):
    """PostgreSQL aborted a transaction to resolve a deadlock or a serialization
    conflict with another session; nothing of it was written, and running it again is safe."""


class DatabaseCrashed(DatabaseError):
    """A server process died (killed by a signal) while facerec used it; the message says
    why, from the server's log. The interrupted transaction was not written."""


class ModelError(FacerecError):
    """A model file is missing or corrupt, or a model name is unknown."""


class CameraError(FacerecError):
    """A camera, video file or stream could not be opened or read."""


class VideoError(FacerecError):
    """A video file in the library is missing, unreadable, not a video, or cannot be decoded."""


class DisplayError(FacerecError):
    """No display is available for a window."""


class Cancelled(FacerecError):
    """The user cancelled an operation (Esc, said no); nothing was changed."""


class UsageError(FacerecError):
    """The command line asks for something impossible (a missing argument, options that
    exclude each other). Exit status 2, like argparse's own errors."""

    exit_code = 2


class InputPathError(FacerecError):
    """A file or folder given on the command line does not exist, or is not what the command reads."""


class OutputError(FacerecError):
    """A file facerec was asked to write (a contact sheet, a plot, an album) cannot be written."""


class MetadataError(FacerecError):
    """A photo's metadata cannot be read or written: malformed XMP in the photo or its
    sidecar, a sidecar or photo that cannot be written, an unreadable Takeout or Picasa
    file. The message names the file; nothing was changed."""


class ServerError(FacerecError):
    """The local web server cannot start (the port is in use, the address cannot be listened on)."""


class NothingToShowError(FacerecError):
    """There is nothing to put in the output that was asked for (an empty contact sheet)."""


class ConfirmationRequired(FacerecError):
    """A change needs a yes that no one can give here (no terminal, no `--yes`); nothing was changed."""


class RegistrationError(FacerecError):
    """Some photos of a registration cannot be used (no face, several faces, unreadable); nothing was stored."""


class NoSamplesError(FacerecError):
    """A registered person has no samples of the embedder in use (run `reembed`)."""


class FaceNotFoundError(FacerecError):
    """No stored face has that id, or a photo has no face with that number."""


class GroupNotFoundError(FacerecError):
    """No current group of unnamed faces has that number."""


class MergeError(FacerecError):
    """Two groups or people cannot be merged (the same one twice)."""


class DatasetError(FacerecError):
    """A labelled folder or an LFW pairs file is not in the layout `evaluate` reads."""


class NothingToUndoError(FacerecError):
    """The journal holds no change that can still be undone."""


class UndoError(FacerecError):
    """A change cannot be undone any more (the data it touched changed since); nothing was changed."""


class LooksLikeSomeoneElseError(FacerecError):
    """Faces about to be added to a person look like someone else, or unlike that person.

    `question` is what to ask a person who can answer ("store anyway?"); `--force`
    (`force=True`) stores anyway. `go_ahead`, when the change was planned before the
    guard spoke: applies that plan (a "yes" then decodes, detects and embeds nothing
    again; what can have changed meanwhile is checked where it is stored)."""

    def __init__(
        self, message: str, question: str = "store anyway?", go_ahead: Callable[[], object] | None = None
    ) -> None:
        super().__init__(message)
        self.question = question
        self.go_ahead = go_ahead


class SimilarNameError(FacerecError):
    """A new name differs from a registered one only by case, accents or spacing."""

    def __init__(self, message: str, existing: str) -> None:
        super().__init__(message)
        self.existing = existing
