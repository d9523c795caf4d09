"""facerec's version (read by the build backend from here, shown by `facerec --version`)."""

__version__ = "0.2.0"
