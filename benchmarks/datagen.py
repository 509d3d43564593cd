"""Data generation throughput, and how much of it is raw pymunk stepping.

For a fixed mix (the README's ten scenario types x difficulty 1..5 x --per-cell indices) this
times, in one process and on the same scenes:
  * total: everything generate_scenarios_dataset.py does per scene (scenario generator, header,
    simulation with recording, JSON encoding, atomic write);
  * raw stepping: building the pymunk space from the header and stepping it for the same number
    of frames, with no recording or encoding.
and prints JSON with scenes/s per process and the overhead ratio total / raw stepping.

    python benchmarks/datagen.py --per-cell 2                          # the ten README types
    python benchmarks/datagen.py --per-cell 1 --scenario-types all     # all registered types
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from physics_llm.generation import make_header, render_scene
from physics_llm.scenarios import resolve_scenario_types
from physics_llm.scene_format import scene_filename, write_text_atomic
from physics_llm.simulation import build_world

MIX = ["billiards", "bowling", "tower", "pendulum", "projectile", "pong", "ramp_roll", "angry_birds", "hourglass",
       "newtons_cradle"]


def raw_stepping_seconds(header: dict) -> float:
    start = time.perf_counter()
    world = build_world(header)
    for t in range(header["num_frames"] - 1):
        world.step_frame(t)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-cell", type=int, default=2, help="scenes per (type, difficulty)")
    p.add_argument("--frames", type=int, default=200)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--scenario-types", nargs="+", default=MIX, metavar="TYPE",
                   help="types to time, or 'all' (default: the ten README types)")
    args = p.parse_args(argv)
    types = resolve_scenario_types(args.scenario_types)

    per_type = {}
    total_s = raw_s = 0.0
    scenes = object_frames = n_bytes = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in types:
            t_total = t_raw = 0.0
            for d in range(1, 6):
                for k in range(args.per_cell):
                    index = (d - 1) + 5 * k  # the generator cycles difficulty over indices
                    start = time.perf_counter()
                    header = make_header(name, index, args.seed, d, args.frames)
                    text = render_scene(header)
                    write_text_atomic(Path(tmp) / scene_filename(scenes), text)
                    t_total += time.perf_counter() - start
                    t_raw += raw_stepping_seconds(header)
                    scenes += 1
                    object_frames += len(header["objects"]) * args.frames
                    n_bytes += len(text)
            n = 5 * args.per_cell
            per_type[name] = {"scenes_per_s": round(n / t_total, 2), "overhead_ratio": round(t_total / t_raw, 3)}
            total_s += t_total
            raw_s += t_raw
    print(json.dumps({
        "scenes": scenes, "frames_per_scene": args.frames,
        "scenes_per_s_per_process": round(scenes / total_s, 2),
        "raw_stepping_scenes_per_s": round(scenes / raw_s, 2),
        "overhead_ratio": round(total_s / raw_s, 3),
        "bytes_per_object_frame": round(n_bytes / object_frames, 2),
        "per_type": per_type,
    }, indent=1))


if __name__ == "__main__":
    main()
