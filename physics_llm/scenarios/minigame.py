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


# ----------------------------------------------------------------------------- basketball

HOOP_BALL_RADIUS = 12.0  # px
RIM_RADIUS = 4.0  # px: the front rim (a static circle) and the bracket holding the back of the ring
HOOP_WIDTH = 60.0  # px between the rim's front and back centres: 52 px clear for a 24 px ball
BACKBOARD = (5.0, 20.0, 120.0)  # px: half-thickness, extent below and above the rim
# Per difficulty 1..5: (balls, horizontal shooting distance range in px from the hoop centre).
BASKETBALL_LEVELS = {
    1: (2, (150, 300)),
    2: (3, (200, 380)),
    3: (4, (250, 450)),
    4: (6, (300, 530)),
    5: (8, (350, 600)),
}


@register_scenario("basketball", "minigame",
                   "Side view: balls shot on ballistic arcs at a hoop (static rim) in front of a backboard.")
def basketball(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.6, elasticity=0.7)
    n_balls, distance = BASKETBALL_LEVELS[difficulty]
    side = rng.choice((-1, 1))  # +1: hoop on the right; the scene is built that way, then mirrored
    mirror = (lambda x: x) if side > 0 else (lambda x: sb.canvas[0] - x)
    board_x, rim_y = rng.uniform(730, 760), rng.uniform(320, 400)
    half, below, above = BACKBOARD
    sb.add_segment((mirror(board_x), rim_y - below), (mirror(board_x), rim_y + above), radius=half, friction=0.5,
                   elasticity=0.6)
    back_x = board_x - half - 12  # px: the ring's back centre, on a bracket from the board
    sb.add_segment((mirror(board_x - half), rim_y), (mirror(back_x), rim_y), radius=RIM_RADIUS, elasticity=0.5)
    sb.add_static_circle((mirror(back_x - HOOP_WIDTH), rim_y), RIM_RADIUS, elasticity=0.5)
    hoop_x = back_x - HOOP_WIDTH / 2
    for _ in range(n_balls):
        for _ in range(200):
            start = (rng.uniform(max(30, hoop_x - distance[1]), hoop_x - distance[0]), rng.uniform(40, 260))
            if sb.ball_fits((mirror(start[0]), start[1]), HOOP_BALL_RADIUS, margin=8.0):
                break
        else:
            raise RuntimeError("basketball: no room for a shooter")
        miss = rng.uniform(-1, 1) * (10 + 5 * difficulty)  # px off the hoop centre
        vx, vy = _shot_velocity(start, (hoop_x + miss, rim_y + 10), apex=rng.uniform(rim_y + 60, 560),
                                g=-sb.gravity[1])
        sb.add_ball((mirror(start[0]), start[1]), HOOP_BALL_RADIUS, vel=(side * vx, vy), friction=0.6,
                    elasticity=0.75)
    return sb


def _shot_velocity(start, target, apex: float, g: float) -> tuple[float, float]:
    """Launch velocity (px/s) of an arc from ``start`` peaking at height ``apex`` that passes through
    ``target`` on its way down."""
    vy = math.sqrt(2 * g * (apex - start[1]))
    t = (vy + math.sqrt(2 * g * (apex - target[1]))) / g  # s: up to the apex, then down to the target
    return (target[0] - start[0]) / t, vy


# ----------------------------------------------------------------------------- breakout

BRICK = (50.0, 18.0)  # px
BRICK_MASS = 40.0  # a ball hitting a brick's end swings it ~0.2 rad
# Columns; px between bricks in a row (wider than a ball: balls slip between columns, rattling them); px
# between row centres (4 px apart: a brick swinging > 0.16 rad knocks its neighbours above and below).
BRICK_COLUMNS, BRICK_GAP, BRICK_ROW_PITCH = 10, 22.0, 22.0
BRICK_WOBBLE_HZ = 3.0  # natural frequency of a brick on its torsion spring
BRICK_DAMPING_RATIO = 0.02  # a struck brick wobbles for the rest of the scene
BAT = (110.0, 14.0)  # px: the paddle at the bottom
BAT_MASS = 50.0
# Per difficulty 1..5: (rows of bricks, balls, ball speed in px/s). At most two rows: every brick is an
# object with two joints, and header + 11 frames must fit 8192 tokens (benchmarks/token_budget.py).
BREAKOUT_LEVELS = {
    1: (1, 1, 380),
    2: (1, 2, 420),
    3: (2, 2, 460),
    4: (2, 3, 500),
    5: (2, 3, 560),
}


@register_scenario("breakout", "minigame",
                   "Top-down breakout (no gravity): elastic balls bounce off a paddle and rows of bricks pinned "
                   "on torsion springs that wobble when struck.")
def breakout(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder(gravity=(0, 0))
    sb.add_walls(friction=0.0, elasticity=1.0)
    rows, n_balls, speed = BREAKOUT_LEVELS[difficulty]
    width = BRICK_COLUMNS * BRICK[0] + (BRICK_COLUMNS - 1) * BRICK_GAP
    left = (sb.canvas[0] - width) / 2 + BRICK[0] / 2 + rng.uniform(-20, 20)  # px: first column's centre
    top = rng.uniform(440, 470)  # px: top row's centre, leaving room above the wall for a ball
    for r in range(rows):
        for c in range(BRICK_COLUMNS):
            _add_brick(sb, (left + c * (BRICK[0] + BRICK_GAP), top - r * BRICK_ROW_PITCH))
    _add_bat(sb, rng, y=30.0, peak_speed=rng.uniform(120, 180) + 20 * difficulty)
    for k in range(n_balls):  # the first ball starts above the wall, bouncing between it and the ceiling
        y_range = (top + 30, 580) if k == 0 else (90, top - rows * BRICK_ROW_PITCH - 20)
        pos = sb.random_free_position(rng, {"shape": "circle", "radius": 9.0}, (40, 760), y_range, margin=20.0)
        if pos is None:
            raise RuntimeError("breakout: no room for a ball")
        aim = rng.uniform(math.radians(30), math.radians(150))  # rad: upwards, not too steep
        sb.add_ball(pos, 9.0, vel=(speed * math.cos(aim), speed * math.sin(aim)), friction=0.0, elasticity=1.0)
    return sb


def _add_brick(sb: SceneBuilder, center) -> None:
    """A brick held at its centre by a pivot and a damped torsion spring to the world."""
    brick = sb.add_box(center, BRICK, mass=BRICK_MASS, friction=0.0, elasticity=1.0)
    moment = BRICK_MASS * (BRICK[0] ** 2 + BRICK[1] ** 2) / 12
    omega = 2 * math.pi * BRICK_WOBBLE_HZ  # rad/s
    sb.pivot(WORLD, brick, center)
    sb.rotary_spring(WORLD, brick, 0.0, stiffness=moment * omega ** 2,
                     damping=2 * BRICK_DAMPING_RATIO * moment * omega)


def _add_bat(sb: SceneBuilder, rng: random.Random, y: float, peak_speed: float) -> None:
    """A heavy non-rotating paddle on a horizontal groove, swinging about mid-width on a zero-length
    undamped spring at up to ``peak_speed`` px/s, never closer than 60 px to a side wall."""
    w = sb.canvas[0]
    amplitude = rng.uniform(0.5, 1.0) * (w / 2 - BAT[0] / 2 - 60)  # px
    omega, phase = peak_speed / amplitude, rng.uniform(0, 2 * math.pi)
    x = w / 2 + amplitude * math.cos(phase)
    bat = sb.add_box((x, y), BAT, mass=BAT_MASS, vel=(-amplitude * omega * math.sin(phase), 0.0), friction=0.0,
                     elasticity=1.0, fixed_rotation=True)
    sb.groove(WORLD, bat, (0.0, y), (w, y), anchor_b=(x, y))
    sb.spring(WORLD, bat, (w / 2, y), (x, y), stiffness=BAT_MASS * omega ** 2, damping=0.0, rest_length=0.0)


# ----------------------------------------------------------------------------- pinball

TABLE_GRAVITY = (0.0, -400.0)  # px/s^2: the share of gravity along a tilted table, seen from above
PINBALL_RADIUS = 15.0  # px: wider than the widest gap between the flipper tips, so no ball drains
FLIPPER = (100.0, 14.0)  # px (length, thickness)
FLIPPER_MASS = 60.0  # ~8x a ball: loaded with balls, flippers still swing
FLIPPER_Y = 120.0  # px: height of the flipper pivots
FLIPPER_DOWN, FLIPPER_UP = -0.45, 0.35  # rad: the left flipper's limits (the right one's are mirrored)
FLIPPER_PERIOD = 0.6  # s: flippers swing between their limits on undamped torsion springs
TIP_GAP = 4.0  # px between the flipper tips when level; 24 px when both are down
GUIDE_ANGLE = math.radians(30)  # inlane guides, from the side walls down to the flipper pivots
# Per difficulty 1..5: (balls, bumpers, launch speed in px/s).
PINBALL_LEVELS = {
    1: (1, 3, 250),
    2: (2, 3, 300),
    3: (3, 4, 350),
    4: (4, 4, 400),
    5: (6, 5, 450),
}


@register_scenario("pinball", "minigame",
                   "Top-down tilted table: balls roll down onto two swinging flippers and bounce off springy "
                   "round bumpers.")
def pinball(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder(gravity=TABLE_GRAVITY)
    sb.add_walls(friction=0.3, elasticity=0.6)
    n_balls, n_bumpers, speed = PINBALL_LEVELS[difficulty]
    w, h = sb.canvas
    for a, b in (((0, h - 110), (110, h)), ((w, h - 110), (w - 110, h))):  # rounded-off top corners
        sb.add_segment(a, b, radius=6.0, friction=0.3, elasticity=0.6)
    for side in (-1, 1):
        _add_flipper(sb, side)
    for _ in range(n_bumpers):  # bumpers at least 2 ball diameters apart, so balls get between them
        r = rng.uniform(18, 28)
        c = sb.random_free_position(rng, {"shape": "circle", "radius": r}, (140, 660), (300, 480),
                                    margin=4 * PINBALL_RADIUS)
        if c is None:
            raise RuntimeError("pinball: no room for a bumper")
        sb.add_static_circle(c, r, friction=0.2, elasticity=1.2)  # x 0.8 for a ball: 0.96, below 1
    for _ in range(n_balls):  # margin: more than two balls close in one frame (1/60 s)
        pos = sb.random_free_position(rng, {"shape": "circle", "radius": PINBALL_RADIUS}, (40, 760), (260, 560),
                                      margin=4 + speed / 30)
        if pos is None:
            raise RuntimeError("pinball: no room for a ball")
        aim = rng.uniform(0, 2 * math.pi)
        sb.add_ball(pos, PINBALL_RADIUS, vel=(speed * math.cos(aim), speed * math.sin(aim)), friction=0.3,
                    elasticity=0.8)
    return sb


def _add_flipper(sb: SceneBuilder, side: int) -> None:
    """Left (``side`` = -1) or right flipper: a plank pivoted at its outer end, swinging between its limits
    on an undamped torsion spring (released at the lower limit, it reaches the upper one), plus the inlane
    guide from the side wall to its pivot."""
    length, thick = FLIPPER
    w = sb.canvas[0]
    pivot = (w / 2 + side * (TIP_GAP / 2 + length), FLIPPER_Y)
    sign = -side  # left flipper: angle as is; right flipper: mirrored
    down, up = sign * FLIPPER_DOWN, sign * FLIPPER_UP
    centre = (pivot[0] - side * length / 2 * math.cos(FLIPPER_DOWN), pivot[1] + length / 2 * math.sin(FLIPPER_DOWN))
    flipper = sb.add_box(centre, FLIPPER, angle=down, mass=FLIPPER_MASS, friction=0.4, elasticity=0.3)
    sb.pivot(WORLD, flipper, pivot)
    sb.rotary_limit(WORLD, flipper, min(down, up), max(down, up))
    moment = FLIPPER_MASS * (length ** 2 + thick ** 2) / 12 + FLIPPER_MASS * (length / 2) ** 2  # about the pivot
    stiffness = moment * (2 * math.pi / FLIPPER_PERIOD) ** 2
    mid = (FLIPPER_DOWN + FLIPPER_UP) / 2
    # Rest angle raised by the sag under the flipper's own weight, so it swings about the mid angle.
    sag = FLIPPER_MASS * -sb.gravity[1] * length / 2 * math.cos(mid) / stiffness
    sb.rotary_spring(WORLD, flipper, sign * (mid + sag), stiffness, damping=0.0)
    # Inlane guide: ends 16 px from the pivot (the flipper's back corners swing 7 px around it).
    end = (pivot[0] + side * 16 * math.cos(GUIDE_ANGLE), pivot[1] + 16 * math.sin(GUIDE_ANGLE))
    wall_x = w if side > 0 else 0.0
    sb.add_segment(end, (wall_x, end[1] + abs(wall_x - end[0]) * math.tan(GUIDE_ANGLE)), radius=6.0, friction=0.3,
                   elasticity=0.5)
