"""train_scratch.py end to end on CPU: loss falls, checkpoints load, resume matches, bad input is clear."""

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, TrainerCallback

import physics_llm.models  # noqa: F401  (registers the scratch GPT with the Auto classes)
from conftest import generate
from physics_llm.tokenization import DEFAULT_FORMAT, build_physics_tokenizer, get_format, load_format
from physics_llm.training import TrainConfig, WindowCollator, run_curriculum, wandb_report_to
from train_scratch import main as train_main

ROOT = Path(__file__).resolve().parents[1]
COMMON = ["--model-size", "tiny", "--batch-size", "4", "--max-seq-length", "512", "--logging-steps", "5",
          "--seed", "3"]


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory):
    """Seen types plus a held-out one (bowling), 40 frames per scene."""
    root = tmp_path_factory.mktemp("train_data")
    generate(root, types=["billiards", "pendulum", "bowling"], n=4, frames=40)
    return root


def losses(out: Path) -> list[float]:
    rows = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


def test_train_scratch_learns_and_writes_loadable_checkpoint(train_dir, tmp_path, caplog, capsys):
    out = tmp_path / "run"
    with caplog.at_level(logging.WARNING):
        assert train_main(["--data-dir", str(train_dir), "--output-dir", str(out), "--lr", "3e-3",
                           "--max-steps", "60", *COMMON]) == 0
    assert "bowling" in caplog.text and "--include-held-out" in caplog.text
    curve = losses(out)
    assert len(curve) == 12 and curve[-1] < 0.6 * curve[0], curve  # the masked loss falls clearly
    stage = out / "stage0"
    assert (stage / "model.safetensors").exists() and (stage / "checkpoint-60").is_dir()
    assert json.loads((stage / "training_types.json").read_text())["types"] == ["billiards", "pendulum"]
    assert json.loads((stage / "train_config.json").read_text())["model_size"] == "tiny"
    assert load_format(stage) == load_format(out) == get_format(DEFAULT_FORMAT)  # the checkpoint says its format
    # the same output directory refuses another format (its windows, tokenizer record and stages would mix)
    capsys.readouterr()
    assert train_main(["--data-dir", str(train_dir), "--output-dir", str(out), "--resume",
                       "--text-format", "displacement", *COMMON]) == 2
    err = capsys.readouterr().err
    assert "--text-format displacement" in err and "velocity_change" in err
    model = AutoModelForCausalLM.from_pretrained(stage)
    tok = build_physics_tokenizer()
    ids = torch.tensor([tok("t 0\n0 5051 3212 0|", add_special_tokens=False)["input_ids"]])
    assert torch.isfinite(model(ids).logits).all()


def test_tiny_model_overfits_a_handful_of_windows(tmp_path):
    data, out = tmp_path / "data", tmp_path / "overfit"
    generate(data, types=["pendulum"], n=1, frames=40)  # one difficulty-1 scene: 4 windows of 1024 tokens
    assert train_main(["--data-dir", str(data), "--output-dir", str(out), "--lr", "1e-2", "--max-steps", "100",
                       "--max-seq-length", "1024", "--model-size", "tiny", "--batch-size", "4",
                       "--logging-steps", "10", "--seed", "3", "--save-steps", "1000"]) == 0
    assert json.loads((out / "stage0" / "train_config.json").read_text())["rows"] == 4
    curve = losses(out)
    assert curve[-1] < 0.3 * curve[0], curve  # measured (velocity_change): 3.29 -> 0.35


class _StopAfter(TrainerCallback):
    """Simulates a crash right after a checkpoint was written."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_save = True

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


def _cfg(data, out, **kw):
    return TrainConfig(data_dir=str(data), output_dir=str(out), batch_size=4, lr=3e-3, max_steps=12,
                       max_seq_length=512, logging_steps=2, save_steps=100, seed=5, **kw)


def _tiny_model(tok):
    from physics_llm.models import GPTForCausalLM, gpt_config_for_size

    torch.manual_seed(5)
    return GPTForCausalLM(gpt_config_for_size("tiny", vocab_size=len(tok), block_size=512,
                                              pad_token_id=tok.pad_token_id))


def test_resume_reproduces_uninterrupted_run(train_dir, tmp_path):
    tok = build_physics_tokenizer()
    full = _tiny_model(tok)
    run_curriculum(_cfg(train_dir, tmp_path / "full"), full, tok)
    with pytest.raises(KeyboardInterrupt):
        run_curriculum(_cfg(train_dir, tmp_path / "cut"), _tiny_model(tok), tok, callbacks=[_StopAfter(6)])
    assert (tmp_path / "cut" / "stage0" / "checkpoint-6").is_dir()
    resumed = _tiny_model(tok)
    run_curriculum(_cfg(train_dir, tmp_path / "cut", resume=True), resumed, tok)
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-5), name
    assert losses(tmp_path / "full")[-1] == pytest.approx(losses(tmp_path / "cut")[-1], rel=1e-4)


def test_bad_inputs_fail_with_clear_messages(tmp_path, capsys, train_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert train_main(["--data-dir", str(empty), "--output-dir", str(tmp_path / "o")]) == 2
    assert "--data-dir" in capsys.readouterr().err
    assert train_main(["--data-dir", str(train_dir), "--output-dir", str(tmp_path / "o"),
                       "--model-size", "huge"]) == 2
    assert "--model-size" in capsys.readouterr().err
    assert train_main(["--data-dir", str(tmp_path / "missing"), "--output-dir", str(tmp_path / "o")]) == 2
    assert train_main(["--data-dir", str(train_dir), "--output-dir", str(tmp_path / "o"), "--lr", "0"]) == 2
    assert "--lr" in capsys.readouterr().err


def test_corrupt_scene_files_are_skipped(train_dir, tmp_path, caplog):
    data = tmp_path / "data"
    shutil.copytree(train_dir, data)
    (data / "pendulum" / "scene_00000000.jsonl").write_text("{not json\n")
    frames = (data / "billiards" / "scene_00000001.jsonl").read_text().splitlines()
    (data / "billiards" / "scene_00000001.jsonl").write_text("\n".join(frames[:5] + ["{broken"]) + "\n")
    with caplog.at_level(logging.WARNING):
        assert train_main(["--data-dir", str(data), "--output-dir", str(tmp_path / "o"), "--max-steps", "2",
                           *COMMON]) == 0
    assert "unreadable header" in caplog.text and "scene_00000001.jsonl" in caplog.text


def test_collator_pads_right_and_masks_padding():
    batch = WindowCollator(pad_id=0)([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]},
                                      {"input_ids": [8], "labels": [8]}])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_wandb_falls_back_without_blocking(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "wandb", None)  # not installed
    with caplog.at_level(logging.WARNING):
        assert wandb_report_to("proj") == []
    assert "not installed" in caplog.text
    monkeypatch.setitem(sys.modules, "wandb", type(sys)("wandb"))  # installed, but no key
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("HOME", "/nonexistent")
    assert wandb_report_to("proj") == ["wandb"]
    assert os.environ["WANDB_MODE"] == "offline"
    assert wandb_report_to(None) == []


def test_two_process_ddp_over_gloo(train_dir, tmp_path):
    """accelerate launch --multi_gpu --num_processes 2 on CPU runs DDP (gloo); ranks end identical."""
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           str(ROOT / "scripts" / "train_scratch.py"), "--data-dir", str(train_dir), "--output-dir", str(out),
           "--max-steps", "4", "--save-steps", "1000", *COMMON]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "all 2 ranks hold identical parameters" in proc.stderr + proc.stdout
    assert (out / "stage0" / "model.safetensors").exists()
