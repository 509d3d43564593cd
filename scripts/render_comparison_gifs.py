"""Side-by-side comparison GIFs: left the ground truth (green), right the model's rollout (blue), context
frames then predicted frames, static geometry, constraints and rotated boxes drawn, with a frame counter
and the phase (context / PREDICTION).

Examples:
    # roll the checkpoint out on the first 2 scenes of each type, then render (model kind inferred)
    python scripts/render_comparison_gifs.py --checkpoint checkpoints/gpt-scratch-tiny \
        --val-dir data_scenarios/val --output-dir comparison_gifs --scenario-types pong tower --num-scenes 2
    # re-render saved predictions of run_evaluation.py, no model needed
    python scripts/render_comparison_gifs.py --predictions-dir evaluation_results/predictions \
        --val-dir data_scenarios/val --output-dir comparison_gifs

Writes <output-dir>/<type>_cmp.gif for the first scene of each type and
<type>_scene_XXXXXXXX_cmp.gif for further ones. With --checkpoint the rollouts (and their metrics)
are written to <output-dir>/predictions/ and <output-dir>/metrics.json on the way.

Exit status: 0 on success, 2 on bad arguments or unusable input.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from physics_llm.config import add_config_flag, parse_args_with_config, usage_error
from physics_llm.evaluation import PREDICTIONS_DIR, evaluate, render_comparison_gifs, resolve_checkpoint
from physics_llm.scenarios import resolve_scenario_types

log = logging.getLogger("render_comparison_gifs")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_flag(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="stage directory or training --output-dir: roll it out, then render")
    src.add_argument("--predictions-dir", help="predictions/ written by run_evaluation.py: render without a model")
    p.add_argument("--val-dir", required=True, help="the scenes (<type>/scene_*.jsonl)")
    p.add_argument("--output-dir", required=True, help="GIFs go here")
    p.add_argument("--scenario-types", nargs="+", default=None, help="only these types (default: all in --val-dir)")
    p.add_argument("--num-scenes", type=int, default=1, help="scenes per type (default: 1)")
    p.add_argument("--context-frames", type=int, default=10, help="ground-truth context frames (default: 10)")
    p.add_argument("--rollout-frames", type=int, default=20, help="predicted frames (default: 20)")
    p.add_argument("--batch-size", type=int, default=1, help="scenes rolled out together (default: 1)")
    p.add_argument("--device", default=None, help="torch device for the model (default: cpu)")
    p.add_argument("--fps", type=float, default=15.0, help="playback frames per second (default: 15)")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    args = parse_args_with_config(build_parser(), argv)
    val, out = Path(args.val_dir), Path(args.output_dir)
    if not val.is_dir():
        return usage_error(f"--val-dir: directory {val} not found")
    if args.num_scenes < 1:
        return usage_error(f"--num-scenes must be >= 1, got {args.num_scenes}")
    if not args.fps > 0:
        return usage_error(f"--fps must be > 0, got {args.fps}")
    types = None
    if args.scenario_types:
        try:
            types = resolve_scenario_types(args.scenario_types)
        except ValueError as e:
            return usage_error(f"--scenario-types: {e}")
    try:
        if args.checkpoint is not None:
            evaluate(resolve_checkpoint(args.checkpoint), val, out, context=args.context_frames,
                     horizon=args.rollout_frames, max_scenes_per_type=args.num_scenes, scenario_types=types,
                     device=args.device, batch_size=args.batch_size)
            pred = out / PREDICTIONS_DIR
        else:
            pred = Path(args.predictions_dir)
        gifs = render_comparison_gifs(pred, val, out, scenario_types=types, num_scenes=args.num_scenes, fps=args.fps)
    except FileNotFoundError as e:
        return usage_error(f"--checkpoint / --predictions-dir: {e}")
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        return usage_error(f"--val-dir / --checkpoint / --predictions-dir: {e}")
    for g in gifs:
        log.info("wrote %s", g)
    return 0


if __name__ == "__main__":
    sys.exit(main())
