"""Constraint scenarios: bodies held by joints (pendulums, cradles)."""

from __future__ import annotations

import math
import random

from physics_llm.scenarios.builder import SceneBuilder
from physics_llm.scenarios.registry import register_scenario
from physics_llm.simulation import WORLD

# Links per pendulum at each difficulty: single pendulums first, then double and triple chains.
PENDULUM_CHAINS = {1: (1, 1), 2: (1, 2), 3: (1, 2, 2), 4: (1, 2, 3), 5: (2, 3, 3)}  # 2, 3, 5, 6, 8 bobs


def _chain_positions(anchor, lengths, angles) -> list[tuple[float, float]]:
    """Bob centres of a chain hanging from ``anchor``: link k has length ``lengths[k]`` (px) and makes
    ``angles[k]`` (rad, counter-clockwise) with the downward vertical."""
    x, y = anchor
    out = []
    for length, a in zip(lengths, angles):
        x, y = x + length * math.sin(a), y - length * math.cos(a)
        out.append((x, y))
    return out


def _add_chain(sb: SceneBuilder, rng: random.Random, anchor, n_links: int, reach: float, max_angle: float,
               max_spin: float) -> None:
    """A pendulum of ``n_links`` equal bobs hanging from ``anchor``, total length <= ``reach`` px, released
    at random angles up to ``max_angle`` rad, the whole chain turning rigidly at up to ``max_spin`` rad/s."""
    radius = round(rng.uniform(9, 15), 1)
    lengths = [rng.uniform(max(3 * radius, 0.5 * reach / n_links), reach / n_links) for _ in range(n_links)]
    spin = rng.uniform(-max_spin, max_spin)
    # Redraw release angles, slowing the spin a little each time, until no bob starts overlapping or about
    # to hit anything.
    for attempt in range(50):
        omega = spin * (1 - attempt / 50)
        first = rng.uniform(0.3, max_angle) * rng.choice((-1, 1))
        angles = [first] + [first + rng.uniform(-max_angle, max_angle) for _ in range(n_links - 1)]
        positions = _chain_positions(anchor, lengths, angles)
        if _chain_fits(sb, positions, radius, [_rigid_velocity(anchor, p, omega) for p in positions]):
            break
    else:  # hang straight down at rest: the slots are wide enough for that to fit
        positions, omega = _chain_positions(anchor, lengths, [0.0] * n_links), 0.0
    prev, prev_pos = WORLD, anchor
    for p in positions:
        bob = sb.add_ball(p, radius, vel=_rigid_velocity(anchor, p, omega), friction=0.3, elasticity=0.8)
        # collide=True on the world pin: collide=False would switch off the bob's contacts with every
        # static shape (the walls live on the same static body as the anchor).
        sb.pin(prev, bob, prev_pos, p, collide=prev == WORLD)
        prev, prev_pos = bob, p


def _rigid_velocity(anchor, p, omega: float) -> tuple[float, float]:
    """Velocity (px/s) of point ``p`` turning at ``omega`` rad/s about ``anchor``."""
    return -omega * (p[1] - anchor[1]), omega * (p[0] - anchor[0])


def _chain_fits(sb: SceneBuilder, positions, radius: float, velocities) -> bool:
    """True if bobs at ``positions`` keep clear of everything placed and of each other: 2 px plus the
    distance each travels in 3 frames (0.05 s), so no contact starts within the first frame."""
    margins = [2 + 0.05 * math.hypot(*v) for v in velocities]
    if not all(sb.ball_fits(p, radius, margin=m) for p, m in zip(positions, margins)):
        return False
    return all(math.dist(positions[i], positions[j]) > 2 * radius + margins[i] + margins[j]
               for i in range(len(positions)) for j in range(i + 1, len(positions)))


@register_scenario("pendulum", "constraints",
                   "Side view: single, double and triple pendulums on pin joints swing from fixed anchors.")
def pendulum(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.5, elasticity=0.5)
    chains = list(PENDULUM_CHAINS[difficulty])
    rng.shuffle(chains)
    slot = 720 / len(chains)  # px of canvas width per pendulum, from x = 40
    max_angle = 0.6 + 0.2 * difficulty  # rad
    for k, n_links in enumerate(chains):
        anchor = (40 + (k + 0.5) * slot + rng.uniform(-0.15, 0.15) * slot, rng.uniform(470, 540))
        reach = min(anchor[1] - 60, 90 * n_links + 60)  # px: the chain never reaches the floor
        _add_chain(sb, rng, anchor, n_links, reach, max_angle, max_spin=0.5 * difficulty)
    return sb


# --------------------------------------------------------------------------- Newton's cradle

CRADLE_LIFTED = {1: (1, 0), 2: (2, 0), 3: (1, 1), 4: (2, 1), 5: (3, 2)}  # balls pulled back at (one, other) end


@register_scenario("newtons_cradle", "constraints",
                   "Side view: a row of touching balls on strings; end balls are pulled back and released.")
def newtons_cradle(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.5, elasticity=0.5)
    n_balls = 4 + difficulty  # 5 .. 9
    radius = round(rng.uniform(16, 22), 1)
    gap = 0.5  # px between neighbouring balls at rest: touching, not overlapping
    spacing = 2 * radius + gap
    length = round(rng.uniform(170, 260), 1)  # px, string length
    top = rng.uniform(480, 540)  # px, height of the anchors
    x0 = 400 - (n_balls - 1) * spacing / 2 + rng.uniform(-60, 60)
    lifted = CRADLE_LIFTED[difficulty]
    if rng.random() < 0.5:
        lifted = lifted[::-1]
    # Release angles (rad from the vertical, negative = pulled left), capped so lifted balls stay >= 20 px
    # inside the canvas.
    room = min(x0, 800 - (x0 + (n_balls - 1) * spacing)) - radius - 20
    max_angle = math.asin(min(1.0, room / length))
    left_angle = -min(rng.uniform(0.4, 0.9), max_angle)
    right_angle = min(rng.uniform(0.4, 0.9), max_angle)
    for k in range(n_balls):
        anchor = (x0 + k * spacing, top)
        angle = left_angle if k < lifted[0] else right_angle if k >= n_balls - lifted[1] else 0.0
        pos = (anchor[0] + length * math.sin(angle), top - length * math.cos(angle))
        ball = sb.add_ball(pos, radius, friction=0.0, elasticity=0.99)
        sb.pin(WORLD, ball, anchor, pos, collide=True)  # keep contacts with the walls (static body)
    return sb
