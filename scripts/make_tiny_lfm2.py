"""Save a tiny random LFM2 and a BPE tokenizer trained on scene text: a local stand-in for
LiquidAI/LFM2-350M (same architecture and module names, no download) for CPU tests of fine-tuning.

Example (seconds):
    python scripts/make_tiny_lfm2.py --output-dir checkpoints/tiny-lfm2
    python scripts/train_finetune.py --base-model checkpoints/tiny-lfm2 --data-dir data_scenarios/train ...

Without --data-dir a few scenes are generated in a temporary directory for the tokenizer.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from dataclasses import dataclass

from physics_llm.config import ConfigError, config_parser, require, resolve_config, usage_error
from physics_llm.finetune import build_tiny_lfm2, scene_texts
from physics_llm.generation import GenerationConfig, run_generation
from physics_llm.tokenization.formats import DEFAULT_FORMAT, check_format_flag

log = logging.getLogger("make_tiny_lfm2")

HELP = {
    "output_dir": "the model and tokenizer go here (pass it as --base-model to train_finetune.py)",
    "data_dir": "scenes whose text trains the tokenizer (default: generate a few)",
    "max_scenes": "at most this many scenes of --data-dir train the tokenizer",
    "vocab_size": "BPE vocabulary size, special tokens included",
    "hidden_size": "model width",
    "num_layers": "layers, alternating conv and full attention",
    "text_format": "text format of the scene text the tokenizer learns (train with the same one)",
}


@dataclass
class TinyLfm2Config:
    output_dir: str
    data_dir: str | None = None
    max_scenes: int = 50
    vocab_size: int = 512
    hidden_size: int = 64
    num_layers: int = 4
    text_format: str = DEFAULT_FORMAT
    seed: int = 0


def build_parser() -> argparse.ArgumentParser:
    return config_parser(TinyLfm2Config, __doc__, HELP)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    try:
        cfg = resolve_config(TinyLfm2Config, build_parser().parse_args(argv))
        require(cfg.vocab_size >= 300, f"--vocab-size must be >= 300 (256 bytes + specials), got {cfg.vocab_size}")
        require(cfg.num_layers >= 1, f"--num-layers must be >= 1, got {cfg.num_layers}")
        require(cfg.hidden_size >= 8 and cfg.hidden_size % 4 == 0,
                f"--hidden-size must be a multiple of 4 (4 heads), got {cfg.hidden_size}")
        check_format_flag(cfg.text_format)
    except (ConfigError, ValueError, TypeError) as e:
        return usage_error(e)
    layer_types = tuple("conv" if i % 2 == 0 else "full_attention" for i in range(cfg.num_layers))
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = cfg.data_dir
        if data_dir is None:
            run_generation(GenerationConfig(output_dir=tmp, num_scenes_per_type=2, frames_per_scene=40,
                                            scenario_types=["billiards", "pendulum", "tower"], seed=cfg.seed),
                           progress=False)
            data_dir = tmp
        texts = scene_texts(data_dir, cfg.max_scenes, cfg.text_format)
        if not texts:
            return usage_error(f"--data-dir {data_dir}: no scenes (expected <type>/scene_*.jsonl)")
        build_tiny_lfm2(cfg.output_dir, texts, vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size,
                        layer_types=layer_types, seed=cfg.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
