"""The People benchmark (bench/people_bench.py) runs its real code on a small library.

Its own data directory and embedded PostgreSQL, stopped at the end. Speed is not
asserted: only that every command it times ran and did what it says.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.people_bench import bcubed, run_size
from bench.synthetic import real_embeddings
from tests.helpers import FaceSet


def test_bcubed_scores_a_perfect_a_merged_and_a_split_grouping():
    labels = {1: "a", 2: "a", 3: "b", 4: "b"}
    assert bcubed({1: 1, 2: 1, 3: 3, 4: 3}, labels) == (1.0, 1.0)
    assert bcubed({1: 1, 2: 1, 3: 1, 4: 1}, labels) == (0.5, 1.0)
    assert bcubed({}, labels) == (1.0, 0.5)  # every face alone


@pytest.mark.slow
def test_the_benchmark_times_every_command_on_the_same_faces(faces: FaceSet, pipeline, tmp_path: Path):
    real = real_embeddings(faces.root, pipeline)
    result = run_size(3_000, real, old=True, incremental=200, work=tmp_path, log=lambda m: None)
    assert set(result.runs) == {"new regroup", "incremental + list", "list", "old people"}
    for name, run in result.runs.items():
        assert run["returncode"] == 0, (name, run["stderr_tail"])
        assert run["seconds"] > 0 and run["peak_rss_mb"] > 50
    assert "people: regrouped 3000 faces" in result.runs["new regroup"]["stderr_tail"]
    assert "people: placed 200 faces" in result.runs["incremental + list"]["stderr_tail"]
    assert result.incremental_step_s is not None and result.listed_groups > 0
    for name in ("new", "old", "new, after the incremental step"):
        precision, recall = result.quality[name]["precision"], result.quality[name]["recall"]
        assert 0.8 < precision <= 1.0 and 0.8 < recall <= 1.0, (name, result.quality)
    assert np.isclose(result.groups["new"], result.groups["old"], rtol=0.1)
    assert not (tmp_path / "data-3000").exists()
