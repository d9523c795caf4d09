#!/usr/bin/env python3
"""facerec: local face recognition with PostgreSQL + pgvector.

Run `python face_recognition.py` for the menu, or `--help` for the commands.
"""

import sys

INSTALL = "python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt"
"""The README's install command."""

if __name__ == "__main__":
    try:  # the third-party packages facerec needs, before any of facerec is imported
        import cv2  # noqa: F401
        import dotenv  # noqa: F401
        import numpy  # noqa: F401
        import PIL  # noqa: F401
        import psycopg2  # noqa: F401
    except ImportError as exc:
        missing = getattr(exc, "name", None) or "a required package"
        print(
            f"facerec: {missing} is not installed (not in this Python's packages: is the virtual environment "
            f"active?); install with: {INSTALL}",
            file=sys.stderr,
        )
        sys.exit(1)

    from facerec.ui.cli import main

    sys.exit(main())
