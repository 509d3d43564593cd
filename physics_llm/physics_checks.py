"""Physics sanity measures of a scene (DESIGN.md section 4), from its header and frames.

Used by the validator (``validate_dataset.py --check-physics``), the scenario tests and the
scenario reference table, so all three judge scenes by the same numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from physics_llm.simulation import WORLD, build_world, simulate

# Limits a scene must respect. Speeds are bounded so that nothing moves more than ~3.4 px per
# substep (walls are 40 px thick, the smallest objects ~4 px in radius).
MAX_SPEED = 2000.0  # px/s
MAX_INITIAL_OVERLAP = 0.5  # px of penetration between shapes at t = 0
MIN_MOVING_SHARE = 0.10  # share of object-frames that move
MOVING_SPEED = 2.0  # px/s: an object-frame "moves" above this speed (or angular speed * size / 2)
CANVAS_MARGIN = 1.0  # px of tolerance for "left the canvas"


@dataclass
class PhysicsReport:
    num_objects: int
    left_canvas_share: float  # objects whose centre left the canvas at any frame
    initial_overlap_px: float  # deepest penetration between two shapes at t = 0
    first_step_jump: float  # max |dv - g dt| over objects between frames 0 and 1 (px/s)
    moving_share: float  # share of object-frames moving
    max_speed: float  # px/s over all frames and objects
    finite: bool

    def problems(self, closed: bool = True) -> list[str]:
        out = []
        if not self.finite:
            out.append("non-finite state (NaN/inf)")
        if closed and self.left_canvas_share > 0:
            out.append(f"{self.left_canvas_share:.0%} of objects left the canvas in a closed world")
        if self.initial_overlap_px > MAX_INITIAL_OVERLAP:
            out.append(f"initial overlap {self.initial_overlap_px:.2f} px > {MAX_INITIAL_OVERLAP}")
        if self.moving_share < MIN_MOVING_SHARE:
            out.append(f"only {self.moving_share:.1%} of object-frames move (< {MIN_MOVING_SHARE:.0%})")
        if self.max_speed > MAX_SPEED:
            out.append(f"max speed {self.max_speed:.0f} px/s > {MAX_SPEED:.0f}")
        return out

    def as_dict(self) -> dict:
        return asdict(self)


def initial_overlap(header: dict) -> float:
    """Deepest penetration (px) between any two shapes at t = 0, ignoring pairs joined by a
    constraint that disables their collision."""
    world = build_world(header)
    ignore = {frozenset((c["a"], c["b"])) for c in header["constraints"] if not c.get("collide", True)}
    index = {b: i for i, b in enumerate(world.bodies)}
    deepest = 0.0
    for i, body in enumerate(world.bodies):
        for shape in body.shapes:
            for hit in world.space.shape_query(shape):
                j = index.get(hit.shape.body, WORLD)
                if j == i or frozenset((i, j)) in ignore:
                    continue
                for p in hit.contact_point_set.points:
                    deepest = max(deepest, -p.distance)
    return deepest


def physics_report(header: dict, pos: np.ndarray, vel: np.ndarray, angvel: np.ndarray) -> PhysicsReport:
    """``pos``/``vel``: (T, N, 2), ``angvel``: (T, N), as stored in the scene file."""
    w, h = header["canvas"]
    finite = bool(np.isfinite(pos).all() and np.isfinite(vel).all() and np.isfinite(angvel).all())
    outside = ((pos[..., 0] < -CANVAS_MARGIN) | (pos[..., 0] > w + CANVAS_MARGIN)
               | (pos[..., 1] < -CANVAS_MARGIN) | (pos[..., 1] > h + CANVAS_MARGIN))
    speed = np.linalg.norm(vel, axis=-1)  # (T, N)
    half_size = np.array([_half_size(o) for o in header["objects"]])
    moving = (speed > MOVING_SPEED) | (np.abs(angvel) * half_size > MOVING_SPEED)
    jump = 0.0
    if pos.shape[0] > 1:
        dv = vel[1] - vel[0] - np.asarray(header["gravity"]) * header["dt"]
        jump = float(np.linalg.norm(dv, axis=-1).max())
    return PhysicsReport(
        num_objects=pos.shape[1],
        left_canvas_share=float(outside.any(axis=0).mean()),
        initial_overlap_px=initial_overlap(header),
        first_step_jump=jump,
        moving_share=float(moving.mean()),
        max_speed=float(np.nan_to_num(speed, nan=np.inf).max()),
        finite=finite,
    )


def _half_size(obj: dict) -> float:
    if obj["shape"] == "circle":
        return obj["radius"]
    if obj["shape"] == "box":
        return max(obj["size"]) / 2
    return max(abs(c) for v in obj["vertices"] for c in v)


def simulate_and_check(header: dict) -> PhysicsReport:
    """Simulate a header (full float precision) and measure it: the check scenario tests use."""
    states = simulate(header)
    return physics_report(header, states[..., 0:2], states[..., 3:5], states[..., 5])
