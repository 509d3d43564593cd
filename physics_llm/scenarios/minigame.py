"""minigame scenarios."""

from __future__ import annotations

import math
import random

from physics_llm.scenarios.builder import SceneBuilder
from physics_llm.scenarios.registry import register_scenario
from physics_llm.simulation import WORLD

# ----------------------------------------------------------------------------- pong

PADDLE_SIZE = (14.0, 100.0)  # px (width, height) at difficulty 1
PADDLE_MASS = 50.0  # ~16x a ball (3.1): paddles barely notice the ball
PADDLE_GAP = 8.0  # px between a paddle's back and its end wall: less than a ball diameter
# Paddles oscillate on a zero-length spring instead of bouncing off floor and ceiling: a ball caught
# between a paddle's end and the ceiling gained ~2x the paddle speed per bounce (1358 px/s seen).
PADDLE_CLEARANCE = 50.0  # px kept between a paddle's end and floor/ceiling at its extremes (> a ball diameter)
PONG_BALLS = (1, 1, 2, 3, 4)  # balls per difficulty 1..5


@register_scenario("pong", "minigame",
                   "Top-down pong (no gravity): elastic balls bounce between two paddles oscillating on grooves.")
def pong(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder(gravity=(0, 0))
    sb.add_walls(friction=0.0, elasticity=1.0)
    w, h = sb.canvas
    paddle_size = (PADDLE_SIZE[0], PADDLE_SIZE[1] - 8.0 * (difficulty - 1))  # shorter paddles when harder
    for x in (PADDLE_GAP + paddle_size[0] / 2, w - PADDLE_GAP - paddle_size[0] / 2):
        _add_paddle(sb, rng, x, paddle_size, peak_speed=rng.uniform(150, 250) + 30 * difficulty)
    radius = 10.0
    for _ in range(PONG_BALLS[difficulty - 1]):
        pos = sb.random_free_position(rng, {"shape": "circle", "radius": radius}, (200, w - 200), (60, h - 60),
                                      margin=2 * radius)
        if pos is None:  # the centre of an 800 x 600 arena always has room for a handful of balls
            raise RuntimeError("pong: no room for a ball")
        # px/s; energy is conserved, so a ball can end up with several balls' share of it (< 2000 px/s).
        speed = 300 + 60 * difficulty + rng.uniform(-40, 40)
        # Within 45 deg of horizontal, so balls travel between the paddles rather than up and down.
        aim = rng.uniform(-math.pi / 4, math.pi / 4) + rng.choice((0.0, math.pi))
        sb.add_ball(pos, radius, vel=(speed * math.cos(aim), speed * math.sin(aim)), friction=0.0, elasticity=1.0)
    return sb


def _add_paddle(sb: SceneBuilder, rng: random.Random, x: float, size, peak_speed: float) -> None:
    """A heavy non-rotating box on a vertical groove, pulled to mid-height by a zero-length undamped
    spring: it oscillates at up to ``peak_speed`` (px/s), never closer than PADDLE_CLEARANCE to floor/ceiling."""
    h = sb.canvas[1]
    centre = h / 2 + rng.uniform(-20, 20)
    amplitude = rng.uniform(0.6, 1.0) * (h / 2 - 20 - size[1] / 2 - PADDLE_CLEARANCE)
    omega = peak_speed / amplitude  # rad/s
    phase = rng.uniform(0, 2 * math.pi)
    y = centre + amplitude * math.cos(phase)
    paddle = sb.add_box((x, y), size, mass=PADDLE_MASS, vel=(0.0, -amplitude * omega * math.sin(phase)),
                        friction=0.0, elasticity=1.0, fixed_rotation=True)
    sb.groove(WORLD, paddle, (x, 0.0), (x, h), anchor_b=(x, y))
    sb.spring(WORLD, paddle, (x, centre), (x, y), stiffness=PADDLE_MASS * omega ** 2, damping=0.0, rest_length=0.0)


# ----------------------------------------------------------------------------- angry birds

POST = (12.0, 70.0)  # px (width, height) of an upright
LINTEL_H = 12.0  # px thickness of a plank laid across two posts
BAY = 72.0  # px of free space between two posts
PIG_RADIUS = 11.0
BIRD_RADIUS = 13.0
BIRD_MASS = 25.0  # ~2.5x a post: heavy enough to topple the structure
# Per difficulty 1..5: bays per storey, bottom up (each storey sits on the one below), and birds.
BIRD_LEVELS = {
    1: ((1,), 1),
    2: ((2,), 1),
    3: ((2, 1), 2),
    4: ((3, 2), 2),
    5: ((3, 2, 1), 3),
}


@register_scenario("angry_birds", "minigame",
                   "Side view: birds launched on ballistic arcs smash a post-and-lintel structure holding pigs.")
def angry_birds(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.8, elasticity=0.3)
    storeys, n_birds = BIRD_LEVELS[difficulty]
    width = storeys[0] * (BAY + POST[0]) + POST[0]
    left = rng.uniform(760 - width - 80, 760 - width)  # x of the structure's left face
    top = _add_structure(sb, left, storeys)
    for _ in range(n_birds):
        vx = rng.uniform(550, 700) + 60 * difficulty  # px/s: fast enough to hit within ~0.6 s
        _launch_bird(sb, rng, target=(left, rng.uniform(0.3, 0.9) * top), vx=vx)
    return sb


def _add_structure(sb: SceneBuilder, left: float, storeys) -> float:
    """Posts and lintels resting exactly on the floor and on each other; a pig in each bay. Returns the height."""
    pitch = BAY + POST[0]  # px between neighbouring post centres
    base = 0.0  # y of the surface the current storey stands on
    x0 = left + POST[0] / 2  # centre of the storey's first post
    for bays in storeys:
        posts = [x0 + i * pitch for i in range(bays + 1)]
        for x in posts:
            sb.add_box((x, base + POST[1] / 2), POST, friction=0.7, elasticity=0.1)
        lintel_y = base + POST[1] + LINTEL_H / 2
        for i in range(bays):  # planks meet above the inner posts, 0.5 px apart
            a = posts[i] - POST[0] / 2 if i == 0 else posts[i] + 0.25
            b = posts[i + 1] + POST[0] / 2 if i == bays - 1 else posts[i + 1] - 0.25
            sb.add_box(((a + b) / 2, lintel_y), (b - a, LINTEL_H), friction=0.7, elasticity=0.1)
            sb.add_ball(((posts[i] + posts[i + 1]) / 2, base + PIG_RADIUS), PIG_RADIUS, friction=0.6,
                        elasticity=0.3)
        base += POST[1] + LINTEL_H
        x0 += pitch / 2  # the next storey's posts stand mid-plank
    return base


def _launch_bird(sb: SceneBuilder, rng: random.Random, target, vx: float) -> None:
    """A bird on the left flying at horizontal speed ``vx`` (px/s) on a ballistic arc through ``target`` (px)."""
    g = -sb.gravity[1]
    geometry = {"shape": "circle", "radius": BIRD_RADIUS}
    pos = sb.random_free_position(rng, geometry, (40, 200), (40, 300), margin=4.0)
    if pos is None:
        raise RuntimeError("angry_birds: no room to launch a bird")
    t = (target[0] - BIRD_RADIUS - pos[0]) / vx  # s of flight
    vy = (target[1] - pos[1]) / t + 0.5 * g * t
    sb.add_ball(pos, BIRD_RADIUS, mass=BIRD_MASS, vel=(vx, vy), friction=0.6, elasticity=0.4)
