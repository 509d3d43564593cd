"""ramps scenarios."""

from __future__ import annotations

import math
import random

from physics_llm.scenarios.builder import DENSITY, GRAVITY, SceneBuilder
from physics_llm.scenarios.registry import register_scenario
from physics_llm.simulation import WORLD

G = -GRAVITY[1]  # px/s^2, downward
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


def _slope_frame(a, b) -> tuple[float, float, float, float, float]:
    """Unit direction (ux, uy) from ``a`` to ``b``, upward unit normal (nx, ny) and the tilt (rad) a box
    resting on the segment takes."""
    length = math.dist(a, b)
    ux, uy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
    nx, ny = (-uy, ux) if ux > 0 else (uy, -ux)
    return ux, uy, nx, ny, math.atan2(ny, nx) - math.pi / 2


def _add_rider(sb: SceneBuilder, rng: random.Random, kind: str, a, b, s: float, **material) -> bool:
    """A ball (radius 8..12 px) or box (side 16..22 px) at rest 1 px above the segment a-b (radius
    RAMP_RADIUS) at ``s`` px from ``a``, if it fits there."""
    ux, uy, nx, ny, tilt = _slope_frame(a, b)
    half = rng.uniform(8, 12) if kind == "ball" else rng.uniform(8, 11)
    lift = half + RAMP_RADIUS + 1.0
    pos = (a[0] + ux * s + nx * lift, a[1] + uy * s + ny * lift)
    geometry = {"shape": "circle", "radius": half} if kind == "ball" else {"shape": "box", "size": [2 * half] * 2}
    if not sb.fits(geometry, pos, tilt, margin=0.5):
        return False
    if kind == "ball":
        sb.add_ball(pos, half, **material)
    else:
        sb.add_box(pos, (2 * half, 2 * half), angle=tilt, **material)
    return True


# --------------------------------------------------------------------------- ski jump

# Per difficulty: (riders, target boxes on the floor, in-run height above its lowest point px, lip angle deg).
# Heights are modest: a rider leaves the lip at 400..600 px/s and lands on the hill, not beyond it.
SKI_LEVELS = {1: (2, 0, 150, 12), 2: (3, 0, 170, 15), 3: (3, 2, 190, 18), 4: (4, 3, 210, 21), 5: (5, 4, 230, 24)}
SKI_ARC_SEGMENTS = 7  # straight pieces approximating the curved transition
RIDER_ROOM = 40.0  # px of straight in-run per rider (riders are <= 24 px, spaced 28..40 px)
TARGET_PITCH = 30.0  # px between target stacks (boxes are at most 24 px wide)


@register_scenario("ski_jump", "ramps",
                   "Side view: balls and boxes slide down a curved in-run, fly off its upturned lip and land "
                   "on a slope.")
def ski_jump(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.5, elasticity=0.4)
    n_riders, n_targets, height, lip_deg = SKI_LEVELS[difficulty]
    alpha = math.radians(rng.uniform(40, 50))  # steepness of the straight in-run
    beta = math.radians(lip_deg + rng.uniform(-3, 3))  # lip turned up by this much
    radius = rng.uniform(130, 170)  # px, radius of the curved transition
    bottom = rng.uniform(250, 290)  # px, lowest point of the in-run: high, to leave a long landing hill
    # Tall enough for the riders to fit on the straight part, with 40 px to spare.
    top = bottom + max(height + rng.uniform(-10, 10),
                       radius * (1 - math.cos(alpha)) + (RIDER_ROOM * n_riders + 40) * math.sin(alpha))
    # Built from the top: straight part from the left wall, then the arc, its tangent turning -alpha..+beta.
    start = (0.0, top)
    drop = top - bottom - radius * (1 - math.cos(alpha))
    p = (drop / math.tan(alpha), top - drop)
    centre = (p[0] + radius * math.sin(alpha), p[1] + radius * math.cos(alpha))
    arc = [(centre[0] + radius * math.sin(phi), centre[1] - radius * math.cos(phi))
           for phi in (-alpha + (alpha + beta) * k / SKI_ARC_SEGMENTS for k in range(SKI_ARC_SEGMENTS + 1))]
    track = [start] + arc
    for a, b in zip(track, track[1:]):
        sb.add_segment(a, b, radius=RAMP_RADIUS, friction=0.4, elasticity=0.1)
    lip = track[-1]
    # Landing hill: from under the lip down to the floor at 25..32 degrees, steeper if the targets need room.
    hill_top = (lip[0] - 10, lip[1] - 60)
    room = 800 - TARGET_PITCH * ((n_targets + 1) // 2) - 20  # px: the hill ends left of this
    hill_end = (min(hill_top[0] + hill_top[1] / math.tan(math.radians(rng.uniform(25, 32))), room), RAMP_RADIUS)
    sb.add_segment(hill_top, hill_end, radius=RAMP_RADIUS, friction=0.4, elasticity=0.2)
    s = rng.uniform(20, 40)  # px along the straight in-run
    for _ in range(n_riders):
        kind = rng.choice(("ball", "box"))
        material = dict(friction=0.5, elasticity=0.3) if kind == "ball" else dict(friction=0.3, elasticity=0.2)
        while not _add_rider(sb, rng, kind, start, p, s, **material):
            s += 4
        s += rng.uniform(28, 40)
    _target_stacks(sb, rng, n_targets)
    return sb


def _target_stacks(sb: SceneBuilder, rng: random.Random, n: int) -> None:
    """``n`` boxes (16..24 px) in stacks of two resting on the floor, TARGET_PITCH px apart, the last
    stack 10 px from the right wall."""
    columns = (n + 1) // 2
    for k in range(n):
        if k % 2 == 0:  # a new stack: draw its box size; the box on top repeats it
            side = round(rng.uniform(16, 24), 1)
        x = 790 - (columns - k // 2 - 0.5) * TARGET_PITCH
        sb.add_box((x, side / 2 + (k % 2) * side), (side, side), friction=0.5, elasticity=0.2)


# --------------------------------------------------------------------------- funnel

# Per difficulty: (objects poured, funnel opening in units of the largest object's size).
FUNNEL_LEVELS = {1: (6, 3.2), 2: (10, 2.9), 3: (15, 2.6), 4: (19, 2.4), 5: (20, 2.2)}
FUNNEL_WALL = 6.0  # px, half-thickness of the funnel walls


def _random_piece(rng: random.Random, kinds: tuple[str, ...]) -> tuple[str, dict, float]:
    """A ball (radius 7..11 px), box (12..20 px) or triangle (side 16..24 px): (kind, geometry, half-size)."""
    kind = rng.choice(kinds)
    if kind == "ball":
        r = rng.uniform(7, 11)
        return kind, {"shape": "circle", "radius": r}, r
    if kind == "box":
        w, h = rng.uniform(12, 20), rng.uniform(12, 20)
        return kind, {"shape": "box", "size": [w, h]}, math.hypot(w, h) / 2
    side = rng.uniform(16, 24)  # equilateral triangle around its centroid
    r = side / math.sqrt(3)
    vertices = [[r * math.cos(a), r * math.sin(a)] for a in (math.pi / 2, math.pi * 7 / 6, math.pi * 11 / 6)]
    return kind, {"shape": "poly", "vertices": vertices}, r


def _add_piece(sb: SceneBuilder, kind: str, geometry: dict, pos, angle: float, **material) -> int:
    if kind == "ball":
        return sb.add_ball(pos, geometry["radius"], **material)
    if kind == "box":
        return sb.add_box(pos, geometry["size"], angle=angle, **material)
    r = math.hypot(*geometry["vertices"][0])  # circumradius of the equilateral triangle
    area = 3 * math.sqrt(3) / 4 * r * r
    return sb.add_poly(pos, geometry["vertices"], mass=DENSITY * area, angle=angle, **material)


@register_scenario("funnel", "ramps",
                   "Side view: balls, boxes and triangles poured into a V-shaped funnel fall through its opening.")
def funnel(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.5, elasticity=0.3)
    n_pieces, opening_ratio = FUNNEL_LEVELS[difficulty]
    kinds = ("ball", "box") if difficulty < 3 else ("ball", "box", "triangle")
    pieces = [_random_piece(rng, kinds) for _ in range(n_pieces)]
    opening = opening_ratio * 2 * max(half for _, _, half in pieces)  # px between the walls' surfaces
    cx = rng.uniform(360, 440)
    neck, top = rng.uniform(200, 250), rng.uniform(400, 440)  # px, heights of the opening and the rim
    rim = rng.uniform(230, 300)  # px, half-width of the funnel at its rim
    for side in (-1, 1):
        low = (cx + side * (opening / 2 + FUNNEL_WALL), neck)
        sb.add_segment(low, (cx + side * rim, top), radius=FUNNEL_WALL, friction=0.3, elasticity=0.2)
        sb.add_segment(low, (low[0], neck - 30), radius=FUNNEL_WALL, friction=0.3, elasticity=0.2)  # spout
    if difficulty >= 3:  # a splitter peg under the spout scatters the stream
        sb.add_static_circle((cx + rng.uniform(-8, 8), neck - 30 - rng.uniform(60, 90)), rng.uniform(10, 16),
                             friction=0.3, elasticity=0.4)
    for kind, geometry, half in pieces:
        angle = rng.uniform(0, 2 * math.pi)
        pos = sb.random_free_position(rng, geometry, (cx - rim + half, cx + rim - half), (top + half + 2, 598 - half),
                                      angle, margin=2.0)
        if pos is None:
            raise RuntimeError("funnel: no room above the funnel")
        _add_piece(sb, kind, geometry, pos, angle, friction=0.4, elasticity=0.3)
    return sb


# --------------------------------------------------------------------------- plinko

PLINKO_LEVELS = {1: (3, 5), 2: (5, 6), 3: (8, 7), 4: (11, 8), 5: (12, 9)}  # per difficulty: (balls, peg rows)
PEG_RADIUS = 6.0  # px
BIN_HEIGHT = 70.0  # px, height of the dividers between the bins on the floor


@register_scenario("plinko", "ramps",
                   "Side view: balls dropped onto a board of staggered pegs bounce down into bins on the floor.")
def plinko(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.4, elasticity=0.5)
    n_balls, rows = PLINKO_LEVELS[difficulty]
    pitch_x = rng.uniform(54, 66)  # px between pegs in a row (ball diameters stay <= 22 px)
    pitch_y = rng.uniform(38, 44)  # px between rows
    lowest = BIN_HEIGHT + rng.uniform(50, 70)  # px, height of the bottom row
    x0 = rng.uniform(0, pitch_x)
    for row in range(rows):
        shift = x0 + (pitch_x / 2 if row % 2 else 0.0)
        for k in range(int(800 / pitch_x) + 1):
            x = shift + k * pitch_x
            if 25 <= x <= 775:  # keep a ball-sized gap to the side walls
                sb.add_static_circle((x, lowest + row * pitch_y), PEG_RADIUS, friction=0.3, elasticity=0.5)
    n_bins = round(800 / pitch_x)
    for k in range(1, n_bins):  # dividers between the bins on the floor
        x = k * 800 / n_bins
        sb.add_segment((x, 0.0), (x, BIN_HEIGHT), radius=4.0, friction=0.3, elasticity=0.4)
    top_row = lowest + (rows - 1) * pitch_y
    for _ in range(n_balls):
        r = rng.uniform(7, 11)
        pos = sb.random_free_position(rng, {"shape": "circle", "radius": r}, (40, 760), (top_row + 25, 590 - r),
                                      margin=2.0)
        if pos is None:
            raise RuntimeError("plinko: no room above the pegs")
        sb.add_ball(pos, r, vel=(rng.uniform(-40, 40), 0.0), friction=0.3, elasticity=0.6)
    return sb


# --------------------------------------------------------------------------- marble run

MARBLE_LEVELS = {1: (3, 3), 2: (3, 5), 3: (4, 7), 4: (4, 10), 5: (5, 13)}  # per difficulty: (ramps, marbles)
MARBLE_CLEARANCE = 38.0  # px (centre lines) from a ramp's lower end down to the ramp beneath it
MARBLE_TOP = 530.0  # px: height of the top ramp's upper end
MAX_MARBLE_SLOPE = math.tan(math.radians(12))


def _marble_ramps(n: int, gap: float) -> list[tuple[tuple, tuple]]:
    """``n`` ramps (upper end, lower end) alternately descending right and left, each from a side wall to
    ``gap`` px short of the opposite wall. The lower end of each hangs MARBLE_CLEARANCE px above the ramp
    beneath (whose upper end is at that wall); the bottom ramp's lower end is MARBLE_CLEARANCE px above
    the floor. The slope is the steepest (<= 12 deg) that fits under MARBLE_TOP."""
    span = 800.0 - gap  # px, horizontal extent of a ramp
    slope = min(MAX_MARBLE_SLOPE, (MARBLE_TOP - n * MARBLE_CLEARANCE) / (n * span - (n - 1) * gap))
    ramps = []
    y_low = MARBLE_CLEARANCE
    for k in reversed(range(n)):  # built bottom-up
        right = k % 2 == 0  # ramp 0 (the top one) descends to the right
        x_high, x_low = (0.0, span) if right else (800.0, gap)
        ramps.append(((x_high, y_low + slope * span), (x_low, y_low)))
        y_low += slope * (span - gap) + MARBLE_CLEARANCE  # the ramp above ends over this one, gap px from its top
    return ramps[::-1]


@register_scenario("marble_run", "ramps",
                   "Side view: marbles roll down a zigzag of wall-to-wall ramps, dropping through the gap at each "
                   "ramp's end to the level below.")
def marble_run(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.6, elasticity=0.4)
    n_ramps, n_marbles = MARBLE_LEVELS[difficulty]
    ramps = _marble_ramps(n_ramps, gap=rng.uniform(90, 140))
    for a, b in ramps:
        sb.add_segment(a, b, radius=RAMP_RADIUS, friction=0.6, elasticity=0.2)
    for k in range(n_marbles):
        a, b = ramps[k % n_ramps]
        length = math.dist(a, b)
        ux, uy, nx, ny, _ = _slope_frame(a, b)
        r = rng.uniform(6, 9)
        push = rng.uniform(0, 30 * difficulty)  # px/s down the slope
        lift = r + RAMP_RADIUS + 1.0  # px from the ramp's centre line: 1 px above its surface
        for _ in range(100):
            s = rng.uniform(0.05, 0.9) * length
            pos = (a[0] + ux * s + nx * lift, a[1] + uy * s + ny * lift)
            if sb.ball_fits(pos, r, margin=0.5):
                break
        else:
            raise RuntimeError("marble_run: no room on the ramp")
        # Rolling without slipping: angular velocity -v/r for motion to the right (clockwise).
        sb.add_ball(pos, r, vel=(push * ux, push * uy), angvel=-push * math.copysign(1, ux) / r,
                    friction=0.6, elasticity=0.3)
    return sb


# --------------------------------------------------------------------------- trampoline

TRAMPOLINE_LEVELS = {1: (8, 2), 2: (8, 3), 3: (10, 4), 4: (10, 6), 5: (12, 8)}  # per difficulty: (mat links, loads)
MAT_THICKNESS = 10.0  # px
MAT_GAP = 2.0  # px between neighbouring links, and between the end links and the frame posts
POST_WIDTH = 16.0  # px, the frame posts at both ends of the mat
MAT_DENSITY = 0.003  # mass per px^2 of a link: light, so a landing load keeps most of its speed
# Spring constants: lighter links or stiffer springs bounce loads higher, but a deep-pressed link then
# snaps back at > 1500 px/s; these keep every link below ~1000 px/s.
SUPPORT_STIFFNESS = 250.0  # spring from the floor to each link, preloaded to carry the link's weight
SHEAR_STIFFNESS = 300.0  # springs across each gap: a link pressed down drags its neighbours along
MAT_DAMPING = 0.3  # on every mat spring


@register_scenario("trampoline", "ramps",
                   "Side view: balls and boxes dropped onto a sprung mat (links on vertical guides, tied to each "
                   "other and to the frame by springs) bounce off it.")
def trampoline(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.5, elasticity=0.5)
    n_links, n_loads = TRAMPOLINE_LEVELS[difficulty]
    pitch = round(rng.uniform(30, 42), 1)  # px from one link's centre to the next
    left = rng.uniform(40, 760 - n_links * pitch)  # px, x of the mat's left end
    height = rng.uniform(150, 200)  # px, top of the mat
    y = height - MAT_THICKNESS / 2
    right = left + n_links * pitch
    for x in (left - MAT_GAP / 2 - POST_WIDTH / 2, right + MAT_GAP / 2 + POST_WIDTH / 2):  # posts, 20 px above
        sb.add_static_box((x, (height + 20) / 2), (POST_WIDTH, height + 20), friction=0.5, elasticity=0.3)
    prev_edge = (WORLD, (left - MAT_GAP / 2, y))
    for k in range(n_links):
        x = left + (k + 0.5) * pitch
        size = (pitch - MAT_GAP, MAT_THICKNESS)
        link = sb.add_box((x, y), size, mass=MAT_DENSITY * size[0] * size[1], friction=0.6, elasticity=0.5,
                          fixed_rotation=True, group=1)
        sb.groove(WORLD, link, (x, 30.0), (x, y + 80), (x, y))  # slides vertically only
        preload = sb.objects[link]["mass"] * G / SUPPORT_STIFFNESS  # px: the mat starts in equilibrium
        sb.spring(WORLD, link, (x, 0.0), (x, y), SUPPORT_STIFFNESS, MAT_DAMPING, rest_length=y + preload)
        _shear_spring(sb, prev_edge, (link, (x - pitch / 2 + MAT_GAP / 2, y)))
        prev_edge = (link, (x + pitch / 2 - MAT_GAP / 2, y))
    _shear_spring(sb, prev_edge, (WORLD, (right + MAT_GAP / 2, y)))
    for _ in range(n_loads):
        kind, geometry, half = _random_piece(rng, ("ball", "ball", "box"))
        angle = rng.uniform(0, math.pi) if kind == "box" else 0.0
        pos = sb.random_free_position(rng, geometry, (left + half, right - half), (height + 150, 590 - half), angle,
                                      margin=2.0)
        if pos is None:
            raise RuntimeError("trampoline: no room above the mat")
        _add_piece(sb, kind, geometry, pos, angle, vel=(rng.uniform(-30, 30), 0.0), friction=0.5, elasticity=0.5)
    return sb


def _shear_spring(sb: SceneBuilder, end_a, end_b) -> None:
    """A spring across a MAT_GAP-wide gap, between (body, world point) ends: no force while both ends
    are level, pulls them level when one moves."""
    (a, pa), (b, pb) = end_a, end_b
    sb.spring(a, b, pa, pb, SHEAR_STIFFNESS, MAT_DAMPING)
