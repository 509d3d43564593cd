"""Stacking scenarios: piles of bodies resting on each other, then disturbed."""

from __future__ import annotations

import math
import random

from physics_llm.scenarios.builder import DENSITY, GRAVITY, SceneBuilder
from physics_llm.scenarios.registry import register_scenario

G = -GRAVITY[1]  # px/s^2, downward


def _stack_blocks(sb: SceneBuilder, rng: random.Random, n: int, base_x: float, jitter: float) -> list[tuple]:
    """``n`` boxes stacked exactly (no gap, no overlap) on the floor, centred near ``base_x``, each shifted
    sideways by up to ``jitter`` times the narrower of it and the block below (and never more than 40 px
    from ``base_x``). Returns (x, y, w, h) per block."""
    blocks = []
    y = 0.0  # top of the stack so far (px); sizes are rounded to 0.1 px so the sums stay exact
    x = base_x
    for _ in range(n):
        w, h = round(rng.uniform(40, 80), 1), round(rng.uniform(20, 32), 1)
        if blocks:
            x = blocks[-1][0] + rng.uniform(-jitter, jitter) * min(w, blocks[-1][2])
            x = min(max(x, base_x - 40), base_x + 40)
        sb.add_box((x, round(y + h / 2, 2)), (w, h), friction=0.6, elasticity=0.1)
        blocks.append((x, round(y + h / 2, 2), w, h))
        y = round(y + h, 1)
    return blocks


def _throw_ball(sb: SceneBuilder, rng: random.Random, speed: float, mass: float, target: tuple) -> None:
    """A ball thrown at ``target`` (x, y px) from 180..260 px to one side, arriving at the target's height."""
    radius = round(rng.uniform(12, 18), 1)
    dist = rng.uniform(180, 260)  # px from the target block's centre: clear of every block (all within 120 px)
    side = rng.choice((-1, 1))
    if not 40 < target[0] + side * dist < 760:
        side = -side
    x0, y0 = target[0] + side * dist, min(target[1] + rng.uniform(-20, 60), 520.0)
    vx = -side * speed
    flight = dist / speed  # s
    vy = (target[1] - y0) / flight + G * flight / 2  # px/s: back at the target's height on arrival
    sb.add_ball((x0, y0), radius, mass=mass, vel=(vx, vy), friction=0.5, elasticity=0.3)


def _tipping_omega(blocks: list[tuple], pivot_x: float) -> float:
    """Angular speed (rad/s) at which the stack, taken as rigid and rotating about (pivot_x, 0), just
    carries its centre of mass over the pivot: (1/2) I w^2 = M g (|c - pivot| - c_y)."""
    masses = [w * h for _, _, w, h in blocks]  # uniform density: area stands in for mass
    total = sum(masses)
    cx = sum(m * b[0] for m, b in zip(masses, blocks)) / total - pivot_x
    cy = sum(m * b[1] for m, b in zip(masses, blocks)) / total
    inertia = sum(m * ((w * w + h * h) / 12 + (x - pivot_x) ** 2 + y * y) for m, (x, y, w, h) in zip(masses, blocks))
    rise = math.hypot(cx, cy) - cy
    return math.sqrt(2 * total * G * rise / inertia)


def _tip(sb: SceneBuilder, blocks: list[tuple], factor: float, direction: int) -> None:
    """Set the whole stack rotating rigidly about a bottom corner of its base block (left corner for
    ``direction`` = +1, counter-clockwise), ``factor`` times faster than needed to tip over: as if shoved
    at the top, without any initial relative motion between blocks."""
    x0, _, w0, _ = blocks[0]
    pivot_x = x0 - direction * w0 / 2
    omega = direction * factor * _tipping_omega(blocks, pivot_x)
    for spec, (x, y, _, _) in zip(sb.objects, blocks):
        spec["vel"] = [-omega * y, omega * (x - pivot_x)]  # omega x (p - pivot), the pivot at floor level
        spec["angvel"] = omega


@register_scenario("tower", "stacking",
                   "Side view: a tower of boxes on the floor is tipped over or hit by a thrown ball.")
def tower(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.6, elasticity=0.3)
    n_blocks = 3 + 2 * difficulty  # 5, 7, 9, 11, 13
    blocks = _stack_blocks(sb, rng, n_blocks, rng.uniform(330, 470), jitter=0.03 * difficulty)
    if rng.random() < 0.5:
        target = blocks[rng.randrange(n_blocks // 2, n_blocks - 1)]  # upper half, not the top: more falls
        tower_mass = sum(DENSITY * w * h for _, _, w, h in blocks)
        # A dense "steel" ball, 40 % of the tower's mass: enough to knock out the block it hits.
        speed = 400 + 80 * difficulty + rng.uniform(-30, 30)  # px/s
        _throw_ball(sb, rng, speed, 0.4 * tower_mass, target[:2])
    else:
        _tip(sb, blocks, factor=1.1 + 0.2 * difficulty + rng.uniform(0, 0.2), direction=rng.choice((-1, 1)))
    return sb
