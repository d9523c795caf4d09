"""The database layer: the only code that speaks SQL or imports psycopg2.

- `server`: the embedded PostgreSQL + pgvector (used when `DATABASE_URL` is unset);
- `connection`: connecting, transactions, retry after a deadlock or a restart;
- `migrate`: the schema files in `sql/`;
- `vectors`: the one batched nearest-neighbour query;
- `people`, `library`, `groups`: the stores; `database.Database` holds them together.
"""

from facerec.db.database import Database

__all__ = ["Database"]
