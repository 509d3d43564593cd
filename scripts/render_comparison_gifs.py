"""Side-by-side comparison GIFs from saved predictions (no model needed): left the ground truth (green),
right the model's rollout (blue), context frames then predicted frames, static geometry and rotated
boxes drawn, with a frame counter and the phase (context / PREDICTION).

Example:
    python scripts/render_comparison_gifs.py --predictions-dir evaluation_results/predictions \
        --data-dir data_scenarios/val --output-dir evaluation_results --num-gifs 6

Reads <predictions-dir>/<type>/scene_*.json (written by run_evaluation.py) and the matching scene files
under --data-dir; writes <output-dir>/comparison_gifs/<type>_scene_XXXXXXXX_cmp.gif.

Exit status: 0 on success, 2 on bad arguments or unusable input.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from physics_llm.config import usage_error
from physics_llm.evaluation import GIFS_DIR, render_comparison_gifs

log = logging.getLogger("render_comparison_gifs")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--predictions-dir", required=True, help="predictions/ directory written by run_evaluation.py")
    p.add_argument("--data-dir", required=True, help="the scenes the predictions were made on")
    p.add_argument("--output-dir", required=True, help=f"GIFs go to <output-dir>/{GIFS_DIR}/")
    p.add_argument("--num-gifs", type=int, default=None, help="how many (alternating between types; default: all)")
    p.add_argument("--fps", type=float, default=15.0, help="playback frames per second (default: 15)")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    args = build_parser().parse_args(argv)
    pred, data = Path(args.predictions_dir), Path(args.data_dir)
    if not pred.is_dir() or not any(pred.glob("*/scene_*.json")):
        return usage_error(f"--predictions-dir: no saved predictions (<type>/scene_*.json) under {pred}")
    if not data.is_dir():
        return usage_error(f"--data-dir: directory {data} not found")
    if args.num_gifs is not None and args.num_gifs < 1:
        return usage_error(f"--num-gifs must be >= 1, got {args.num_gifs}")
    if not args.fps > 0:
        return usage_error(f"--fps must be > 0, got {args.fps}")
    try:
        gifs = render_comparison_gifs(pred, data, Path(args.output_dir) / GIFS_DIR, args.num_gifs, args.fps)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        return usage_error(f"--data-dir / --predictions-dir: {e}")
    for g in gifs:
        log.info("wrote %s", g)
    return 0


if __name__ == "__main__":
    sys.exit(main())
