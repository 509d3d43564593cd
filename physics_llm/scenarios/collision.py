"""Collision scenarios: things hitting things."""

from __future__ import annotations

import math
import random

from physics_llm.scenarios.builder import DENSITY, GRAVITY, SceneBuilder
from physics_llm.scenarios.registry import register_scenario

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
