"""The curriculum's training schedule: one warmup + cosine and one AdamW state over all stages, one global step
count, a resumed run equal to an uninterrupted one, warnings for repeated stages, and the validation loss."""

import json
import logging
import shutil

import pytest

from conftest import generate
from train_scratch import main as train_main

STAGES = 3
ARGS = ["--max-steps", "12", "--curriculum-stages", str(STAGES), "--batch-size", "2", "--max-seq-length", "512",
        "--logging-steps", "1", "--warmup-steps", "2", "--save-steps", "100", "--seed", "3", "--model-size", "tiny"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("schedule")
    generate(root / "train", types=["billiards", "pendulum"], n=2, frames=30, difficulty_range=(1, 3))  # d1, d2
    generate(root / "val", types=["billiards", "pendulum", "bowling"], n=1, frames=30, seed=5)
    return root


def log_rows(out):
    return [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]


def train_rows(out):
    return [r for r in log_rows(out) if "loss" in r]


@pytest.fixture(scope="module")
def continuous(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("continuous") / "run"
    assert train_main(["--data-dir", str(data / "train"), "--output-dir", str(out), "--val-dir", str(data / "val"),
                       "--eval-steps", "4", *ARGS]) == 0
    return out


def test_one_schedule_and_one_step_count_over_all_stages(continuous):
    rows = train_rows(continuous)
    assert [r["step"] for r in rows] == list(range(1, 13))  # global, not restarting per stage
    assert [r["stage"] for r in rows] == [f"stage{k}" for k in range(STAGES) for _ in range(4)]
    assert [r["stage_step"] for r in rows] == [1, 2, 3, 4] * STAGES
    lrs = [r["learning_rate"] for r in rows]
    peak = lrs.index(max(lrs))
    assert peak < 3 and all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1:]))  # one decay, no restart
    assert lrs[-1] < 0.05 * max(lrs)
    done = [json.loads((continuous / f"stage{k}" / "stage_complete.json").read_text()) for k in range(STAGES)]
    assert {d["schedule"] for d in done} == {"continuous"}
    assert json.loads((continuous / "stage1" / "train_config.json").read_text())["first_global_step"] == 4


def test_validation_loss_is_logged_on_seen_types(continuous):
    evals = [r for r in log_rows(continuous) if "eval_loss" in r]
    assert [r["step"] for r in evals] == [4, 8, 12]
    assert all(r["eval_loss"] > 0 for r in evals)
    done = json.loads((continuous / "stage2" / "stage_complete.json").read_text())
    assert done["final_eval_loss"] == evals[-1]["eval_loss"]


def test_resume_after_a_finished_stage_continues_the_schedule_and_optimizer(data, continuous, tmp_path, caplog):
    """A new process that resumes after stage 0 gives the very same losses as the uninterrupted run: the
    learning rate continues from global step 4 and AdamW's moments come from stage 0's last checkpoint."""
    out = tmp_path / "run"
    shutil.copytree(continuous / "stage0", out / "stage0")
    for name in ("tokenizer", "text_format.json"):
        src = continuous / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, out / name)
    with caplog.at_level(logging.INFO):
        assert train_main(["--data-dir", str(data / "train"), "--output-dir", str(out), "--val-dir",
                           str(data / "val"), "--eval-steps", "4", "--resume", *ARGS]) == 0
    assert "AdamW state continues from stage0" in caplog.text
    want = {r["step"]: (r["loss"], r["learning_rate"]) for r in train_rows(continuous) if r["step"] > 4}
    got = {r["step"]: (r["loss"], r["learning_rate"]) for r in train_rows(out)}
    assert got.keys() == want.keys()
    for step in want:
        assert got[step][1] == pytest.approx(want[step][1], rel=1e-9)
        assert got[step][0] == pytest.approx(want[step][0], rel=1e-5), step


def test_per_stage_schedule_restarts_and_repeated_stages_warn(data, tmp_path, caplog):
    out = tmp_path / "run"
    with caplog.at_level(logging.WARNING):
        assert train_main(["--data-dir", str(data / "train"), "--output-dir", str(out), "--schedule", "per_stage",
                           *ARGS]) == 0
    # difficulty 1..2 data (2 scenes per type): stages 1 (<= 4) and 2 (<= 5) select stage 0's scenes again
    assert "stage1 selects the same 4 scenes as stage0" in caplog.text
    assert "stage2 selects the same 4 scenes as stage1" in caplog.text
    lrs = [r["learning_rate"] for r in train_rows(out)]
    for k in range(STAGES):  # every stage warms up to the peak again
        assert max(lrs[4 * k:4 * k + 4]) == pytest.approx(max(lrs)), lrs


def test_bad_schedule_flags_exit_2(data, tmp_path, capsys):
    base = ["--data-dir", str(data / "train"), "--output-dir", str(tmp_path / "o")]
    assert train_main([*base, "--schedule", "sideways"]) == 2
    assert "--schedule" in capsys.readouterr().err
    assert train_main([*base, "--val-dir", str(tmp_path / "missing")]) == 2
    assert "--val-dir" in capsys.readouterr().err
