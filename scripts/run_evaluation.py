"""Evaluate a checkpoint by rollout against the copy-last / constant-velocity / constant-acceleration
baselines on the same scenes (DESIGN.md §6).

Example:
    python scripts/run_evaluation.py --model scratch --checkpoint checkpoints/gpt-scratch-tiny \
        --val-dir data_scenarios/val --output-dir evaluation_results --context-frames 10 --rollout-frames 20 \
        --max-scenes-per-type 5

--checkpoint is a stage directory (scratch GPT, or a LoRA adapter with adapter_config.json) or a
training output directory (its last complete stage is used); it holds the tokenizer and
training_types.json, the record of the types it trained on: every evaluated type is labelled seen or
held-out from it. --model says what you expect it to be (checked against the directory; "baseline"
scores the three baselines without a checkpoint). Writes to --output-dir: metrics.json,
predictions/<type>_scene_XXXXXXXX.txt (the rollout text) and .json (predicted frames),
comparison_gifs/<type>_cmp.gif (unless --no-render), error_vs_horizon.png, report.md and
eval_config.json (the resolved options). All options can come from --config (configs/eval.yaml);
flags given override it.

Exit status: 0 on success, 2 on bad arguments or unusable input.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from physics_llm.config import ConfigError, config_parser, require, resolve_config, usage_error
from physics_llm.curriculum import TRAINING_TYPES_FILE
from physics_llm.evaluation import (DECODE_MODES, GIFS_DIR, MODEL_KINDS, PREDICTIONS_DIR, checkpoint_kind, evaluate,
                                    render_comparison_gifs, resolve_checkpoint, results_table)
from physics_llm.tokenization.formats import check_format_flag, resolve_format

log = logging.getLogger("run_evaluation")
RESOLVED_CONFIG = "eval_config.json"


@dataclass
class EvalConfig:
    model: str | None = None  # scratch | finetune | baseline; None: inferred from the checkpoint
    checkpoint: str | None = None
    val_dir: str = "data_scenarios/val"
    output_dir: str = "evaluation_results"
    context_frames: int = 10
    rollout_frames: int = 20
    max_scenes_per_type: int | None = 100
    render: bool = True
    gifs_per_type: int = 1
    batch_size: int = 1
    decode: str = "forced"
    constrained: bool = True
    text_format: str | None = None
    temperature: float = 0.0
    top_p: float = 1.0
    tolerance_px: float = 5.0
    device: str | None = None
    seed: int = 0
    progress: bool = True

    def check(self) -> None:
        """Raise ``ConfigError`` naming the offending flag."""
        require(self.model is None or self.model in MODEL_KINDS,
                f"--model must be one of {', '.join(MODEL_KINDS)}, got {self.model!r}")
        if self.model == "baseline":
            require(self.checkpoint is None, "--model baseline takes no --checkpoint")
        else:
            require(self.checkpoint is not None, "--checkpoint is required (or --model baseline)")
        val = Path(self.val_dir)
        require(val.is_dir(), f"--val-dir: directory {val} not found")
        require(any(val.glob("*/scene_*.jsonl")), f"--val-dir: no scene files (<type>/scene_XXXXXXXX.jsonl) under {val}")
        require(self.context_frames >= 3,
                f"--context-frames must be >= 3 (constant acceleration needs 3), got {self.context_frames}")
        require(self.rollout_frames >= 1, f"--rollout-frames must be >= 1, got {self.rollout_frames}")
        require(self.max_scenes_per_type is None or self.max_scenes_per_type >= 1,
                f"--max-scenes-per-type must be >= 1, got {self.max_scenes_per_type}")
        require(self.gifs_per_type >= 1, f"--gifs-per-type must be >= 1, got {self.gifs_per_type}")
        require(self.batch_size >= 1, f"--batch-size must be >= 1, got {self.batch_size}")
        require(self.decode in DECODE_MODES, f"--decode must be one of {', '.join(DECODE_MODES)}, got {self.decode!r}")
        require(self.temperature >= 0, f"--temperature must be >= 0, got {self.temperature}")
        require(0 < self.top_p <= 1, f"--top-p must be in (0, 1], got {self.top_p}")
        require(self.tolerance_px > 0, f"--tolerance-px must be > 0, got {self.tolerance_px}")

    def resolve_checkpoint(self) -> Path | None:
        """The stage directory to evaluate (checked against ``--model``), or None for baselines."""
        if self.checkpoint is None:
            return None
        ckpt = resolve_checkpoint(self.checkpoint)
        try:
            kind = checkpoint_kind(ckpt)
        except FileNotFoundError as e:
            raise ConfigError(f"--checkpoint: {e}") from None
        require((ckpt / TRAINING_TYPES_FILE).exists(),
                f"--checkpoint: {ckpt} has no {TRAINING_TYPES_FILE} (the record of the types it trained on); pass a "
                "stage directory written by the training scripts or their --output-dir")
        require(self.model is None or self.model == kind,
                f"--model {self.model}: {ckpt} is a {kind} checkpoint "
                f"({'LoRA adapter' if kind == 'finetune' else 'full model'})")
        return ckpt


HELP = {
    "model": f"what --checkpoint is: {' | '.join(MODEL_KINDS)} (baseline: no checkpoint); default: inferred",
    "checkpoint": "stage directory, or a training --output-dir (its last complete stage)",
    "val_dir": "scenes to evaluate on: <type>/scene_*.jsonl, held-out types included",
    "output_dir": "results go here",
    "context_frames": "ground-truth context frames",
    "rollout_frames": "predicted frames",
    "max_scenes_per_type": "first N scenes of each type",
    "render": "comparison GIFs (--no-render: none)",
    "gifs_per_type": "comparison GIFs per scenario type",
    "batch_size": "scenes rolled out together (1: chunked single-scene engine, fastest on CPU)",
    "decode": "forced (the harness writes ids and positions) or free (the model writes whole frames)",
    "constrained": "forced mode: grammar-constrained predicted parts (--no-constrained: raw model output)",
    "text_format": "text format, e.g. velocity_change or displacement:pos_scale=10; with --checkpoint it must match "
                   "the checkpoint's text_format.json (default: that record; --model baseline: the default "
                   "format's units)",
    "temperature": "0: greedy; > 0: sampling (seeded)",
    "top_p": "nucleus sampling threshold",
    "tolerance_px": "accuracy tolerance in px",
    "device": "torch device, e.g. cuda (default: cpu)",
    "seed": "seed for sampling and bootstrap CIs",
    "progress": "progress bar (--no-progress: none)",
}


def build_parser() -> argparse.ArgumentParser:
    return config_parser(EvalConfig, __doc__, HELP)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    args = build_parser().parse_args(argv)
    try:
        cfg = resolve_config(EvalConfig, args)
        cfg.check()
        ckpt = cfg.resolve_checkpoint()
        check_format_flag(cfg.text_format)
        if ckpt is not None:
            resolve_format(cfg.text_format, ckpt)  # a mismatch is one line and exit 2, before any output
    except (ConfigError, ValueError, TypeError) as e:
        return usage_error(e)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / RESOLVED_CONFIG).write_text(json.dumps({**dataclasses.asdict(cfg), "checkpoint_stage": str(ckpt)
                                                   if ckpt else None}, indent=2) + "\n", encoding="utf-8")
    try:
        metrics = evaluate(ckpt, cfg.val_dir, out, context=cfg.context_frames, horizon=cfg.rollout_frames,
                           max_scenes_per_type=cfg.max_scenes_per_type, tolerance_px=cfg.tolerance_px, seed=cfg.seed,
                           progress=cfg.progress, device=cfg.device, batch_size=cfg.batch_size, decode=cfg.decode,
                           constrained=cfg.constrained, temperature=cfg.temperature, top_p=cfg.top_p,
                           text_format=cfg.text_format)
    except FileNotFoundError as e:
        return usage_error(f"--checkpoint: {e}")
    except (OSError, ValueError) as e:
        return usage_error(f"--checkpoint / --val-dir: {e}")
    if cfg.render and ckpt is not None:
        gifs = render_comparison_gifs(out / PREDICTIONS_DIR, cfg.val_dir, out / GIFS_DIR, num_scenes=cfg.gifs_per_type)
        log.info("%d comparison GIFs in %s", len(gifs), out / GIFS_DIR)
    skipped = metrics["scenes"]["skipped"]
    log.info("%d scenes evaluated, %d skipped; results in %s", metrics["scenes"]["evaluated"], len(skipped), out)
    print(results_table(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
