"""The People view: the library's unnamed faces grouped into likely persons, naming,
merging, splitting and hiding groups, and suggestions."""
