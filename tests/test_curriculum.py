"""Curriculum stages, held-out filtering and the record of trained types."""

import json
import logging

import pytest

from conftest import generate
from physics_llm.curriculum import (SceneRecord, drop_held_out, load_training_types, record_training_types,
                                    scan_headers, select_stage, stage_max_difficulty)


@pytest.mark.parametrize("num_stages,ceilings", [(5, [1, 2, 3, 4, 5]), (3, [2, 4, 5]), (2, [3, 5]), (1, [5])])
def test_stage_ceilings_are_cumulative_and_end_at_five(num_stages, ceilings):
    assert [stage_max_difficulty(k, num_stages) for k in range(num_stages)] == ceilings


@pytest.mark.parametrize("stage,n", [(0, 0), (0, 6), (5, 5), (-1, 5)])
def test_bad_stage_arguments(stage, n):
    with pytest.raises(ValueError):
        stage_max_difficulty(stage, n)


@pytest.fixture(scope="module")
def mixed_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    generate(root, types=["billiards", "bowling", "pendulum"], n=10, frames=3)
    return root


def test_scan_reads_headers(mixed_dataset):
    records = scan_headers(mixed_dataset)
    assert len(records) == 30
    assert {r.difficulty for r in records} == {1, 2, 3, 4, 5}
    assert all(json.loads(open(r.path).readline())["scenario_type"] == r.scenario_type for r in records)


def test_stage_selection_by_difficulty(mixed_dataset):
    records = scan_headers(mixed_dataset)
    for k in range(5):
        chosen = select_stage(records, k, 5)
        assert chosen and max(r.difficulty for r in chosen) == k + 1
        assert len(chosen) == sum(r.difficulty <= k + 1 for r in records)
    sub = select_stage(records, 4, 5, max_examples=7, seed=3)
    assert len(sub) == 7 and sub == select_stage(records, 4, 5, max_examples=7, seed=3)
    assert sub != select_stage(records, 4, 5, max_examples=7, seed=4)


def test_held_out_types_skipped_with_one_warning(mixed_dataset, caplog):
    records = scan_headers(mixed_dataset)
    with caplog.at_level(logging.WARNING):
        kept = drop_held_out(records)
    assert {r.scenario_type for r in kept} == {"billiards", "pendulum"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "bowling" in warnings[0] and "--include-held-out" in warnings[0]
    assert drop_held_out(records, include_held_out=True) == records


def test_training_types_recorded_with_checkpoint(tmp_path):
    records = [SceneRecord("a", "pendulum", 1), SceneRecord("b", "billiards", 2), SceneRecord("c", "pendulum", 3)]
    path = record_training_types(tmp_path / "stage0", records)
    assert json.loads(path.read_text())["scenes_per_type"] == {"billiards": 1, "pendulum": 2}
    assert load_training_types(tmp_path / "stage0") == ["billiards", "pendulum"]
    with pytest.raises(FileNotFoundError, match="trained on"):
        load_training_types(tmp_path / "missing")
