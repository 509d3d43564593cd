"""Every YAML in configs/ loads into its script's options (the filename prefix names the script), and
every script takes --config."""

import argparse
import importlib
from pathlib import Path

import pytest

from physics_llm.config import ConfigError, resolve_config
from physics_llm.generation import GenerationConfig
from quickstart import QuickstartConfig
from run_evaluation import EvalConfig
from train_finetune import FinetuneConfig
from train_scratch import ScratchConfig

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
SCRIPTS = {"data": GenerationConfig, "scratch": ScratchConfig, "finetune": FinetuneConfig, "eval": EvalConfig,
           "quickstart": QuickstartConfig}


def test_every_config_has_a_script():
    assert CONFIGS
    assert all(p.stem.split("_")[0] in SCRIPTS for p in CONFIGS), [p.name for p in CONFIGS]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_resolves(path):
    cls = SCRIPTS[path.stem.split("_")[0]]
    cfg = resolve_config(cls, argparse.Namespace(config=str(path)))
    if cls is GenerationConfig:
        cfg.check()
        assert cfg.frames_per_scene == 200
    elif cls is FinetuneConfig:
        assert isinstance(cfg.lr, float) and cfg.base_model == "LiquidAI/LFM2-350M"
    elif cls is EvalConfig:
        assert (cfg.context_frames, cfg.rollout_frames, cfg.max_scenes_per_type) == (10, 20, 100)
    elif cls is QuickstartConfig:
        cfg.check()
        assert isinstance(cfg.lr, float) and cfg.output_dir == path.stem
    else:
        assert isinstance(cfg.lr, float) and cfg.model_size == path.stem.split("_", 1)[1]


def test_yaml_scientific_notation_and_type_errors(tmp_path):
    good = tmp_path / "a.yaml"
    good.write_text("data_dir: d\noutput_dir: o\nlr: 3e-3\nmax_steps: '12'\n")
    cfg = resolve_config(ScratchConfig, argparse.Namespace(config=str(good)))
    assert cfg.lr == 0.003 and cfg.max_steps == 12
    bad = tmp_path / "b.yaml"
    bad.write_text("data_dir: d\noutput_dir: o\nlr: fast\n")
    with pytest.raises(ConfigError, match="lr must be float"):
        resolve_config(ScratchConfig, argparse.Namespace(config=str(bad)))


def test_every_script_takes_config():
    scripts = sorted((ROOT / "scripts").glob("*.py"))
    assert len(scripts) >= 12
    for path in scripts:
        parser = importlib.import_module(path.stem).build_parser()
        assert "--config" in parser._option_string_actions, f"{path.name} has no --config"


def test_config_file_for_plain_argparse_scripts(tmp_path, small_dataset, capsys):
    """validate_dataset.py (plain argparse): the file fills required flags, flags override, bad keys fail."""
    main = importlib.import_module("validate_dataset").main
    cfg = tmp_path / "v.yaml"
    cfg.write_text(f"data-dir: {small_dataset}\nnum_workers: '1'\nquiet: true\njson: {tmp_path / 'a.json'}\n")
    assert main(["--config", str(cfg)]) == 0 and (tmp_path / "a.json").exists()
    assert main(["--config", str(cfg), "--json", str(tmp_path / "b.json")]) == 0 and (tmp_path / "b.json").exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("data_dir: x\nnum_wrokers: 2\n")
    with pytest.raises(SystemExit) as e:
        main(["--config", str(bad)])
    assert e.value.code == 2 and "num_wrokers" in capsys.readouterr().err
    typo = tmp_path / "typo.yaml"
    typo.write_text(f"data_dir: {small_dataset}\nnum_workers: many\n")
    with pytest.raises(SystemExit) as e:
        main(["--config", str(typo)])
    assert e.value.code == 2 and "many" in capsys.readouterr().err
