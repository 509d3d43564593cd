"""train_finetune.py end to end on a tiny random LFM2 (CPU, no download): adapters per stage, loss falls,
adapters load and merge exactly, optional backends and bad targets fail clearly."""

import json
import sys

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from conftest import generate
from physics_llm.finetune import build_tiny_lfm2, load_finetuned, scene_texts
from physics_llm.scene_format import read_scene
from physics_llm.tokenization import DEFAULT_FORMAT, PromptBuilder, get_format, scene_windows
from train_finetune import main as finetune_main

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Seen types plus a held-out one (bowling)."""
    root = tmp_path_factory.mktemp("ft_data")
    generate(root, types=["billiards", "pendulum", "bowling"], n=3, frames=40)
    return root


@pytest.fixture(scope="module")
def tiny_lfm2(data_dir, tmp_path_factory):
    return build_tiny_lfm2(tmp_path_factory.mktemp("tiny_lfm2"), scene_texts(data_dir))


def common(data_dir, out, base):
    return ["--data-dir", str(data_dir), "--output-dir", str(out), "--base-model", str(base),
            "--max-seq-length", "1024", "--batch-size", "2", "--grad-accum", "1", "--seed", "3"]


@pytest.fixture(scope="module")
def run_dir(data_dir, tiny_lfm2, tmp_path_factory):
    out = tmp_path_factory.mktemp("ft_run")
    assert finetune_main([*common(data_dir, out, tiny_lfm2), "--curriculum-stages", "2", "--max-steps", "20",
                          "--lr", "1e-2", "--warmup-steps", "0", "--logging-steps", "5", "--save-steps", "10"]) == 0
    return out


def test_finetune_writes_adapters_per_stage_and_loss_falls(run_dir, tiny_lfm2):
    for stage in ("stage0", "stage1"):
        for where in (run_dir / stage, run_dir / stage / "checkpoint-10"):
            assert all((where / f).exists() for f in ADAPTER_FILES), where
        assert not (run_dir / stage / "model.safetensors").exists()  # adapters only, not the base weights
        assert json.loads((run_dir / stage / "train_config.json").read_text())["base_model"] == str(tiny_lfm2)
        assert json.loads((run_dir / stage / "training_types.json").read_text())["types"] == ["billiards", "pendulum"]
    log = (run_dir / "train.log").read_text()
    assert "bowling" in log and "--include-held-out" in log
    rows = [json.loads(x) for x in (run_dir / "train_log.jsonl").read_text().splitlines()]
    curve = [r["loss"] for r in rows if "loss" in r]
    # logged batches are 2 windows and stage 1 adds harder scenes: a loose bound here (measured 6.08 -> 5.92),
    # the clear one on fixed windows below
    assert len(curve) == 4 and curve[-1] < curve[0], curve


def test_adapter_loads_changes_logits_and_merges_exactly(run_dir, tiny_lfm2):
    tok = AutoTokenizer.from_pretrained(run_dir / "stage1")
    ids = torch.tensor([tok("t 0\n0 5051 3212 0|12 -3 0\n", add_special_tokens=False)["input_ids"]])
    base = AutoModelForCausalLM.from_pretrained(tiny_lfm2).eval()
    tuned, _ = load_finetuned(run_dir / "stage1")
    merged, _ = load_finetuned(run_dir / "stage1", merge=True)
    with torch.no_grad():
        base_logits, tuned_logits, merged_logits = (m(ids).logits for m in (base, tuned, merged))
    assert torch.isfinite(tuned_logits).all()
    assert (tuned_logits - base_logits).abs().max() > 1e-2
    assert torch.allclose(merged_logits, tuned_logits, atol=1e-4)
    assert not any("lora" in name for name, _ in merged.named_parameters())


def test_masked_loss_on_training_windows_falls(run_dir, data_dir, tiny_lfm2):
    base = AutoModelForCausalLM.from_pretrained(tiny_lfm2).eval()
    tuned, tok = load_finetuned(run_dir / "stage1")
    drops = []
    for path in sorted([*data_dir.glob("billiards/scene_*.jsonl"), *data_dir.glob("pendulum/scene_*.jsonl")]):
        w = scene_windows(path, tok, 1024, get_format(DEFAULT_FORMAT))[0]
        ids, labels = torch.tensor([w["input_ids"]]), torch.tensor([w["labels"]])
        with torch.no_grad():
            drops.append(base(ids, labels=labels).loss.item() - tuned(ids, labels=labels).loss.item())
    assert len(drops) == 6 and min(drops) > 0.2 and sum(drops) / len(drops) > 0.4, drops  # measured 0.4..1.0


def test_resume_of_finished_run_merges(run_dir, data_dir, tiny_lfm2):
    assert finetune_main([*common(data_dir, run_dir, tiny_lfm2), "--curriculum-stages", "2", "--max-steps", "20",
                          "--resume", "--merge"]) == 0
    merged = AutoModelForCausalLM.from_pretrained(run_dir / "merged")
    tuned, tok = load_finetuned(run_dir / "stage1")
    ids = torch.tensor([tok("t 3\n1 200 300 5 12 -7 0|", add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, tuned(ids).logits, atol=1e-4)


def test_unsloth_backend_without_unsloth_gives_install_hint(data_dir, tiny_lfm2, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "unsloth", None)  # import fails as if not installed
    assert finetune_main([*common(data_dir, tmp_path / "o", tiny_lfm2), "--backend", "unsloth"]) == 2
    err = capsys.readouterr().err
    assert "--backend unsloth" in err and "pip install -r requirements-gpu.txt" in err


def test_bad_arguments_fail_with_clear_messages(data_dir, tiny_lfm2, tmp_path, capsys):
    args = common(data_dir, tmp_path / "o", tiny_lfm2)
    assert finetune_main([*args, "--lora-target-modules", "q_proj,qkv_proj"]) == 2
    err = capsys.readouterr().err
    assert "--lora-target-modules qkv_proj" in err and "w1" in err  # names the typo and what exists
    assert finetune_main([*args, "--lora-r", "0"]) == 2
    assert "--lora-r" in capsys.readouterr().err
    assert finetune_main([*args, "--backend", "jax"]) == 2
    assert "--backend" in capsys.readouterr().err
    assert finetune_main([*args, "--base-model", str(tmp_path / "missing")]) == 2


def test_training_ids_equal_rollout_ids_for_the_bpe_tokenizer(data_dir, tiny_lfm2):
    tok = AutoTokenizer.from_pretrained(tiny_lfm2)
    fmt = get_format(DEFAULT_FORMAT)
    for path in sorted(data_dir.rglob("scene_*.jsonl"))[::3]:
        q = fmt.quantize(read_scene(path))
        window = scene_windows(path, tok, 1024, fmt)[0]
        builder = PromptBuilder(tok, q.header, fmt)
        for t in range(fmt.first_frame, fmt.first_frame + window["num_frames"]):
            for forced, predicted in fmt.frame_segments(q, t):
                builder.add_forced(forced)
                if predicted:
                    builder.add_generated(tok(predicted, add_special_tokens=False)["input_ids"])
        assert builder.ids + [tok.eos_token_id] == window["input_ids"]


def test_pack_is_refused_for_lfm2(tmp_path, capsys):
    from train_finetune import main as finetune_main

    assert finetune_main(["--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "o"), "--pack"]) == 2
    assert "--pack" in capsys.readouterr().err
