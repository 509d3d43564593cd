"""LoRA fine-tuning of a pretrained LM (LFM2-350M by default) on scene text, curriculum stage by stage.

Example (GPU; unsloth when installed, else transformers + peft):
    python scripts/train_finetune.py --config configs/finetune_lfm2.yaml

Example (CPU, a tiny random LFM2 built locally, seconds):
    python scripts/make_tiny_lfm2.py --output-dir checkpoints/tiny-lfm2
    python scripts/train_finetune.py --data-dir data_scenarios/train --output-dir checkpoints/tiny-lora \
        --base-model checkpoints/tiny-lfm2 --max-steps 20 --max-seq-length 1024 --batch-size 2 --lr 1e-3

--base-model takes a Hugging Face model id or a local directory. Writes <output-dir>/stage<k>/ (the LoRA
adapter adapter_model.safetensors + adapter_config.json, Trainer checkpoints checkpoint-N/, tokenizer,
train_config.json with the base model, training_types.json), <output-dir>/train_log.jsonl and
<output-dir>/train.log. Each stage continues from the previous stage's adapter. --merge also saves the
last stage merged into the base weights as <output-dir>/merged/ (with --resume on a finished run: merge
only). Held-out scenario types are skipped unless --include-held-out.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from transformers import set_seed

from physics_llm.config import ConfigError, config_parser, require, resolve_config, usage_error
from physics_llm.finetune import (BACKENDS, DEFAULT_BASE_MODEL, DEFAULT_TARGET_MODULES, choose_backend,
                                  load_lora_model, parse_target_modules, save_merged)
from physics_llm.training import TRAIN_HELP, TrainConfig, last_complete_stage, run_curriculum, setup_file_logging

log = logging.getLogger("train_finetune")

HELP = {
    **TRAIN_HELP,
    "output_dir": "adapters, checkpoints and logs go here",
    "base_model": "Hugging Face model id or local directory of the base model",
    "backend": f"one of {', '.join(BACKENDS)}; auto: unsloth if CUDA and unsloth are available, else hf",
    "lora_r": "LoRA rank",
    "lora_alpha": "LoRA alpha (scale alpha / r)",
    "lora_dropout": "dropout on the LoRA input",
    "lora_target_modules": "linear layers that get adapters, separated by spaces or commas",
    "merge": "also save the last stage merged into the base model as <output-dir>/merged/",
}


@dataclass
class FinetuneConfig(TrainConfig):
    base_model: str = DEFAULT_BASE_MODEL
    backend: str = "auto"
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: str = " ".join(DEFAULT_TARGET_MODULES)
    merge: bool = False
    curriculum_stages: int = 5
    batch_size: int = 4
    grad_accum: int = 4
    lr: float = 2e-4
    warmup_steps: int = 100
    gradient_checkpointing: bool = True


def build_parser() -> argparse.ArgumentParser:
    return config_parser(FinetuneConfig, __doc__, HELP)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    args = build_parser().parse_args(argv)
    try:
        cfg = resolve_config(FinetuneConfig, args)
        cfg.check()
        targets = parse_target_modules(cfg.lora_target_modules)
        for flag, value in (("--lora-r", cfg.lora_r), ("--lora-alpha", cfg.lora_alpha)):
            require(value >= 1, f"{flag} must be >= 1, got {value}")
        require(0 <= cfg.lora_dropout < 1, f"--lora-dropout must be in [0, 1), got {cfg.lora_dropout}")
        # LFM2's short convolutions and its attention ignore restarting position ids: packed windows
        # would read each other. Only the scratch GPT keeps packed windows apart.
        require(not cfg.pack, "--pack is not supported for LFM2 (packed windows would attend to each other)")
        backend = choose_backend(cfg.backend)
    except (ConfigError, ValueError, TypeError, RuntimeError) as e:
        return usage_error(e)
    if Path(cfg.base_model).is_dir():  # adapter_config.json records this path: make it work from any cwd
        cfg.base_model = str(Path(cfg.base_model).resolve())
    out = Path(cfg.output_dir)
    setup_file_logging(out)
    set_seed(cfg.seed)
    previous = last_complete_stage(out) if cfg.resume else None
    if previous is not None:
        log.info("resume: continuing from the adapter in %s", previous)
    try:
        model, tokenizer = load_lora_model(
            cfg.base_model, backend, lora_r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
            target_modules=targets, max_seq_length=cfg.max_seq_length,
            gradient_checkpointing=cfg.gradient_checkpointing, adapter_dir=previous, seed=cfg.seed)
    except (ValueError, OSError) as e:  # bad target modules; base model not found
        return usage_error(e)
    if backend == "unsloth":
        cfg.gradient_checkpointing = False  # unsloth checkpoints itself; the Trainer must not add its own
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    log.info("%s via %s: %.2fM parameters, %.3fM trainable (LoRA r=%d on %s)", cfg.base_model, backend, total / 1e6,
             trainable / 1e6, cfg.lora_r, " ".join(targets))
    try:
        run_curriculum(cfg, model, tokenizer)
    except ValueError as e:
        return usage_error(e)
    if cfg.merge:
        merged = save_merged(last_complete_stage(out), out / "merged", cfg.base_model)
        log.info("merged model saved to %s", merged)
    log.info("adapters in %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
