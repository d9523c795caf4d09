"""facerec: register, recognize and find people in photos and video, locally.

Faces are found by OpenCV (YuNet, or the tutorial's Haar cascade), turned
into embeddings (SFace), and stored and searched in PostgreSQL + pgvector.

The Python API (see `facerec.api` and the README):
`load_image_file`, `face_locations`, `face_encodings`, `face_distance`,
`compare_faces`, and `open_app` for the database-backed application. They are
imported on first use, so `import facerec` itself is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from facerec.version import __version__

__all__ = [
    "__version__",
    "App",
    "compare_faces",
    "face_distance",
    "face_encodings",
    "face_locations",
    "load_image_file",
    "open_app",
]

if TYPE_CHECKING:
    from facerec.api import (
        App,
        compare_faces,
        face_distance,
        face_encodings,
        face_locations,
        load_image_file,
        open_app,
    )


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        from facerec import api

        return getattr(api, name)
    raise AttributeError(f"module 'facerec' has no attribute {name!r}")
