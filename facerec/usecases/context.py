"""`Context`: what every use case is given.

One small object, like httpie's environment: the settings, the database
(opened on first use, its queries bound to the embedder in use) and the face
models (loaded on first use, once per process), and the numbers the embedder
is calibrated with. The CLI, the menu and the web page each make one and pass
it to the use-case functions; they never reach past it into the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from facerec.config import Settings
from facerec.db import Database, Stores
from facerec.vision.embedders import EmbedderSpec, embedder_spec
from facerec.vision.pipeline import Pipeline, load_pipeline


@dataclass(frozen=True)
class Numbers:
    """The distances and gates in use: the embedder's own (`EmbedderSpec`), or the
    settings' where one is set (`FACEREC_THRESHOLD`, `FACEREC_PEOPLE_*`)."""

    threshold: float
    own_sample_bound: float
    group_distance: float
    question_band: float
    group_margin: float
    min_sharpness: float
    min_face_px: int

    @classmethod
    def of(cls, spec: EmbedderSpec, settings: Settings) -> Numbers:
        return cls(
            threshold=spec.threshold if settings.threshold is None else settings.threshold,
            own_sample_bound=spec.own_sample_bound,
            group_distance=spec.group_distance
            if settings.people_max_distance is None
            else settings.people_max_distance,
            question_band=spec.question_band,
            group_margin=spec.group_margin,
            min_sharpness=spec.min_sharpness
            if settings.people_min_sharpness is None
            else settings.people_min_sharpness,
            min_face_px=spec.min_face_px,
        )


class Context:
    """Settings, database and models for the use cases. Use as a context manager
    so the database is closed (and the embedded server stopped when no other
    facerec process uses it).

    `db` (a `Database`) and `pipeline` may be given (tests share one database
    across many contexts); a context closes only a database it opened itself.
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
        self.numbers = Numbers.of(self.spec, settings)
        self._database = db
        self._stores: Stores | None = None
        self._owns_db = db is None
        self._pipeline = pipeline
        self._on_message = on_message

    @property
    def database(self) -> Database:
        """The database, opened (and its schema brought up to date) on first use."""
        if self._database is None:
            self._database = Database.open(self.settings, on_message=self._on_message)
        return self._database

    @property
    def db(self) -> Stores:
        """The database's queries for the embedder in use (see `facerec.db.Stores`)."""
        if self._stores is None:
            self._stores = self.database.stores(self.spec.name, self.spec.dim)
        return self._stores

    @property
    def pipeline(self) -> Pipeline:
        """The detector and embedder the settings name, loaded on first use."""
        if self._pipeline is None:
            self._pipeline = load_pipeline(self.settings)
        return self._pipeline

    @property
    def threshold(self) -> float:
        """Cosine distance at or under which a face is taken to be a registered person."""
        return self.numbers.threshold

    def close(self) -> None:
        """Close the database if this context opened it."""
        if self._database is not None and self._owns_db:
            self._database.close()
            self._database = None
            self._stores = None

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
