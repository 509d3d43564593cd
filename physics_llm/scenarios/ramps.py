"""ramps scenarios."""

from __future__ import annotations

import math
import random

from physics_llm.scenarios.builder import SceneBuilder
from physics_llm.scenarios.registry import register_scenario

RAMP_RADIUS = 6.0  # px: half-thickness of a ramp segment
SIDE_MARGIN = 60.0  # px between a ramp's outer end and the side wall
DROP = 60.0  # px (centre lines) from a ramp's lower end down to the ramp below: room for any object to fall
TOP_LIMIT = 530.0  # px: highest ramp end, leaving room above it for the objects
# Per difficulty 1..5: (ramps, balls, boxes, base incline in degrees).
RAMP_LEVELS = {
    1: (1, 2, 0, 14.0),
    2: (2, 3, 0, 17.0),
    3: (2, 3, 1, 20.0),
    4: (3, 4, 1, 22.0),
    5: (3, 4, 2, 25.0),
}
RAMP_LENGTH = {1: 560.0, 2: 500.0, 3: 430.0}  # px of horizontal extent, by number of ramps


@register_scenario("ramp_roll", "ramps",
                   "Side view: balls roll and boxes slide down a zigzag of inclined ramps onto the floor.")
def ramp_roll(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.6, elasticity=0.5)
    n_ramps, n_balls, n_boxes, incline = RAMP_LEVELS[difficulty]
    ramps = _zigzag(n_ramps, RAMP_LENGTH[n_ramps], math.radians(incline + rng.uniform(-2, 3)))
    for a, b in ramps:
        sb.add_segment(a, b, radius=RAMP_RADIUS, friction=0.6, elasticity=0.3)
    kinds = ["ball"] * n_balls + ["box"] * n_boxes
    rng.shuffle(kinds)
    for k, kind in enumerate(kinds):
        _place_on_ramp(sb, rng, kind, ramps[k % n_ramps])
    return sb


def _zigzag(n: int, length: float, incline: float) -> list[tuple[tuple, tuple]]:
    """``n`` ramps (upper end, lower end), alternately descending right and left; each lower end hangs
    DROP px above the next ramp, and the last ramp's lower end rests on the floor. The incline (rad)
    is eased off until the top ramp fits under TOP_LIMIT."""
    w = 800.0
    while True:
        slope = math.tan(incline)
        ramps = []
        y_low = RAMP_RADIUS  # built bottom-up: the last ramp touches the floor
        for k in reversed(range(n)):
            right = k % 2 == 0  # ramp 0 descends to the right
            x_high = SIDE_MARGIN if right else w - SIDE_MARGIN
            x_low = x_high + length if right else x_high - length
            y_high = y_low + slope * length
            ramps.append(((x_high, y_high), (x_low, y_low)))
            if k > 0:  # the ramp above ends DROP px above this one, at its own lower end
                x_above = w - SIDE_MARGIN - length if right else SIDE_MARGIN + length
                y_low = y_low + slope * abs(x_above - x_low) + DROP
        if ramps[-1][0][1] <= TOP_LIMIT:
            return ramps[::-1]
        incline -= math.radians(0.5)


def _place_on_ramp(sb: SceneBuilder, rng: random.Random, kind: str, ramp) -> None:
    """A ball or box resting 1 px above the upper half of ``ramp``, at the first free spot found."""
    (xa, ya), (xb, yb) = ramp
    length = math.dist((xa, ya), (xb, yb))
    ux, uy = (xb - xa) / length, (yb - ya) / length  # down-slope unit vector
    nx, ny = (-uy, ux) if ux > 0 else (uy, -ux)  # upward normal
    angle = math.atan2(uy, ux) if ux > 0 else math.atan2(-uy, -ux)  # box tilted with the ramp
    if kind == "ball":
        r = rng.uniform(8, 13)
        geometry, lift = {"shape": "circle", "radius": r}, r
    else:
        side = rng.uniform(16, 24)
        geometry, lift = {"shape": "box", "size": [side, side]}, side / 2
    lift += RAMP_RADIUS + 1.0
    for _ in range(100):
        s = rng.uniform(0.08, 0.5) * length  # distance along the ramp from its upper end
        pos = (xa + ux * s + nx * lift, ya + uy * s + ny * lift)
        if sb.fits(geometry, pos, angle, margin=0.5):
            break
    else:
        raise RuntimeError("ramp_roll: no room on the ramp")
    if kind == "ball":
        sb.add_ball(pos, geometry["radius"], friction=0.6, elasticity=0.4)
    else:
        sb.add_box(pos, geometry["size"], angle=angle, friction=0.25, elasticity=0.2)
