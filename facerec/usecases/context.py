"""`Context`: what every use case is given.

One small object, like httpie's environment: the settings, the database
(opened on first use) and the face models (loaded on first use, once per
process). The CLI, the menu and the web page each make one and pass it to
the use-case functions; they never reach past it into the database.
"""

from __future__ import annotations

from collections.abc import Callable

from facerec.config import Settings
from facerec.db import Database
from facerec.vision.embedders import EmbedderSpec, embedder_spec
from facerec.vision.pipeline import Pipeline, load_pipeline


class Context:
    """Settings, database and models for the use cases. Use as a context manager
    so the database is closed (and the embedded server stopped when no other
    facerec process uses it).

    `db` and `pipeline` may be given (tests share one database across many
    contexts); a context closes only a database it opened itself.
    `on_message` hears what opening the database has to say (the first run's
    set-up); the terminal passes its stderr.
    """

    def __init__(
        self,
        settings: Settings,
        db: Database | None = None,
        pipeline: Pipeline | None = None,
        on_message: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.spec: EmbedderSpec = embedder_spec(settings.embedder)
        self._db = db
        self._owns_db = db is None
        self._pipeline = pipeline
        self._on_message = on_message

    @property
    def db(self) -> Database:
        """The database, opened (and its schema brought up to date) on first use."""
        if self._db is None:
            self._db = Database.open(self.settings, on_message=self._on_message)
        return self._db

    @property
    def pipeline(self) -> Pipeline:
        """The detector and embedder the settings name, loaded on first use."""
        if self._pipeline is None:
            self._pipeline = load_pipeline(self.settings)
        return self._pipeline

    @property
    def threshold(self) -> float:
        """Cosine distance at or under which a face is taken to be a registered person."""
        t = self.settings.threshold
        return self.spec.threshold if t is None else t

    def close(self) -> None:
        """Close the database if this context opened it."""
        if self._db is not None and self._owns_db:
            self._db.close()
            self._db = None

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
