"""How stable is a resting stack at each (substeps, solver iterations) setting?

Builds an undisturbed tower of boxes on the floor (nothing pushes it), simulates 200 frames and
prints JSON with the largest drift of any box from its start position (px) and the final kinetic
energy per setting, plus the stepping cost. The defaults in physics_llm/scenarios/builder.py were
chosen from this table.

    python benchmarks/stack_stability.py --boxes 12
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from physics_llm.scenarios.builder import SceneBuilder
from physics_llm.simulation import simulate


def tower_header(boxes: int, substeps: int, iterations: int) -> dict:
    sb = SceneBuilder(substeps=substeps, iterations=iterations)
    sb.add_walls()
    w, h = 60.0, 30.0
    for i in range(boxes):
        sb.add_box((400.0, h / 2 + i * h), (w, h), friction=0.6, elasticity=0.1)
    spec = sb.to_spec("tower_at_rest", "stacking", 1)
    spec["num_frames"] = 200
    return spec


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--boxes", type=int, default=12)
    args = p.parse_args(argv)
    rows = []
    for substeps in (1, 2, 5, 10, 20):
        for iterations in (10, 20):
            header = tower_header(args.boxes, substeps, iterations)
            start = time.perf_counter()
            states = simulate(header)
            seconds = time.perf_counter() - start
            drift = np.linalg.norm(states[:, :, :2] - states[0, :, :2], axis=-1).max()
            masses = np.array([o["mass"] for o in header["objects"]])
            ke = 0.5 * (masses * (states[-1, :, 3:5] ** 2).sum(-1)).sum()
            rows.append({"substeps": substeps, "iterations": iterations, "max_drift_px": round(float(drift), 3),
                         "final_kinetic_energy": round(float(ke), 3), "seconds_per_scene": round(seconds, 4)})
    print(json.dumps({"boxes": args.boxes, "frames": 200, "results": rows}, indent=1))


if __name__ == "__main__":
    main()
