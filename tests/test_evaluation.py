"""run_evaluation.py / render_comparison_gifs.py end to end on a tiny scratch checkpoint (CPU)."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import generate, train_tiny
from physics_llm.evaluation import expected_gif_frames, load_model_for_eval, write_report
from physics_llm.scene_format import read_scene
from physics_llm.tokenization import DEFAULT_FORMAT, LEGACY_FORMAT, get_format, load_format
from render_comparison_gifs import main as gifs_main
from run_evaluation import main as eval_main

CONTEXT, HORIZON = 10, 5
BASELINE_NAMES = {"copy_last", "constant_velocity", "constant_acceleration"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluation")
    train, val, ckpt = root / "train", root / "val", root / "ckpt"
    generate(train, types=["billiards", "pendulum"], n=3, frames=40)
    generate(val, types=["bowling", "pendulum"], n=2, frames=40, seed=11)
    assert train_tiny(train, ckpt) == 0
    return {"root": root, "val": val, "ckpt": ckpt / "stage0"}


@pytest.fixture(scope="module")
def evaluated(setup):
    out = setup["root"] / "results"
    rc = eval_main(["--model", "scratch", "--checkpoint", str(setup["ckpt"]), "--val-dir", str(setup["val"]),
                    "--output-dir", str(out), "--context-frames", str(CONTEXT), "--rollout-frames", str(HORIZON),
                    "--no-progress"])
    assert rc == 0
    return out


def test_run_evaluation_writes_every_output(setup, evaluated, capsys):
    out = evaluated
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["baselines"]) == BASELINE_NAMES
    assert m["model"]["overall"]["num_scenes"] == 4 and m["scenes"]["evaluated"] == 4
    assert m["settings"]["context_frames"] == CONTEXT and m["settings"]["rollout_frames"] == HORIZON
    # Seen / held-out from the checkpoint's own record, not from a hard-coded list.
    assert m["split"]["trained_types"] == json.loads((setup["ckpt"] / "training_types.json").read_text())["types"]
    assert m["split"]["types"] == {"bowling": "held_out", "pendulum": "seen"}
    for agg in [m["model"], *m["baselines"].values()]:
        assert agg["split"]["source"] == "trained_types"
        assert agg["seen_vs_held_out"]["held_out"]["scenario_types"] == ["bowling"]
        assert agg["seen_vs_held_out"]["seen"]["scenario_types"] == ["pendulum"]
        assert len(agg["overall"]["per_step"]["rmse"]) == HORIZON
    assert m["model_kind"] == "scratch" and m["settings"]["decode"] == "forced" and m["settings"]["constrained"]
    assert m["decoding"]["object_frames"] == HORIZON * sum(
        len(read_scene(f).header["objects"]) for f in sorted(setup["val"].glob("*/scene_*.jsonl")))
    for t in ("bowling", "pendulum"):
        for i in range(2):
            p = json.loads((out / "predictions" / f"{t}_scene_{i:08d}.json").read_text())
            assert np.asarray(p["model"]["pos"]).shape[:1] == (HORIZON,)
            assert set(p["baselines"]) == BASELINE_NAMES and "format_failures" in p["model"]
            text = (out / "predictions" / f"{t}_scene_{i:08d}.txt").read_text()
            assert text.startswith(f"t {CONTEXT - 1}\n") and text.count("t ") >= HORIZON
    cfg = json.loads((out / "eval_config.json").read_text())
    assert cfg["model"] == "scratch" and cfg["rollout_frames"] == HORIZON and cfg["checkpoint_stage"]
    plot = Image.open(out / "error_vs_horizon.png")
    assert plot.size[0] > 400 and plot.size[1] > 200
    report = (out / "report.md").read_text()
    assert "constant_velocity" in report and "Held-out types" in report and "Seen types" in report
    assert "bowling (held-out)" in report
    gifs = sorted(p.name for p in (out / "comparison_gifs").glob("*.gif"))
    assert gifs == ["bowling_cmp.gif", "pendulum_cmp.gif"]  # one per type by default


def test_comparison_gif_frame_count(setup, evaluated):
    gif = evaluated / "comparison_gifs" / "pendulum_cmp.gif"
    scene = read_scene(setup["val"] / "pendulum" / "scene_00000000.jsonl")
    n = expected_gif_frames(CONTEXT, HORIZON, float(scene.header["dt"]), 15.0)
    with Image.open(gif) as im:
        total, frames = 0, 0
        for i in range(im.n_frames):
            im.seek(i)
            total += im.info["duration"]
            frames += 1
        width = im.size[0]
    # Identical frames may be merged, and GIF stores durations in 1/100 s: compare summed durations.
    assert round(total / (1000 / 15)) == n and frames <= n
    assert width > scene.header["canvas"][0]  # two panels side by side (scale 0.5 each, plus a gap)


def test_render_comparison_gifs_script(setup, evaluated, tmp_path):
    # From saved predictions, no model.
    assert gifs_main(["--predictions-dir", str(evaluated / "predictions"), "--val-dir", str(setup["val"]),
                      "--output-dir", str(tmp_path / "saved"), "--num-scenes", "2"]) == 0
    names = sorted(p.name for p in (tmp_path / "saved").glob("*.gif"))
    assert names == ["bowling_cmp.gif", "bowling_scene_00000001_cmp.gif", "pendulum_cmp.gif",
                     "pendulum_scene_00000001_cmp.gif"]
    # With the seed's flags: the model kind is inferred from the checkpoint (a training output dir here).
    assert gifs_main(["--checkpoint", str(setup["ckpt"].parent), "--val-dir", str(setup["val"]), "--output-dir",
                      str(tmp_path / "ckpt"), "--scenario-types", "pendulum", "--num-scenes", "1",
                      "--rollout-frames", str(HORIZON)]) == 0
    assert sorted(p.name for p in (tmp_path / "ckpt").glob("*.gif")) == ["pendulum_cmp.gif"]
    same = json.loads((tmp_path / "ckpt" / "predictions" / "pendulum_scene_00000000.json").read_text())
    assert same == json.loads((evaluated / "predictions" / "pendulum_scene_00000000.json").read_text())
    assert gifs_main(["--predictions-dir", str(tmp_path / "nope"), "--val-dir", str(setup["val"]),
                      "--output-dir", str(tmp_path)]) == 2
    assert gifs_main(["--predictions-dir", str(evaluated / "predictions"), "--val-dir", str(setup["val"]),
                      "--output-dir", str(tmp_path), "--scenario-types", "nosuchtype"]) == 2


def test_constant_velocity_skill_is_zero(evaluated):
    m = json.loads((evaluated / "metrics.json").read_text())
    cv = m["baselines"]["constant_velocity"]
    groups = [cv["overall"], *cv["per_type"].values(), *cv["seen_vs_held_out"].values()]
    for g in groups:
        skill = g["skill_vs_cv"]["mean"]
        assert skill is None or abs(skill) < 1e-12  # None only where CV is exact (MSE 0)
    assert any(g["skill_vs_cv"]["mean"] is not None for g in groups)


def test_report_comes_from_metrics_only(evaluated, tmp_path):
    m = json.loads((evaluated / "metrics.json").read_text())
    write_report(m, tmp_path / "again.md")
    assert (tmp_path / "again.md").read_text() == (evaluated / "report.md").read_text()


def test_evaluation_is_deterministic(setup, evaluated, tmp_path):
    assert eval_main(["--checkpoint", str(setup["ckpt"]), "--val-dir", str(setup["val"]), "--output-dir",
                      str(tmp_path), "--context-frames", str(CONTEXT), "--rollout-frames", str(HORIZON),
                      "--max-scenes-per-type", "1", "--no-progress", "--no-render"]) == 0
    for suffix in (".json", ".txt"):
        name = f"pendulum_scene_00000000{suffix}"
        assert (tmp_path / "predictions" / name).read_text() == (evaluated / "predictions" / name).read_text()
    assert not (tmp_path / "comparison_gifs").exists()
    assert json.loads((tmp_path / "metrics.json").read_text())["scenes"]["evaluated"] == 2


def test_load_model_for_eval_scratch(setup):
    model, tok = load_model_for_eval(setup["ckpt"])
    assert not model.training and tok.eos_token_id is not None


def test_bad_arguments_exit_2(setup, tmp_path, capsys):
    base = ["--output-dir", str(tmp_path / "o")]
    empty = tmp_path / "empty"
    empty.mkdir()
    val = ["--val-dir", str(setup["val"])]
    ck = ["--checkpoint", str(setup["ckpt"])]
    cases = [
        (["--checkpoint", str(tmp_path / "missing"), *val], "--checkpoint"),
        ([*ck, "--val-dir", str(empty)], "--val-dir"),
        ([*ck, "--val-dir", str(tmp_path / "nodata")], "--val-dir"),
        (["--checkpoint", str(empty), *val], "--checkpoint"),
        ([*ck, *val, "--rollout-frames", "0"], "--rollout-frames"),
        ([*ck, *val, "--context-frames", "2"], "--context-frames"),
        ([*ck, *val, "--model", "finetune"], "--model finetune"),  # a scratch checkpoint is not an adapter
        ([*ck, *val, "--model", "nonsense"], "--model"),
        ([*val, "--model", "baseline", *ck], "--model baseline"),
        (val, "--checkpoint is required"),
        ([*ck, *val, "--decode", "sideways"], "--decode"),
        ([*ck, *val, "--batch-size", "0"], "--batch-size"),
        ([*ck, *val, "--text-format", "nope"], "--text-format: unknown text format 'nope'"),
    ]
    for argv, flag in cases:
        assert eval_main(argv + base) == 2, argv
        assert flag in capsys.readouterr().err
    # Scenes too short for context + horizon: none can be evaluated, a clear error (no traceback).
    assert eval_main([*ck, *val, "--rollout-frames", "60", *base]) == 2
    assert "frames" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        eval_main([*val, "--no-such-flag"])
    assert e.value.code == 2


def test_corrupt_scene_is_skipped_and_reported(setup, tmp_path):
    val = tmp_path / "val"
    shutil.copytree(setup["val"], val)
    (val / "pendulum" / "scene_00000001.jsonl").write_text('{"format": "physics-llm-scene/1"\n')
    out = tmp_path / "o"
    assert eval_main(["--checkpoint", str(setup["ckpt"]), "--val-dir", str(val), "--output-dir", str(out),
                      "--rollout-frames", "3", "--no-progress", "--no-render"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["scenes"]["evaluated"] == 3
    assert [s["scene"] for s in m["scenes"]["skipped"]] == ["pendulum/scene_00000001.jsonl"]
    assert "1 skipped" in (out / "report.md").read_text()


def test_mismatched_tokenizer_is_refused(setup, tmp_path, capsys):
    from physics_llm.finetune import build_tiny_lfm2, scene_texts

    ckpt = tmp_path / "ckpt"
    shutil.copytree(setup["ckpt"], ckpt, ignore=shutil.ignore_patterns("checkpoint-*"))
    other = build_tiny_lfm2(tmp_path / "lfm2", scene_texts(setup["val"]))  # a BPE tokenizer, far more tokens
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(other / name, ckpt / name)
    assert eval_main(["--checkpoint", str(ckpt), "--val-dir", str(setup["val"]), "--output-dir",
                      str(tmp_path / "o"), "--no-progress"]) == 2
    assert "tokenizer" in capsys.readouterr().err


def test_format_record_and_mismatch(setup, evaluated, tmp_path, capsys):
    """metrics.json names the checkpoint's format; asking for another is one line and exit 2, before any output;
    a checkpoint without a record is read as the legacy displacement format, with a warning."""
    m = json.loads((evaluated / "metrics.json").read_text())
    assert m["text_format"] == get_format(DEFAULT_FORMAT).spec()
    out = tmp_path / "o"
    assert eval_main(["--checkpoint", str(setup["ckpt"]), "--val-dir", str(setup["val"]), "--output-dir", str(out),
                      "--text-format", "displacement", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--text-format displacement:pos_scale=10 does not match the checkpoint's" in err[0]
    assert not out.exists()
    legacy = tmp_path / "legacy"
    shutil.copytree(setup["ckpt"], legacy, ignore=shutil.ignore_patterns("checkpoint-*", "text_format.json"))
    assert load_format(legacy) == get_format(LEGACY_FORMAT)


def test_baseline_only_evaluation(setup, tmp_path):
    out = tmp_path / "b"
    assert eval_main(["--model", "baseline", "--val-dir", str(setup["val"]), "--output-dir", str(out),
                      "--context-frames", str(CONTEXT), "--rollout-frames", str(HORIZON), "--no-progress"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["model"] is None and m["checkpoint"] is None and set(m["baselines"]) == BASELINE_NAMES
    assert m["split"]["source"] == "HELD_OUT_TYPES" and m["split"]["types"] == {"bowling": "held_out",
                                                                              "pendulum": "seen"}
    assert sorted(p.name for p in (out / "predictions").iterdir()) == [
        f"{t}_scene_{i:08d}.json" for t in ("bowling", "pendulum") for i in range(2)]
    assert not (out / "comparison_gifs").exists()
    assert "Baselines only" in (out / "report.md").read_text()


def test_eval_config_file(setup, tmp_path):
    cfg = tmp_path / "eval.yaml"
    cfg.write_text(f"model: scratch\ncheckpoint: {setup['ckpt']}\nval_dir: {setup['val']}\nrollout_frames: 2\n"
                   f"max_scenes_per_type: 1\nrender: false\nprogress: false\noutput_dir: {tmp_path / 'from_yaml'}\n")
    assert eval_main(["--config", str(cfg), "--rollout-frames", "3"]) == 0  # the flag overrides the file
    resolved = json.loads((tmp_path / "from_yaml" / "eval_config.json").read_text())
    assert resolved["rollout_frames"] == 3 and resolved["max_scenes_per_type"] == 1 and resolved["render"] is False


def test_lora_checkpoint_end_to_end(setup, tmp_path):
    """The same pipeline on a tiny LFM2 + LoRA adapter (loaded through load_finetuned)."""
    from physics_llm.finetune import build_tiny_lfm2, scene_texts
    from train_finetune import main as finetune_main

    train = setup["root"] / "train"
    base = build_tiny_lfm2(tmp_path / "lfm2", scene_texts(train))
    run = tmp_path / "lora"
    assert finetune_main(["--data-dir", str(train), "--output-dir", str(run), "--base-model", str(base),
                          "--max-seq-length", "1024", "--batch-size", "2", "--grad-accum", "1", "--seed", "3",
                          "--max-steps", "2", "--logging-steps", "1", "--save-steps", "1000"]) == 0
    stage = run / "stage0"
    assert (stage / "adapter_config.json").exists()
    out = tmp_path / "results"
    assert eval_main(["--model", "finetune", "--checkpoint", str(stage), "--val-dir", str(setup["val"]),
                      "--output-dir", str(out), "--context-frames", "10", "--rollout-frames", "3",
                      "--max-scenes-per-type", "1", "--no-progress"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["model_kind"] == "finetune" and m["decoding"]["format_failures"] == 0  # grammar-constrained
    assert sorted(p.name for p in (out / "comparison_gifs").glob("*.gif")) == ["bowling_cmp.gif", "pendulum_cmp.gif"]
    assert m["scenes"]["evaluated"] == 2 and m["split"]["types"] == {"bowling": "held_out", "pendulum": "seen"}
    assert (out / "report.md").exists() and (out / "error_vs_horizon.png").exists()
