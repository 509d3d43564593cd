"""Render one animated GIF per scenario type plus a gallery sheet of all of them.

Example:
    python scripts/render_gallery.py --output-dir assets/scenario_gifs --scenario-types all \
        --difficulty 3 --fps 15

Writes <output-dir>/<type>.gif (static geometry grey, bodies green, joints as dark lines, boxes
drawn rotated; played back in real time at --fps) and <output-dir>/gallery.png (one still per type).
Scenes are generated on the fly from (--seed, type, --index), exactly as the dataset generator
would generate them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from physics_llm.generation import make_header
from physics_llm.render import SceneRenderer, contact_sheet, frame_step, save_gif
from physics_llm.config import add_config_flag, parse_args_with_config, require, usage_error
from physics_llm.scenarios import resolve_scenario_types
from physics_llm.simulation import simulate

log = logging.getLogger("render_gallery")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_flag(p)
    p.add_argument("--output-dir", required=True, help="where the GIFs and gallery.png go")
    p.add_argument("--scenario-types", nargs="+", default=["all"], metavar="TYPE",
                   help="types to render, or 'all' (default: all)")
    p.add_argument("--difficulty", type=int, default=3, help="difficulty 1..5 (default: 3)")
    p.add_argument("--fps", type=float, default=15.0, help="GIF frames per second, real-time playback (default: 15)")
    p.add_argument("--frames", type=int, default=200, help="simulated frames per scene (default: 200)")
    p.add_argument("--seed", type=int, default=0, help="run seed (default: 0)")
    p.add_argument("--index", type=int, default=0, help="scene index within its type (default: 0)")
    p.add_argument("--scale", type=float, default=0.4, help="image px per world px (default: 0.4 -> 320x240)")
    p.add_argument("--columns", type=int, default=7, help="gallery.png columns (default: 7)")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args_with_config(build_parser(), argv)
    try:
        types = resolve_scenario_types(args.scenario_types)
        require(args.difficulty in range(1, 6), f"--difficulty must be 1..5, got {args.difficulty}")
        require(args.fps > 0, f"--fps must be > 0, got {args.fps}")
        require(args.frames >= 2, f"--frames must be >= 2, got {args.frames}")
        require(args.scale > 0, f"--scale must be > 0, got {args.scale}")
    except ValueError as e:
        return usage_error(e)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    stills = []
    for name in tqdm(types, desc="rendering", unit="type"):
        header = make_header(name, args.index, args.seed, args.difficulty, args.frames)
        states = simulate(header)
        renderer = SceneRenderer(header, scale=args.scale)
        label = f"{name} (d{args.difficulty})"
        frames = renderer.frames(states[..., :2], states[..., 2], frame_step(header["dt"], args.fps), label=label)
        save_gif(frames, out / f"{name}.gif", args.fps)
        stills.append(frames[len(frames) // 3])
    sheet = out / "gallery.png"
    contact_sheet(stills, columns=min(args.columns, len(stills))).save(sheet, optimize=True)
    total_kb = sum((out / f"{n}.gif").stat().st_size for n in types) / 1024
    log.info("wrote %d GIFs (%.0f KB in all) and %s", len(types), total_kb, sheet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
