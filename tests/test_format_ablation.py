"""benchmarks/format_ablation.py end to end at toy scale: one training and one evaluation per format, JSON out."""

import importlib.util
import json
from pathlib import Path

from conftest import generate

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "format_ablation.py"


def test_format_ablation_reports_every_format(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("format_ablation", BENCHMARK)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    generate(tmp_path / "train", types=["billiards", "pendulum"], n=1, frames=40)
    generate(tmp_path / "val", types=["pendulum", "bowling"], n=1, frames=40, seed=5)
    argv = ["--work-dir", str(tmp_path / "work"), "--data-dir", str(tmp_path / "train"), "--val-dir",
            str(tmp_path / "val"), "--val-scenes-per-type", "1", "--steps", "2", "--curriculum-stages", "1",
            "--batch-size", "2", "--max-seq-length", "1024", "--formats", "displacement", "velocity_change"]
    report = bench.main(argv)
    assert json.loads(capsys.readouterr().out) == report
    assert list(report["formats"]) == ["displacement:pos_scale=10", "velocity_change:pos_scale=100,shown_pos_scale=10"]
    for r in report["formats"].values():
        assert r["scenes_evaluated"] == 2 and r["format_failures"] == 0
        assert 0 < r["tokens_per_object_frame"] < 40 and 0 <= r["fit_8192"] <= 1
        assert set(r["rollout"]) == {"seen", "held_out"}
        for split in r["rollout"].values():
            assert set(split) == {"model", "copy_last", "constant_velocity", "constant_acceleration"}
        assert r["train_seconds"] > 0 and r["eval_seconds"] > 0
    # a re-run resumes: nothing is trained or evaluated again, and the first run's wall times are kept
    again = bench.main(argv)
    capsys.readouterr()
    for name, r in again["formats"].items():
        assert r["train_seconds"] == report["formats"][name]["train_seconds"]
        assert r["rollout"] == report["formats"][name]["rollout"]
