"""Train a GPT from scratch (muP) on scene text with the PhysicsTokenizer.

Example (CPU, a few minutes):
    python scripts/train_scratch.py --data-dir data_scenarios/train --output-dir checkpoints/gpt-scratch \
        --model-size tiny --batch-size 8 --grad-accum 1 --lr 3e-3 --max-steps 300

Multi-GPU (or two CPU processes over gloo):
    accelerate launch --multi_gpu --num_processes 2 scripts/train_scratch.py --data-dir ... --output-dir ...

Writes <output-dir>/stage<k>/ (Trainer checkpoints checkpoint-N/, final weights as safetensors,
tokenizer, train_config.json, training_types.json), <output-dir>/train_log.jsonl (loss curve) and
<output-dir>/train.log. Held-out scenario types in --data-dir are skipped (with a warning) unless
--include-held-out. --resume continues an interrupted run: finished stages are kept, the current
stage restarts from its last checkpoint.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from transformers import AutoTokenizer, set_seed

from physics_llm.config import ConfigError, config_parser, resolve_config, usage_error
from physics_llm.models import DEFAULT_MAX_SEQ_LENGTH, MODEL_SIZES, GPTForCausalLM, gpt_config_for_size
from physics_llm.tokenization import build_physics_tokenizer
from physics_llm.training import TRAIN_HELP, TrainConfig, last_complete_stage, run_curriculum, setup_file_logging

log = logging.getLogger("train_scratch")

HELP = {
    **TRAIN_HELP,
    "output_dir": "checkpoints, logs and the tokenizer go here",
    "model_size": f"one of {', '.join(MODEL_SIZES)}",
    "lr": "peak learning rate (muP: for the base width; hidden matrices get lr / width multiplier)",
    "max_seq_length": "tokens per window (header + whole frames); default 2048 for tiny/small, 8192 otherwise",
}


@dataclass
class ScratchConfig(TrainConfig):
    model_size: str = "tiny"
    lr: float = 3e-3
    warmup_steps: int = 20  # muP base lr 3e-3 spikes without a short warmup (measured on tiny)
    max_seq_length: int | None = None  # None: DEFAULT_MAX_SEQ_LENGTH of the size (2048 on CPU sizes)


def build_parser() -> argparse.ArgumentParser:
    return config_parser(ScratchConfig, __doc__, HELP)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    args = build_parser().parse_args(argv)
    try:
        cfg = resolve_config(ScratchConfig, args)
        if cfg.model_size not in MODEL_SIZES:
            raise ConfigError(f"--model-size must be one of {', '.join(MODEL_SIZES)}, got {cfg.model_size!r}")
        if cfg.max_seq_length is None:
            cfg.max_seq_length = DEFAULT_MAX_SEQ_LENGTH[cfg.model_size]
        cfg.check()
    except (ConfigError, ValueError, TypeError) as e:
        return usage_error(e)
    out = Path(cfg.output_dir)
    setup_file_logging(out)
    set_seed(cfg.seed)
    tokenizer_dir = out / "tokenizer"
    if cfg.resume and tokenizer_dir.is_dir():
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    else:
        tokenizer = build_physics_tokenizer(model_max_length=cfg.max_seq_length)
        tokenizer.save_pretrained(tokenizer_dir)
    previous = last_complete_stage(out) if cfg.resume else None
    if previous is not None:
        log.info("resume: starting from the weights of %s", previous)
        model = GPTForCausalLM.from_pretrained(previous)
    else:
        model = GPTForCausalLM(gpt_config_for_size(
            cfg.model_size, vocab_size=len(tokenizer), block_size=cfg.max_seq_length,
            pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id))
    log.info("model %s: %.2fM parameters", cfg.model_size, sum(p.numel() for p in model.parameters()) / 1e6)
    try:
        run_curriculum(cfg, model, tokenizer)
    except ValueError as e:
        return usage_error(e)
    log.info("checkpoints in %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
