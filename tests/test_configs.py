"""Every YAML in configs/ loads into its script's options (the filename prefix names the script)."""

import argparse
from pathlib import Path

import pytest

from physics_llm.config import ConfigError, resolve_config
from physics_llm.generation import GenerationConfig
from train_finetune import FinetuneConfig
from train_scratch import ScratchConfig

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
SCRIPTS = {"data": GenerationConfig, "scratch": ScratchConfig, "finetune": FinetuneConfig}


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
