"""Shared fixtures: small generated datasets in temporary directories (no network, CPU only)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from physics_llm.generation import GenerationConfig, run_generation

SMALL_TYPES = ["billiards", "pendulum", "tower"]


def generate(out: Path, types=SMALL_TYPES, n: int = 3, workers: int = 1, frames: int = 40, seed: int = 7, **kw):
    cfg = GenerationConfig(output_dir=str(out), num_scenes_per_type=n, scenario_types=list(types),
                           num_workers=workers, seed=seed, frames_per_scene=frames, **kw)
    return run_generation(cfg, progress=False)


def train_tiny(train: Path, out: Path, max_seq_length: int = 1024, steps: int = 5) -> int:
    """``train_scratch.py`` on ``train`` for a few steps: a tiny checkpoint for evaluation tests."""
    from train_scratch import main

    return main(["--data-dir", str(train), "--output-dir", str(out), "--model-size", "tiny", "--batch-size", "2",
                 "--max-seq-length", str(max_seq_length), "--max-steps", str(steps), "--logging-steps", "5",
                 "--save-steps", "1000", "--seed", "3"])


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    """A pristine dataset; tests that modify files must copy it first (see ``dataset_copy``)."""
    out = tmp_path_factory.mktemp("small_dataset")
    generate(out)
    return out


@pytest.fixture
def dataset_copy(small_dataset, tmp_path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(small_dataset, dst)
    return dst


def pytest_configure(config):
    """One intra-op thread for torch: on these 2-vCPU machines two OpenMP threads sharing a core with
    another process spin-wait (a tiny model's step went from 0.04 s to 1.5 s)."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)
