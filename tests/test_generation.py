"""Determinism, resumability, sharding and argument errors of dataset generation."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import generate

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "generate_scenarios_dataset.py"


def read_tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("scene_*.jsonl"))}


def test_same_bytes_for_any_worker_count(tmp_path, small_dataset):
    generate(tmp_path / "w2", workers=2)
    one, two = read_tree(small_dataset), read_tree(tmp_path / "w2")
    assert one.keys() == two.keys() and len(one) == 9
    assert one == two


def test_same_bytes_across_processes(tmp_path, small_dataset):
    """A separate interpreter (fresh hash seed) produces the same files as this process did."""
    out = tmp_path / "cli"
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    subprocess.run([sys.executable, str(SCRIPT), "--output-dir", str(out), "--num-scenes-per-type", "3",
                    "--scenario-types", "billiards", "pendulum", "tower", "--seed", "7", "--frames-per-scene", "40",
                    "--quiet"], check=True, env=env, capture_output=True)
    assert read_tree(out) == read_tree(small_dataset)


def test_different_seed_gives_different_scenes(tmp_path, small_dataset):
    generate(tmp_path / "other", seed=8)
    assert read_tree(tmp_path / "other") != read_tree(small_dataset)


def test_rerun_skips_complete_and_repairs_partial(dataset_copy, small_dataset):
    a = dataset_copy / "billiards" / "scene_00000000.jsonl"
    b = dataset_copy / "tower" / "scene_00000001.jsonl"
    c = dataset_copy / "pendulum" / "scene_00000002.jsonl"
    untouched = dataset_copy / "pendulum" / "scene_00000000.jsonl"
    a.write_bytes(a.read_bytes()[:500])  # truncated
    b.unlink()  # missing
    c.write_text(c.read_text().replace('"t":3,', '"t":3 ,'))  # still parses: same length, must be skipped
    stale = dataset_copy / "tower" / ".scene_00000002.jsonl.999.tmp"
    stale.write_text("partial")
    mtime = untouched.stat().st_mtime_ns
    summary = generate(dataset_copy)
    assert summary.scenes_written == 2 and summary.scenes_skipped == 7
    assert not stale.exists()
    assert untouched.stat().st_mtime_ns == mtime
    fixed = read_tree(dataset_copy)
    pristine = read_tree(small_dataset)
    assert fixed["billiards/scene_00000000.jsonl"] == pristine["billiards/scene_00000000.jsonl"]
    assert fixed["tower/scene_00000001.jsonl"] == pristine["tower/scene_00000001.jsonl"]


def test_rerun_with_other_settings_regenerates(dataset_copy):
    summary = generate(dataset_copy, frames=41)
    assert summary.scenes_written == 9
    header = json.loads((dataset_copy / "tower" / "scene_00000000.jsonl").read_text().split("\n")[0])
    assert header["num_frames"] == 41


def test_shards_partition_the_dataset(tmp_path, small_dataset):
    for i in range(3):
        generate(tmp_path / "sharded", num_shards=3, shard_index=i)
    assert read_tree(tmp_path / "sharded") == read_tree(small_dataset)
    assert len(list((tmp_path / "sharded").glob("generation_config.shard*.json"))) == 3


def test_config_is_saved_next_to_the_data(small_dataset):
    cfg = json.loads((small_dataset / "generation_config.json").read_text())
    assert cfg["seed"] == 7 and cfg["scenario_types"] == ["billiards", "pendulum", "tower"]
    assert cfg["engine"].startswith("pymunk")


@pytest.mark.parametrize("args,flag", [
    (["--scenario-types", "billiards", "nope"], "--scenario-types"),
    (["--num-scenes-per-type", "-1"], "--num-scenes-per-type"),
    (["--difficulty-range", "4", "2"], "--difficulty-range"),
    (["--difficulty-range", "0", "3"], "--difficulty-range"),
    (["--num-workers", "0"], "--num-workers"),
    (["--frames-per-scene", "1"], "--frames-per-scene"),
    (["--num-shards", "2", "--shard-index", "2"], "--shard-index"),
])
def test_bad_arguments_exit_nonzero_naming_the_flag(tmp_path, capsys, args, flag):
    from generate_scenarios_dataset import main

    assert main(["--output-dir", str(tmp_path / "x"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert flag in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_missing_output_dir_names_the_flag(capsys):
    from generate_scenarios_dataset import main

    assert main([]) == 2
    assert "--output-dir" in capsys.readouterr().err


def test_yaml_config_with_cli_override(tmp_path):
    from generate_scenarios_dataset import main

    cfg = tmp_path / "gen.yaml"
    cfg.write_text("num-scenes-per-type: 2\nscenario_types: [pendulum]\nframes_per_scene: 12\nseed: 3\n")
    assert main(["--config", str(cfg), "--output-dir", str(tmp_path / "o"), "--frames-per-scene", "15",
                 "--quiet"]) == 0
    files = sorted((tmp_path / "o" / "pendulum").glob("scene_*.jsonl"))
    assert len(files) == 2
    assert len(files[0].read_text().splitlines()) == 16
    bad = tmp_path / "bad.yaml"
    bad.write_text("num_scenes: 2\n")
    assert main(["--config", str(bad), "--output-dir", str(tmp_path / "p")]) == 2
