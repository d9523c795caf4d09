#!/usr/bin/env python3
"""facerec: local face recognition with PostgreSQL + pgvector.

Run `python face_recognition.py` for the menu, or `--help` for the commands.
"""

import sys

from facerec.ui.cli import main

if __name__ == "__main__":
    sys.exit(main())
