"""Pure rules, under the use cases: who a face is (`naming`) and which unnamed
faces are one person (`clustering`). Numbers in, decisions out: no database, no
files, no terminal, so every use case (and the live loop) applies the same rule."""
