"""Evaluate a checkpoint by rollout against the copy-last / constant-velocity / constant-acceleration
baselines on the same scenes (DESIGN.md §6).

Example:
    python scripts/run_evaluation.py --checkpoint checkpoints/gpt-scratch/stage0 --data-dir data_scenarios/val \
        --output-dir evaluation_results --context-frames 10 --rollout-frames 20 --max-scenes-per-type 5 --num-gifs 4

The checkpoint is a stage directory (scratch GPT, or a LoRA adapter with adapter_config.json) holding the
tokenizer and training_types.json, the record of the types it trained on: every evaluated type is
labelled seen or held-out from it. Writes <output-dir>/metrics.json, predictions/<type>/scene_*.json,
error_vs_horizon.png, report.md and, with --num-gifs N > 0, comparison_gifs/*.gif.

Exit status: 0 on success, 2 on bad arguments or unusable input.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from physics_llm.config import usage_error
from physics_llm.curriculum import TRAINING_TYPES_FILE
from physics_llm.evaluation import GIFS_DIR, PREDICTIONS_DIR, evaluate, render_comparison_gifs, results_table

log = logging.getLogger("run_evaluation")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint (stage) directory to evaluate")
    p.add_argument("--data-dir", required=True, help="scenes to evaluate on: <type>/scene_*.jsonl")
    p.add_argument("--output-dir", default="evaluation_results", help="results go here (default: %(default)s)")
    p.add_argument("--context-frames", type=int, default=10, help="ground-truth context frames (default: 10)")
    p.add_argument("--rollout-frames", type=int, default=20, help="predicted frames (default: 20)")
    p.add_argument("--max-scenes-per-type", type=int, default=None, help="first N scenes of each type (default: all)")
    p.add_argument("--tolerance-px", type=float, default=5.0, help="accuracy tolerance in px (default: 5)")
    p.add_argument("--seed", type=int, default=0, help="seed for sampling and bootstrap CIs (default: 0)")
    p.add_argument("--num-gifs", type=int, default=0, help="also render this many comparison GIFs (default: 0)")
    p.add_argument("--device", default=None, help="torch device for the model (default: cpu)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def check_args(args) -> str | None:
    ckpt, data = Path(args.checkpoint), Path(args.data_dir)
    if not ckpt.is_dir():
        return f"--checkpoint: directory {ckpt} not found"
    if not (ckpt / TRAINING_TYPES_FILE).exists():
        return (f"--checkpoint: {ckpt} has no {TRAINING_TYPES_FILE} (the record of the types it trained on); "
                "pass a stage directory written by the training scripts, e.g. <output-dir>/stage0")
    if not data.is_dir():
        return f"--data-dir: directory {data} not found"
    if not any(data.glob("*/scene_*.jsonl")):
        return f"--data-dir: no scene files (<type>/scene_XXXXXXXX.jsonl) under {data}"
    if args.context_frames < 3:
        return f"--context-frames must be >= 3 (constant acceleration needs 3), got {args.context_frames}"
    if args.rollout_frames < 1:
        return f"--rollout-frames must be >= 1, got {args.rollout_frames}"
    if args.max_scenes_per_type is not None and args.max_scenes_per_type < 1:
        return f"--max-scenes-per-type must be >= 1, got {args.max_scenes_per_type}"
    if not args.tolerance_px > 0:
        return f"--tolerance-px must be > 0, got {args.tolerance_px}"
    if args.num_gifs < 0:
        return f"--num-gifs must be >= 0, got {args.num_gifs}"
    return None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    args = build_parser().parse_args(argv)
    problem = check_args(args)
    if problem:
        return usage_error(problem)
    out = Path(args.output_dir)
    try:
        metrics = evaluate(args.checkpoint, args.data_dir, out, context=args.context_frames,
                           horizon=args.rollout_frames, max_scenes_per_type=args.max_scenes_per_type,
                           tolerance_px=args.tolerance_px, seed=args.seed, progress=not args.no_progress,
                           device=args.device)
    except FileNotFoundError as e:
        return usage_error(f"--checkpoint: {e}")
    except (OSError, ValueError) as e:
        return usage_error(f"--checkpoint / --data-dir: {e}")
    if args.num_gifs > 0:
        gifs = render_comparison_gifs(out / PREDICTIONS_DIR, args.data_dir, out / GIFS_DIR, num_gifs=args.num_gifs)
        log.info("%d comparison GIFs in %s", len(gifs), out / GIFS_DIR)
    skipped = metrics["scenes"]["skipped"]
    log.info("%d scenes evaluated, %d skipped; results in %s", metrics["scenes"]["evaluated"], len(skipped), out)
    print(results_table(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
