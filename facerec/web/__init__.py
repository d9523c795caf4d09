"""The browser edge: `facerec web` serves a local page (People, a person,
Search by photo, Library) that calls the same use cases as the CLI and the
menu, and never the database itself (tests/test_architecture.py)."""

DEFAULT_HOST = "127.0.0.1"
"""Where `facerec web` listens unless `--host` says otherwise: this machine only."""
DEFAULT_PORT = 8765
