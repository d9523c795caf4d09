"""Domain exceptions. Library code raises these; the CLI and menu turn them
into one line on stderr and an exit status. Their messages are written for
the user: say what went wrong and, where possible, what to do."""

from __future__ import annotations


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


class ModelError(FacerecError):
    """A model file is missing or corrupt, or a model name is unknown."""


class CameraError(FacerecError):
    """A camera, video file or stream could not be opened or read."""


class DisplayError(FacerecError):
    """No display is available for a window."""


class Cancelled(FacerecError):
    """The user cancelled an operation (Esc, said no); nothing was changed."""
