"""The database layer against the real embedded PostgreSQL + pgvector."""

from __future__ import annotations

import dataclasses
import os
import stat

import numpy as np
import pytest

from facerec.config import Settings
from facerec.db import Database
from facerec.db.connection import describe_url
from facerec.errors import DatabaseError
from facerec.resources import sql_dir
from facerec.usecases.library.index import index_folders
from facerec.usecases.library.recognize import analyze_photo
from facerec.usecases.people.register import register_photos
from tests.helpers import count


def test_migrations_are_recorded_and_a_second_run_changes_nothing(db: Database):
    versions = sorted(p.stem for p in sql_dir().glob("[0-9][0-9][0-9]_*.sql"))
    assert db.applied_migrations() == versions
    tables_before = count(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    assert db.migrate() == []
    assert db.applied_migrations() == versions
    assert count(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == tables_before


def test_nearest_sample_search_uses_the_hnsw_index(ctx, faces):
    """The plan is decided here, not by autovacuum's timing: ANALYZE fixes the
    statistics, and with sequential scans and sorts disabled the only plans left
    for `ORDER BY distance LIMIT k` are index scans that return rows in distance
    order: the HNSW indexes. The library's unnamed faces make the people-only
    partial index strictly smaller than the all-faces one, so it is the cheapest."""
    register_photos(ctx, "obama", [faces.people()["barack_obama"][0]])
    index_folders(ctx, workers=1, folders=[faces.root / "groups"])
    assert count(ctx.database, "SELECT count(*) FROM faces WHERE person_id IS NULL") > 10
    vectors = [np.ones(128, np.float32) / np.sqrt(128), np.eye(128, dtype=np.float32)[0]]
    with ctx.database.transaction() as cur:
        cur.execute("ANALYZE faces")
        cur.execute("SET enable_seqscan = off")
        cur.execute("SET enable_sort = off")
    try:
        plan = ctx.db.people.explain_nearest(vectors)
    finally:
        with ctx.database.transaction() as cur:
            cur.execute("RESET enable_seqscan")
            cur.execute("RESET enable_sort")
    assert "Index Scan using faces_sface_people_hnsw" in plan, plan
    assert "Seq Scan on faces" not in plan


def test_vectors_of_another_model_are_never_compared(db: Database, ctx, faces):
    register_photos(ctx, "obama", [faces.people()["barack_obama"][0]])
    query = analyze_photo(ctx, faces.people()["barack_obama"][1]).faces[0].embedding
    assert db.stores("sface", 128).people.nearest([query])[0][0].name == "obama"
    assert db.stores("other-model", 128).people.nearest([query]) == [[]]


def test_the_embedded_server_listens_on_a_unix_socket_only(db: Database, settings: Settings):
    with db.transaction() as cur:
        cur.execute("SHOW listen_addresses")
        assert cur.fetchone()[0] == ""
        cur.execute("SELECT inet_server_addr()")
        assert cur.fetchone()[0] is None  # connected through the Unix socket
    pgdata = settings.pgdata
    assert stat.S_IMODE(pgdata.stat().st_mode) == 0o700


def test_the_data_directory_is_private(db: Database, settings: Settings):
    mode = stat.S_IMODE(settings.data_dir.stat().st_mode)
    # 0700; 0711 when running as root, so the database user can pass through (no read).
    assert mode in ((0o711,) if os.geteuid() == 0 else (0o700,)), oct(mode)


def test_an_unreachable_database_url_fails_fast_with_one_clear_line(settings: Settings):
    url = "postgresql://alice:s3cret-pw@127.0.0.1:1/facerec"
    with pytest.raises(DatabaseError) as err:
        Database.open(dataclasses.replace(settings, database_url=url))
    message = str(err.value)
    assert "cannot connect to alice@127.0.0.1:1/facerec" in message
    assert "s3cret-pw" not in message
    assert "\n" not in message


def test_describe_url_never_shows_the_password():
    assert describe_url("postgres://u:pw@h.example:5432/db?sslmode=require") == "u@h.example:5432/db"
