"""The scale benchmark (bench/scale.py) runs its real code at 1,000 faces.

It gets its own data directory and embedded PostgreSQL, stopped at the end,
so it never touches the session database. Speed is not asserted here: only
that the benchmark measures what it says it measures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict

import numpy as np
import pytest

from bench import loading
from bench.scale import Config, SizeResult, bench_settings, format_size, run_size
from bench.search import INDEX, Search, explain, run_queries, uses_index
from bench.synthetic import FaceSynthesizer, distance_stats, real_embeddings
from facerec.db import Database
from facerec.db.server import EmbeddedServer
from facerec.vision.pipeline import Pipeline
from tests.helpers import FaceSet, count

SIZE = 1_000
CONFIG = Config(ef_search=(40, 200), queries=40, filtered_queries=20, warmup=10, one_by_one=100, sample=200)


@pytest.fixture(scope="module")
def real(faces: FaceSet, pipeline: Pipeline) -> np.ndarray:
    return real_embeddings(faces.root, pipeline)


@pytest.fixture(scope="module")
def bench_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    data_dir = tmp_path_factory.mktemp("bench-scale")
    db = Database.open(bench_settings(data_dir))
    yield db
    db.close()
    EmbeddedServer(data_dir).stop()


@pytest.fixture(scope="module")
def result(bench_store: Database, real: np.ndarray) -> SizeResult:
    return run_size(bench_store.conn.conn, SIZE, real, CONFIG, log=lambda message: None)


@pytest.fixture(scope="module")
def queries(real: np.ndarray) -> np.ndarray:
    synth = FaceSynthesizer(real, seed=99)
    return synth.samples(synth.identities(10))


def test_synthetic_faces_are_unit_vectors_spread_like_real_faces(real: np.ndarray):
    assert real.shape[1] == 128 and len(real) >= 50
    faces = FaceSynthesizer(real, seed=1).faces(3_000)
    assert faces.vectors.shape == (3_000, 128) and faces.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(faces.vectors, axis=1), 1.0, atol=1e-5)
    stats = distance_stats(faces)
    # Dev set: same person 0.27 on average, different people 0.88 on average.
    assert 0.15 < stats["same_identity_mean"] < 0.4
    assert stats["different_identity_mean"] > 0.8


def test_every_face_the_benchmark_reports_was_inserted(bench_store: Database, result: SizeResult):
    assert sum(row["rows"] for row in result.insert) == SIZE
    assert {row["method"] for row in result.insert} == {
        "COPY binary",
        "COPY text",
        "execute_values",
        "one-by-one INSERT",
    }
    assert result.insert_with_index["rows"] == CONFIG.one_by_one
    assert count(bench_store, "SELECT count(*) FROM faces WHERE model = 'sface'") == SIZE + CONFIG.one_by_one
    assert count(bench_store, "SELECT count(*) FROM pictures") == result.pictures == SIZE // 2
    assert (
        count(
            bench_store, "SELECT count(*) FROM faces f LEFT JOIN pictures p ON p.id = f.picture_id WHERE p.id IS NULL"
        )
        == 0
    )


def test_the_hnsw_index_is_rebuilt_as_the_schema_defines_it(bench_store: Database, result: SizeResult):
    assert result.build["index_bytes"] > 0
    with bench_store.transaction() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", (INDEX,))
        (indexdef,) = cur.fetchone()
    assert "USING hnsw (((embedding)::vector(128)) vector_cosine_ops) WHERE (model = 'sface'::text)" in indexdef


def test_recall_at_5_through_the_index_is_high_at_a_high_ef_search(result: SizeResult):
    by_ef = {row["ef_search"]: row for row in result.index}
    assert by_ef[200]["recall"] >= 0.95
    assert by_ef[200]["rows_mean"] == 5
    assert result.headline["ef_search"] in by_ef


def test_exact_search_returns_the_five_nearest_faces_sorted_by_distance(
    bench_store: Database, result: SizeResult, queries: np.ndarray
):
    with bench_store.transaction() as cur:
        cur.execute("SELECT id, embedding FROM faces WHERE model = 'sface' ORDER BY id")
        rows = cur.fetchall()
    ids = np.array([r[0] for r in rows])
    vectors = np.array([r[1].to_numpy() for r in rows], np.float64)
    run = run_queries(bench_store.conn.conn, queries, Search(exact=True))
    for query, found, distances in zip(queries, run.ids, run.distances):
        assert len(found) == 5
        assert distances == sorted(distances)
        brute = 1.0 - vectors @ query.astype(np.float64)
        assert set(found) == set(ids[np.argsort(brute)[:5]].tolist())
        assert np.allclose(distances, np.sort(brute)[:5], atol=1e-5)


def test_the_index_query_scans_the_hnsw_index_and_the_exact_query_reads_the_table(
    bench_store: Database, result: SizeResult, queries: np.ndarray
):
    plan = explain(bench_store.conn.conn, queries[0], Search(ef_search=40, force_index=True))
    assert f"Index Scan using {INDEX}" in plan and uses_index(plan)
    assert "Index Scan using faces_sface_hnsw" in result.plans["index"]
    assert not uses_index(explain(bench_store.conn.conn, queries[0], Search(exact=True)))
    assert "Seq Scan on faces" in result.plans["exact"]


def test_iterative_scan_finds_five_faces_in_a_selective_folder(
    bench_store: Database, result: SizeResult, queries: np.ndarray
):
    with bench_store.transaction() as cur:  # the folder (about 1% of the pictures) with the most faces
        cur.execute(
            "SELECT substring(p.picture from '^/bench/photos/f[0-9]+/') AS folder, count(*) FROM faces f"
            " JOIN pictures p ON p.id = f.picture_id GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
        )
        folder, faces_in_folder = cur.fetchone()
    assert 5 <= faces_in_folder <= SIZE // 20
    prefixes = [folder] * len(queries)
    forced = Search(ef_search=40, force_index=True)
    assert uses_index(explain(bench_store.conn.conn, queries[0], forced, folder))
    without = run_queries(bench_store.conn.conn, queries, forced, prefixes)
    relaxed = run_queries(
        bench_store.conn.conn, queries, Search(ef_search=40, iterative="relaxed_order", force_index=True), prefixes
    )
    strict = run_queries(
        bench_store.conn.conn, queries, Search(ef_search=40, iterative="strict_order", force_index=True), prefixes
    )
    assert without.rows.mean() < 5  # only the folder's faces among the first 40 candidates
    assert (relaxed.rows == 5).all() and (strict.rows == 5).all()
    assert all(d == sorted(d) for d in strict.distances)
    assert any(r["search"] == "HNSW forced" and r["iterative_scan"] == "relaxed_order" for r in result.filtered)


def test_the_results_print_as_a_table_and_serialise_to_json(result: SizeResult):
    table = format_size(result)
    assert "COPY binary" in table and "ef_search 200" in table and "subfolder (0.1%)" in table
    again = json.loads(json.dumps(asdict(result)))
    assert again["size"] == SIZE and again["build"]["maintenance_work_mem"]


def test_binary_copy_stores_exactly_the_values_given(bench_store: Database, real: np.ndarray):
    rng = np.random.default_rng(3)
    rows = loading.face_rows(FaceSynthesizer(real, seed=3).samples(real[:3]), rng)
    loading.copy_binary(bench_store.conn.conn, rows, model="roundtrip")
    try:
        with bench_store.transaction() as cur:
            cur.execute(
                "SELECT picture_id, box, landmarks, score, embedding FROM faces WHERE model = 'roundtrip' ORDER BY id"
            )
            stored = cur.fetchall()
        assert len(stored) == 3
        for i, (picture_id, box, landmarks, score, embedding) in enumerate(stored):
            assert picture_id == rows.picture_id[i]
            assert box == rows.box[i].tolist()
            assert np.array_equal(np.asarray(landmarks, np.float32), rows.landmarks[i])
            assert np.float32(score) == rows.score[i]
            assert np.array_equal(embedding.to_numpy(), rows.embedding[i])
    finally:
        with bench_store.transaction() as cur:
            cur.execute("DELETE FROM faces WHERE model = 'roundtrip'")
