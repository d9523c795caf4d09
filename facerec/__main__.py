"""`python -m facerec`: the same as the `facerec` command."""

import sys

from facerec.ui.cli import main

if __name__ == "__main__":
    sys.exit(main())
