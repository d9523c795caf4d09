"""The database layer: the only code that speaks SQL or imports psycopg2.

- `server`: the embedded PostgreSQL + pgvector (used when `DATABASE_URL` is unset);
- `connection`: connecting, transactions, retry after a deadlock or a restart;
- `migrate`: the schema files in `sql/`; `health`: what `doctor` asks of the database;
- `vectors`: the one batched nearest-neighbour query; `rows`: column values to dataclasses;
- the stores, one per table family, bound to one embedder (`database.Stores`):
  `people` (people and samples), `library` (pictures and faces, search),
  `groups` (the People view), `said` (same/different, not this person, hidden),
  `stats` (the counts), `journal` (changes to who is who, undo).
"""

from facerec.db.database import Database, Stores

__all__ = ["Database", "Stores"]
