"""Collision scenarios: things hitting things."""

from __future__ import annotations

import math
import random

from physics_llm.scenarios.builder import DENSITY, GRAVITY, SceneBuilder
from physics_llm.scenarios.registry import register_scenario
from physics_llm.simulation import WORLD, simulate

G = -GRAVITY[1]  # px/s^2, downward


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


# --------------------------------------------------------------------------- bowling


def _pin_shape(width: float, height: float) -> tuple[list[list[float]], float, float]:
    """A convex bowling-pin outline: (body-local vertices around the centroid, area px^2,
    height of the centroid above the pin's base px). Narrow base, widest at 30 % of the height, narrow head."""
    outline = [(-0.25 * width, 0.0), (0.25 * width, 0.0), (0.5 * width, 0.3 * height),
               (0.25 * width, height), (-0.25 * width, height), (-0.5 * width, 0.3 * height)]
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(outline, outline[1:] + outline[:1]):  # shoelace centroid
        cross = x0 * y1 - x1 * y0
        area += cross / 2
        cx += (x0 + x1) * cross / 6
        cy += (y0 + y1) * cross / 6
    cx, cy = round(cx / area, 3), round(cy / area, 3)
    return [[x - cx, y - cy] for x, y in outline], area, cy


@register_scenario("bowling", "collision",
                   "Side view: a heavy ball rolls along the floor into a line of standing pins.")
def bowling(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.8, elasticity=0.4)
    pin_w, pin_h = round(rng.uniform(14, 18), 1), round(rng.uniform(44, 56), 1)
    vertices, area, base_to_centroid = _pin_shape(pin_w, pin_h)
    pin_mass = DENSITY * area
    n_pins = 2 + 2 * difficulty  # 4, 6, 8, 10, 12
    # Gaps shorter than a pin, so pins topple onto pins; the rack fits in x = 240..770 px.
    max_gap = min(0.7 * pin_h, (530 - n_pins * pin_w) / (n_pins - 1))
    gaps = [round(rng.uniform(0.25 * pin_h, max_gap), 1) for _ in range(n_pins - 1)]
    rack_len = n_pins * pin_w + sum(gaps)
    x = rng.uniform(240, 770 - rack_len)
    for k in range(n_pins):
        sb.add_poly((x + pin_w / 2, base_to_centroid), vertices, pin_mass, friction=0.8, elasticity=0.5)
        x += pin_w + (gaps[k] if k < n_pins - 1 else 0)
    # Real ball/pin ratios: radius ~0.3 pin height, ~4x the pin's mass. The ball rolls without slipping.
    radius = round(0.3 * pin_h, 1)
    speed = 350 + 100 * difficulty + rng.uniform(-40, 40)  # px/s
    sb.add_ball((rng.uniform(40, 150), radius), radius, mass=4 * pin_mass, vel=(speed, 0), angvel=-speed / radius,
                friction=0.5, elasticity=0.4)
    return sb


# --------------------------------------------------------------------------- projectile


def _launch_angle(dx: float, dy: float, speed: float, high: bool) -> float:
    """Launch angle (rad) that lands a projectile of ``speed`` px/s (at least ``_min_speed``) on a point
    (dx, dy) px away, on the high or the low arc."""
    disc = max(speed ** 4 - G * (G * dx * dx + 2 * dy * speed * speed), 0.0)
    root = math.sqrt(disc) * (1 if high else -1)
    return math.atan2(speed * speed + root, G * dx)


def _min_speed(dx: float, dy: float) -> float:
    """Slowest launch speed (px/s) that reaches a point (dx, dy) px away."""
    return math.sqrt(G * (dy + math.hypot(dx, dy)))


def _add_floor_targets(sb: SceneBuilder, rng: random.Random, n: int, x_range) -> list[tuple[float, float]]:
    """``n`` boxes standing on the floor, one per equal slot of ``x_range``; returns their top centres."""
    slot = (x_range[1] - x_range[0]) / n
    tops = []
    for k in range(n):
        w, h = round(rng.uniform(20, min(44, slot - 12)), 1), round(rng.uniform(30, 90), 1)
        jitter = (slot - w - 8) / 2  # keeps >= 8 px between neighbouring boxes
        x = x_range[0] + (k + 0.5) * slot + rng.uniform(-jitter, jitter)
        sb.add_box((x, h / 2), (w, h), friction=0.6, elasticity=0.3)
        tops.append((x, h))
    return tops


def _closest_approach(p0, v0, p1, v1, horizon: float) -> float:
    """Smallest distance (px) between two projectiles within ``horizon`` s. Both fall under the same
    gravity, so their relative motion is a straight line."""
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    dvx, dvy = v1[0] - v0[0], v1[1] - v0[1]
    dv2 = dvx * dvx + dvy * dvy
    t = 0.0 if dv2 == 0 else min(max(-(dx * dvx + dy * dvy) / dv2, 0.0), horizon)
    return math.hypot(dx + dvx * t, dy + dvy * t)


def _aimed_shot(rng: random.Random, difficulty: int, tops, x_range, y_range):
    """(position, radius, velocity) of a ball launched from the given box at the upper half of a target."""
    radius = round(rng.uniform(8, 14), 1)
    pos = (rng.uniform(*x_range), rng.uniform(y_range[0] + radius, y_range[1] - radius))
    tx, th = rng.choice(tops)
    dx, dy = tx - pos[0], th * rng.uniform(0.5, 1.0) - pos[1]
    speed = max(450 + 100 * difficulty + rng.uniform(-50, 50), 1.05 * _min_speed(dx, dy))  # px/s
    angle = _launch_angle(dx, dy, speed, high=rng.random() < 0.5)
    apex = pos[1] + (speed * math.sin(angle)) ** 2 / (2 * G)  # px
    if apex > 600 - radius - 10:  # the high arc would hit the ceiling: take the low one
        angle = _launch_angle(dx, dy, speed, high=False)
    return pos, radius, (speed * math.cos(angle), speed * math.sin(angle))


@register_scenario("projectile", "collision",
                   "Side view: balls launched from the left fly ballistic arcs at boxes standing on the floor.")
def projectile(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.5, elasticity=0.6)
    tops = _add_floor_targets(sb, rng, difficulty + 1, (360, 770))
    n_balls = difficulty
    slot = 260 / n_balls  # launch heights: one equal slot of y in [40, 300] px per ball
    shots = []
    for k in range(n_balls):
        y_range = (40 + k * slot, 40 + (k + 1) * slot)
        for _ in range(20):  # redraw shots whose paths cross another's in the first 0.2 s (kept if none is found)
            pos, radius, vel = _aimed_shot(rng, difficulty, tops, (40, 150), y_range)
            if all(_closest_approach(pos, vel, p, v, 0.2) > radius + r + 2 for p, r, v in shots):
                break
        shots.append((pos, radius, vel))
        mass = 3 * DENSITY * math.pi * radius ** 2  # three times the default density: heavy enough to topple boxes
        sb.add_ball(pos, radius, mass=mass, vel=vel, friction=0.4, elasticity=0.6)
    return sb


# --------------------------------------------------------------------------- explosion


def _spot_in_disk(sb: SceneBuilder, rng: random.Random, geometry: dict, center, radius: float, angle=0.0):
    """A free position for ``geometry`` drawn uniformly in the disk of ``radius`` px around ``center``; the
    disk grows by 10 % after every 100 failed draws, so a spot is always found."""
    for attempt in range(1000):
        r = radius * (1 + 0.1 * (attempt // 100)) * math.sqrt(rng.random())
        a = rng.uniform(0, 2 * math.pi)
        p = (center[0] + r * math.cos(a), center[1] + r * math.sin(a))
        if sb.fits(geometry, p, angle, margin=1.0):
            return p
    raise RuntimeError("no free spot near the blast centre")


@register_scenario("explosion", "collision",
                   "Balls and boxes burst outward from a point (zero or normal gravity), off walls and each other.")
def explosion(rng: random.Random, difficulty: int) -> SceneBuilder:
    zero_g = rng.random() < 0.5  # half the scenes float in space, half fall under gravity
    sb = SceneBuilder(gravity=(0, 0) if zero_g else GRAVITY)
    sb.add_walls(friction=0.4, elasticity=0.8)
    n = (8, 12, 16, 19, 22)[difficulty - 1]  # bodies: capped so header + 11 frames fit 8192 tokens
    blast = 40 + 10 * difficulty  # px: radius of the cluster at t = 0
    center = (rng.uniform(300, 500), rng.uniform(250, 350))
    edge_speed = 400 + 80 * difficulty  # px/s at the cluster's rim: speed grows linearly with distance
    box_share = 0.1 * (difficulty - 1)  # 0 .. 40 % boxes
    for _ in range(n):
        angle = 0.0
        if rng.random() < box_share:
            angle = rng.uniform(0, math.pi)
            geometry = {"shape": "box", "size": [round(rng.uniform(10, 24), 1), round(rng.uniform(10, 24), 1)]}
        else:
            geometry = {"shape": "circle", "radius": round(rng.uniform(6, 13), 1)}
        x, y = _spot_in_disk(sb, rng, geometry, center, blast, angle)
        dx, dy = x - center[0], y - center[1]
        vel = (edge_speed * dx / blast + rng.uniform(-40, 40), edge_speed * dy / blast + rng.uniform(-40, 40))
        spin = rng.uniform(-6, 6)  # rad/s
        if geometry["shape"] == "box":
            sb.add_box((x, y), geometry["size"], angle=angle, vel=vel, angvel=spin, friction=0.4, elasticity=0.6)
        else:
            sb.add_ball((x, y), geometry["radius"], vel=vel, angvel=spin, friction=0.4, elasticity=0.8)
    return sb


# --------------------------------------------------------------------------- head-on


def _lattice(n: int, spacing: float, hexagonal: bool) -> list[tuple[float, float]]:
    """The ``n`` points of a hexagonal or square lattice (``spacing`` px) nearest its origin: a round clump."""
    pts = []
    for j in range(-6, 7):
        for i in range(-6, 7):
            if hexagonal:
                pts.append(((i + j / 2) * spacing, j * spacing * math.sqrt(3) / 2))
            else:
                pts.append((i * spacing, j * spacing))
    pts.sort(key=lambda p: (round(math.hypot(*p), 6), p))
    return pts[:n]


def _add_group(sb: SceneBuilder, rng: random.Random, n: int, center, heading: float, speed: float) -> None:
    """A clump of ``n`` equal balls (hexagonal packing) or boxes (square packing), 1..3 px apart, all moving
    at ``speed`` px/s in direction ``heading`` rad; the clump's lattice is turned to face its heading."""
    balls = rng.random() < 0.6
    size = round(rng.uniform(9, 15), 1)  # px: ball radius or box half-side
    gap = rng.uniform(1, 3)
    c, s = math.cos(heading), math.sin(heading)
    vel = (speed * c, speed * s)
    density = DENSITY * rng.choice((1, 2, 3))  # groups differ in mass as well as in shape
    for x, y in _lattice(n, 2 * size + gap, hexagonal=balls):
        pos = (center[0] + x * c - y * s, center[1] + x * s + y * c)
        if balls:
            sb.add_ball(pos, size, mass=density * math.pi * size ** 2, vel=vel, friction=0.3, elasticity=0.8)
        else:
            sb.add_box(pos, (2 * size, 2 * size), angle=heading, mass=density * 4 * size ** 2, vel=vel,
                       friction=0.3, elasticity=0.5)


@register_scenario("head_on", "collision",
                   "Top-down (no gravity, light drag): two packed groups of balls or boxes fly into each other.")
def head_on(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder(gravity=(0, 0), damping=0.9)  # damping: share of velocity kept per second (sliding drag)
    sb.add_walls(friction=0.3, elasticity=0.8)
    per_group = 1 + 2 * difficulty  # 3, 5, 7, 9, 11 bodies in each group
    axis = rng.uniform(-0.5, 0.5)  # rad: the line the groups approach along
    center = (rng.uniform(370, 430), rng.uniform(270, 330))
    half_gap = rng.uniform(190, 230)  # px from the centre to each group
    miss = rng.uniform(-1, 1) * 10 * difficulty  # px: sideways offset of the right group (glancing blows)
    c, s = math.cos(axis), math.sin(axis)
    for side in (-1, 1):
        offset = miss if side == 1 else 0.0
        group_center = (center[0] + side * half_gap * c - offset * s, center[1] + side * half_gap * s + offset * c)
        speed = 200 + 60 * difficulty + rng.uniform(-30, 30)  # px/s
        _add_group(sb, rng, per_group, group_center, axis if side == -1 else axis + math.pi, speed)
    return sb


# --------------------------------------------------------------------------- elastic collision

MAX_MASS_RATIO = 10.0  # heaviest : lightest ball of a scene, at most
SPEED_BOUND = 1500.0  # px/s: speeds are scaled so that no ball could exceed this even holding all the energy


def _bound_speeds(masses: list[float], velocities: list[tuple]) -> list[tuple]:
    """Scale velocities so that sqrt(2 E / m_min) <= SPEED_BOUND: energy is conserved, so no ball can ever
    move faster than that, however the collisions share the energy out."""
    energy2 = sum(m * (vx * vx + vy * vy) for m, (vx, vy) in zip(masses, velocities))  # 2 E
    k = min(1.0, SPEED_BOUND / math.sqrt(energy2 / min(masses)))
    return [(vx * k, vy * k) for vx, vy in velocities]


def _mass_factors(rng: random.Random, n: int) -> list[float]:
    """Masses relative to the lightest possible ball, log-uniform in [1, MAX_MASS_RATIO]."""
    return [MAX_MASS_RATIO ** rng.random() for _ in range(n)]


def _on_a_line(rng: random.Random, radii: list[float], speed: float) -> tuple[list, list]:
    """1D: balls spread along a horizontal line with random gaps; neighbours (0, 1), (2, 3) ... move towards
    each other. Returns positions and velocities."""
    y = rng.uniform(150, 450)
    weights = [rng.uniform(0.3, 1.0) for _ in range(len(radii) + 1)]
    free = 800 - 2 * sum(radii) - 4  # px of gaps, walls included (2 px margin at each wall)
    x = 2.0
    positions, velocities = [], []
    for k, r in enumerate(radii):
        x += free * weights[k] / sum(weights) + r
        positions.append((x, y))
        velocities.append(((1 if k % 2 == 0 else -1) * speed * rng.uniform(0.7, 1.3), 0.0))
        x += r
    return positions, velocities


def _in_the_plane(rng: random.Random, radii: list[float], speed: float) -> tuple[list, list]:
    """2D: balls scattered over the table, at least 20 px apart (no contact in the first frame); pairs (0, 1),
    (2, 3) ... aim at each other with a sideways offset (an odd last ball aims at the first), so first
    collisions come early and most are glancing. Returns positions and velocities."""
    positions = []
    for r in radii:
        for _ in range(500):  # <= 6 balls of radius <= 32 px on the table: a spot is always found
            p = (rng.uniform(r + 3, 797 - r), rng.uniform(r + 3, 597 - r))
            if all(math.dist(p, q) > r + rq + 20 for q, rq in zip(positions, radii)):
                break
        positions.append(p)
    velocities = []
    for k, (x, y) in enumerate(positions):
        partner = (k + 1 if k % 2 == 0 else k - 1) % len(radii)
        px, py = positions[partner]
        d = math.hypot(px - x, py - y)
        miss = rng.uniform(-0.7, 0.7) * (radii[k] + radii[partner])  # px, perpendicular to the line of centres
        tx, ty = px - miss * (py - y) / d, py + miss * (px - x) / d
        v = speed * rng.uniform(0.7, 1.3) / math.hypot(tx - x, ty - y)
        velocities.append((v * (tx - x), v * (ty - y)))
    return positions, velocities


@register_scenario("elastic_collision", "collision",
                   "Top-down, elastic, frictionless: balls of mass ratios up to 1:10 collide on a line or in a plane.")
def elastic_collision(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder(gravity=(0, 0))  # no drag either: kinetic energy and momentum are conserved
    sb.add_walls(friction=0.0, elasticity=1.0)
    n = difficulty + 1  # 2 .. 6 balls
    # Same density for every ball, so the radius shows the mass: radius = base * sqrt(mass factor).
    base = round(rng.uniform(8, 10), 1)  # px: radius of a ball of mass factor 1 (heaviest up to ~32 px)
    radii = [round(base * math.sqrt(f), 1) for f in _mass_factors(rng, n)]
    speed = 150 + 30 * difficulty  # px/s, typical
    if rng.random() < 0.5:
        positions, velocities = _on_a_line(rng, radii, speed)
    else:
        positions, velocities = _in_the_plane(rng, radii, speed)
    masses = [DENSITY * math.pi * r * r for r in radii]
    for p, r, v in zip(positions, radii, _bound_speeds(masses, velocities)):
        sb.add_ball(p, r, vel=v, friction=0.0, elasticity=1.0)
    return sb


# --------------------------------------------------------------------------- catapult

PLANK_THICKNESS = 10.0  # px
LIP = (8.0, 14.0)  # px: the stop welded across the end of the throwing arm that holds the ball


def _turned(origin, angle: float, local) -> tuple[float, float]:
    """World point of ``local`` (px) in a frame at ``origin`` turned by ``angle`` rad."""
    c, s = math.cos(angle), math.sin(angle)
    return origin[0] + local[0] * c - local[1] * s, origin[1] + local[0] * s + local[1] * c


def _add_lever(sb: SceneBuilder, rng: random.Random) -> tuple[tuple, float, float, int]:
    """A plank pivoting on the world: a long throwing arm to the left, a short arm to the right. It rests
    tilted left-end-down on a rotary limit (3 px above the floor) and is stopped by another limit after
    turning clockwise past horizontal, which releases the ball. Returns (pivot, rest angle rad, short-arm
    length px, ball id)."""
    long_arm, short_arm = rng.uniform(130, 170), rng.uniform(55, 75)  # px
    rest = rng.uniform(0.3, 0.4)  # rad, counter-clockwise: the throwing arm down
    stop = rng.uniform(0.5, 0.8)  # rad past horizontal: the ball leaves at 90 deg - stop elevation
    pivot = (rng.uniform(190, 240), long_arm * math.sin(rest) + PLANK_THICKNESS / 2 * math.cos(rest) + 3)
    center = _turned(pivot, rest, ((short_arm - long_arm) / 2, 0))
    plank = sb.add_box(center, (long_arm + short_arm, PLANK_THICKNESS), angle=rest, friction=0.8, elasticity=0.1)
    sb.pivot(WORLD, plank, pivot)
    sb.rotary_limit(WORLD, plank, -stop, rest)
    lip_center = _turned(pivot, rest, (-long_arm + LIP[0] / 2, (PLANK_THICKNESS + LIP[1]) / 2))
    lip = sb.add_box(lip_center, LIP, angle=rest, friction=0.8, elasticity=0.1)
    sb.pivot(plank, lip, lip_center, collide=False)  # pivot + zero rotary limit = welded
    sb.rotary_limit(plank, lip, 0.0, 0.0)
    radius = round(rng.uniform(10, 14), 1)
    ball_center = _turned(pivot, rest, (-long_arm + LIP[0] + radius, PLANK_THICKNESS / 2 + radius))
    # A stone: three times the default density, heavy enough to knock boxes over.
    ball = sb.add_ball(ball_center, radius, mass=3 * DENSITY * math.pi * radius ** 2, friction=0.8, elasticity=0.3)
    return pivot, rest, short_arm, ball


def _landing_x(sb: SceneBuilder, ball: int, height: float) -> float | None:
    """Where (x px) the ball, flung by the scene built so far, comes down through ``height`` px: the scene
    is simulated for 2.5 s (the target is not built yet, so nothing is in the way). None if it never does."""
    spec = sb.to_spec("catapult", "collision", 1)
    states = simulate({**spec, "num_frames": 150})
    xs, ys = states[:, ball, 0], states[:, ball, 1] - sb.objects[ball]["radius"]
    apex = int(ys.argmax())
    below = [f for f in range(apex, len(ys)) if ys[f] <= height]
    return float(xs[below[0]]) if below and ys[apex] > height + 20 else None


def _add_columns(sb: SceneBuilder, n: int, left: float, sizes) -> None:
    """``n`` boxes stacked exactly in columns of up to 3, side by side 2 px apart, from x = ``left`` px."""
    x = left
    for col in range(0, n, 3):
        y = 0.0
        w = max(sizes[k][0] for k in range(col, min(col + 3, n)))
        for k in range(col, min(col + 3, n)):
            bw, bh = sizes[k]
            sb.add_box((x + w / 2, y + bh / 2), (bw, bh), friction=0.6, elasticity=0.2)
            y = round(y + bh, 1)
        x += w + 2


@register_scenario("catapult", "collision",
                   "Side view: a weight dropped on a lever's short arm flings a ball off its long arm at a box stack.")
def catapult(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.7, elasticity=0.3)
    pivot, rest, short_arm, ball = _add_lever(sb, rng)
    side = round(rng.uniform(30, 40), 1)  # px: the dropped weight, 5.5 .. 9.5 times denser than the plank
    mass = DENSITY * side * side * (5 + 0.5 * difficulty + rng.uniform(0, 2))
    drop = rng.uniform(80, 180)  # px of free fall onto the short arm
    end = _turned(pivot, rest, (short_arm - side / 2 - 2, PLANK_THICKNESS / 2))
    sb.add_box((end[0], end[1] + drop + side / 2), (side, side), mass=mass, friction=0.8, elasticity=0.1)
    n = 1 + difficulty  # 2 .. 6 target boxes
    sizes = [(round(rng.uniform(16, 24), 1), round(rng.uniform(30, 44), 1)) for _ in range(n)]  # tall: they topple
    width = sum(max(w for w, _ in sizes[c:c + 3]) + 2 for c in range(0, n, 3))
    top = max(sum(h for _, h in sizes[c:c + 3]) for c in range(0, n, 3))
    # Aim: the ball comes down through 50..90 % of the stack's height near the stack's left face.
    landing = _landing_x(sb, ball, rng.uniform(0.5, 0.9) * top)
    left = (landing if landing is not None else 500.0) + rng.uniform(-10, 10)
    _add_columns(sb, n, min(max(left, pivot[0] + short_arm + 100), 795 - width), sizes)
    return sb
