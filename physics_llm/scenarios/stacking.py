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


# --------------------------------------------------------------------------- pyramid


def _aimed_throw(sb: SceneBuilder, rng: random.Random, target, side: int, dist: float, speed: float,
                 mass: float) -> None:
    """A ball thrown from ``dist`` px to the ``side`` (-1 left, +1 right) of ``target`` (x, y px) at ``speed``
    px/s, reaching it at the top of its arc (moving horizontally) when there is room below for that, else
    arriving a little downward; a target lower than the ball's radius gets a ball rolling along the floor."""
    radius = round(rng.uniform(12, 18), 1)
    flight = dist / speed  # s
    ty = max(target[1], radius)
    y0 = max(ty - G * flight * flight / 2, radius + 10) if ty > radius else radius
    vy = (ty - y0) / flight + G * flight / 2 if ty > radius else 0.0
    spin = side * speed / radius if ty == radius else 0.0  # rad/s: rolling without slipping
    sb.add_ball((target[0] + side * dist, y0), radius, mass=mass, vel=(-side * speed, vy), angvel=spin,
                friction=0.5, elasticity=0.3)


@register_scenario("pyramid", "stacking",
                   "Side view: a pyramid of boxes on the floor is hit from the side by a heavy thrown ball.")
def pyramid(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.6, elasticity=0.3)
    # 6, 10, 15, 21, 21 boxes: 7 rows (28 boxes) overflow 8192 tokens with 10 context frames
    rows = (3, 4, 5, 6, 6)[difficulty - 1]
    w, h = round(rng.uniform(30, 44), 1), round(rng.uniform(20, 30), 1)  # px
    gap = round(rng.uniform(2, 6), 1)  # px between neighbours in a row
    pitch = w + gap
    left = rng.uniform(350, 450) - (rows * pitch - gap) / 2  # x of the base's left edge, px
    for row in range(rows):
        for k in range(rows - row):
            sb.add_box((left + w / 2 + (k + row / 2) * pitch, round(row * h + h / 2, 2)), (w, h),
                       friction=0.6, elasticity=0.1)
    side = rng.choice((-1, 1))
    row = rng.randrange(0, (rows + 1) // 2)  # lower half: what stands above it comes down too
    edge = left + row * pitch / 2 + (0 if side == -1 else (rows - row) * pitch - gap)  # outer face of that row
    room = edge - 40 if side == -1 else 760 - edge  # px to the wall, keeping the ball's start clear of it
    dist = min(rng.uniform(120, 200), room)
    speed = 400 + 80 * difficulty + rng.uniform(-30, 30)  # px/s
    mass = 0.5 * DENSITY * w * h * len(sb.objects)  # a "wrecking ball" of half the pyramid's mass
    _aimed_throw(sb, rng, (edge, row * h + h / 2 if row else 0.0), side, dist, speed, mass)
    return sb


# --------------------------------------------------------------------------- dominos


@register_scenario("dominos", "stacking",
                   "Side view: a row of thin upright boxes on the floor; the first is tipped and they fall in a chain.")
def dominos(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.6, elasticity=0.2)
    n = 4 + 3 * difficulty  # 7, 10, 13, 16, 19 dominos
    w, h = round(rng.uniform(8, 12), 1), round(rng.uniform(50, 75), 1)  # px
    jitter = 0.025 * difficulty  # relative spread of heights and spacings: the chain gets less regular
    # px between centres: well under h, so each reaches the next; the longest row fits in x = 30..770 px.
    spacing = min(rng.uniform(0.45, 0.65) * h, (740 - w) / ((n - 1) * (1 + jitter)))
    length = (n - 1) * spacing * (1 + jitter) + w
    start = rng.uniform(30, 770 - length)  # px: left end of the row
    heading = rng.choice((-1, 1))  # +1: the chain runs rightwards
    xs, x = [], start + w / 2
    for _ in range(n):
        xs.append(x)
        x += spacing * (1 + rng.uniform(-jitter, jitter))
    blocks = []
    for x in xs if heading == 1 else xs[::-1]:  # the pushed domino is object 0
        dh = round(h * (1 + rng.uniform(-jitter, jitter)), 1)
        sb.add_box((x, dh / 2), (w, dh), friction=0.5, elasticity=0.1)
        blocks.append((x, dh / 2, w, dh))
    _tip(sb, blocks[:1], factor=rng.uniform(1.5, 2.5), direction=-heading)
    return sb


# --------------------------------------------------------------------------- jenga


def _jenga_layers(rng: random.Random, difficulty: int) -> list[list[int]]:
    """Which slots (0, 1, 2 across the tower) hold a block, per layer from the bottom. Even layers are one
    long block (slot 1 stands for it); odd layers are three short ones, ``difficulty - 1`` of the odd layers
    above the first missing one short block each."""
    n_layers = 3 + 2 * difficulty  # 5 .. 13 layers, long ones at the bottom and top
    layers = [[1] if k % 2 == 0 else [0, 1, 2] for k in range(n_layers)]
    for k in rng.sample(range(3, n_layers, 2), difficulty - 1):
        layers[k].remove(rng.choice((0, 1, 2)))
    return layers


@register_scenario("jenga", "stacking",
                   "Side view: a jenga tower (long and short blocks in turn, some short ones out) is hit or tipped.")
def jenga(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.6, elasticity=0.3)
    length, h = round(rng.uniform(90, 120), 1), round(rng.uniform(14, 18), 1)  # px: long block, layer height
    gap = round(rng.uniform(1, 2), 1)  # px between short blocks
    short = round((length - 2 * gap) / 3, 2)
    base_x = rng.uniform(330, 470)
    blocks = []
    for k, slots in enumerate(_jenga_layers(rng, difficulty)):
        y = round(k * h + h / 2, 2)
        for slot in slots:
            if k % 2 == 0:
                w, x = length, base_x
            else:
                w, x = short, base_x + (slot - 1) * (short + gap)
            sb.add_box((x, y), (w, h), friction=0.6, elasticity=0.1)
            blocks.append((x, y, w, h))
    if rng.random() < 0.5:
        tower_mass = sum(DENSITY * w * h for _, _, w, h in blocks)
        layer_y = blocks[rng.randrange(len(blocks) // 3, len(blocks) - 1)][1]  # upper two thirds, not the top
        side = rng.choice((-1, 1))
        face = base_x + side * length / 2
        speed = 400 + 80 * difficulty + rng.uniform(-30, 30)  # px/s
        # A dense ball, 40 % of the tower's mass, arriving level with the layer it hits.
        _aimed_throw(sb, rng, (face, layer_y), side, rng.uniform(150, 220), speed, 0.4 * tower_mass)
    else:
        _tip(sb, blocks, factor=1.1 + 0.2 * difficulty + rng.uniform(0, 0.2), direction=rng.choice((-1, 1)))
    return sb


# --------------------------------------------------------------------------- bridge

# (boxes per pillar, deck planks, dropped loads) per difficulty: 4, 5, 8, 9, 12 bodies.
BRIDGE_LAYOUT = {1: (1, 1, 1), 2: (1, 2, 1), 3: (2, 2, 2), 4: (2, 3, 2), 5: (3, 3, 3)}
DECK_THICKNESS = 10.0  # px
JOINT_STIFFNESS = 5.0e7  # rotary spring between planks, torque per rad: the bare deck sags ~0.02 rad
JOINT_DAMPING = 1.5e6  # torque per rad/s: about half the critical damping of a plank bending


def _add_pillar(sb: SceneBuilder, x: float, width: float, box_h: float, n: int) -> None:
    """``n`` boxes of ``width`` x ``box_h`` px stacked exactly into a pillar centred at ``x``."""
    for k in range(n):
        sb.add_box((x, round(k * box_h + box_h / 2, 2)), (width, box_h), friction=0.7, elasticity=0.1)


def _add_deck(sb: SceneBuilder, left: float, length: float, y: float, n: int) -> None:
    """``n`` planks end to end from x = ``left`` px, centre line at ``y`` px, each joined to the next by a
    pivot at their shared end plus a stiff damped rotary spring: a deck that bends but holds its shape."""
    plank = length / n
    for k in range(n):
        body = sb.add_box((left + (k + 0.5) * plank, y), (plank, DECK_THICKNESS), friction=0.8, elasticity=0.1)
        if k:
            sb.pivot(body - 1, body, (left + k * plank, y), collide=False)
            sb.rotary_spring(body - 1, body, 0.0, JOINT_STIFFNESS, JOINT_DAMPING)


@register_scenario("bridge", "stacking",
                   "Side view: a deck of jointed planks rests on two pillars of boxes; heavy loads are tossed onto it.")
def bridge(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.7, elasticity=0.3)
    per_pillar, planks, loads = BRIDGE_LAYOUT[difficulty]
    span = rng.uniform(220, 360)  # px between pillar centres
    pillar_w = round(rng.uniform(30, 46), 1)
    box_h = round(rng.uniform(80, 140 + 20 * per_pillar) / per_pillar, 1)  # taller pillars of more boxes
    pillar_h = round(per_pillar * box_h, 1)
    center = rng.uniform(400 - (400 - span / 2 - 60) / 2, 400 + (400 - span / 2 - 60) / 2)
    for x in (center - span / 2, center + span / 2):
        _add_pillar(sb, x, pillar_w, box_h, per_pillar)
    overhang = rng.uniform(5, 25)  # px of deck beyond each pillar's outer face
    length = span + pillar_w + 2 * overhang
    _add_deck(sb, center - length / 2, length, pillar_h + DECK_THICKNESS / 2, planks)
    deck_mass = DENSITY * length * DECK_THICKNESS
    top = pillar_h + DECK_THICKNESS  # px: the deck's upper face
    for k in range(loads):  # staggered drops over the span: the loads land one after another
        mass = deck_mass * rng.uniform(1.0, 2.5)
        x = center + rng.uniform(-0.4, 0.4) * span
        y = top + rng.uniform(60, 120) + 100 * k  # px: the load's lowest point
        toss = rng.choice((-1, 1)) * rng.uniform(40 + 30 * difficulty, 100 + 40 * difficulty)  # px/s
        vel = (toss, 0.0)  # tossed sideways: it slides or rolls on landing and drags the deck
        if k == 0 or rng.random() < 0.5:  # the first is a ball: it rolls along the deck and off an end
            r = round(rng.uniform(12, 20), 1)
            sb.add_ball((x, min(y + r, 595 - r)), r, mass=mass, vel=vel, friction=0.6, elasticity=0.2)
        else:
            side = round(rng.uniform(24, 40), 1)
            sb.add_box((x, min(y + side / 2, 590 - side / 2)), (side, side), angle=rng.uniform(-0.3, 0.3),
                       mass=mass, vel=vel, friction=0.6, elasticity=0.2)
    return sb
