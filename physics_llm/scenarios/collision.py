"""Collision scenarios: things hitting things."""

from __future__ import annotations

import math
import random

from physics_llm.scenarios.builder import SceneBuilder
from physics_llm.scenarios.registry import register_scenario


@register_scenario("billiards", "collision",
                   "Top-down table (no gravity, rolling drag): a cue ball is shot into a triangular rack.")
def billiards(rng: random.Random, difficulty: int) -> SceneBuilder:
    # Seen from above: gravity is zero and space damping stands in for rolling resistance.
    sb = SceneBuilder(gravity=(0, 0), damping=0.8)
    sb.add_walls(friction=0.2, elasticity=0.9)
    radius = 12.0
    rows = difficulty + 1  # 3, 6, 10, 15, 21 balls in the rack
    apex_x = rng.uniform(480, 520)
    apex_y = rng.uniform(270, 330)
    gap = 0.5
    dx = (2 * radius + gap) * math.sqrt(3) / 2
    for row in range(rows):
        for k in range(row + 1):
            y = apex_y + (k - row / 2) * (2 * radius + gap)
            sb.add_ball((apex_x + row * dx, y), radius, friction=0.2, elasticity=0.95)
    cue_x = rng.uniform(120, 220)
    cue_y = apex_y + rng.uniform(-15, 15)
    speed = 500 + 150 * difficulty + rng.uniform(-50, 50)
    aim = math.atan2(apex_y - cue_y, apex_x - cue_x) + rng.uniform(-0.03, 0.03)
    sb.add_ball((cue_x, cue_y), radius, vel=(speed * math.cos(aim), speed * math.sin(aim)),
                friction=0.2, elasticity=0.95)
    return sb
