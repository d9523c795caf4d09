"""Data files that ship with facerec: the SQL schema, the face models and the Haar cascade.

In an installed wheel they all sit inside the package (`pyproject.toml` maps
the top-level `sql/` and `haarcascade_frontalface_default.xml` into it at
build time); in a source checkout, `sql/` and the cascade stay at the top of
the project, where the tutorial keeps them. `resource` finds either.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent


def resource(in_package: str, in_checkout: str) -> Path:
    """The file or folder at `in_package` (relative to the package) if it is
    there, else at `in_checkout` (relative to the project's top folder)."""
    packaged = PACKAGE_DIR / in_package
    return packaged if packaged.exists() else CHECKOUT_DIR / in_checkout


def sql_dir() -> Path:
    """The folder of ordered schema files (`001_initial.sql`, ...)."""
    return resource("db/sql", "sql")


def models_dir() -> Path:
    """The folder of the shipped ONNX models and their licences."""
    return PACKAGE_DIR / "vision" / "models"


HAAR_CASCADE = "haarcascade_frontalface_default.xml"


def haar_cascade() -> Path:
    """The tutorial's Haar cascade."""
    return resource(f"vision/models/{HAAR_CASCADE}", HAAR_CASCADE)
