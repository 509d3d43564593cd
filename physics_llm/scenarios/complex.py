"""complex scenarios."""

from __future__ import annotations

import math
import random

from physics_llm.scenarios.builder import SceneBuilder
from physics_llm.scenarios.registry import register_scenario

GLASS_RADIUS = 5.0  # px: half-thickness of the hourglass walls
GRAIN_RADIUS = 6.0  # px: largest grain
SMALL_GRAIN_RADIUS = 4.5  # px: the smaller grains mixed in at high difficulty
GRAIN_GAP = 1.5  # px between neighbouring grains (and grains and glass) at t = 0
NECK_LENGTH = 10.0  # px: height of the straight neck
# Per difficulty 1..5: (grains, neck width in largest-grain diameters, mixed sizes). A neck under
# ~2.5 diameters jams at once. Grain counts are capped by the text budget: header + 11 frames of
# 21 grains fit 8192 tokens (benchmarks/token_budget.py); 30..75 grains did not.
HOURGLASS_LEVELS = {
    1: (12, 4.0, False),
    2: (15, 3.6, False),
    3: (18, 3.3, False),
    4: (20, 3.0, True),
    5: (21, 2.8, True),
}


@register_scenario("hourglass", "complex",
                   "Side view: grains pour from the upper bulb of an hourglass through its neck into the lower one.")
def hourglass(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.4, elasticity=0.2)
    n_grains, neck_diameters, mixed = HOURGLASS_LEVELS[difficulty]
    cx = 400 + rng.uniform(-40, 40)  # px: axis of the glass
    neck_y = 300 + rng.uniform(-15, 15)  # px: middle of the neck
    neck_half = neck_diameters * GRAIN_RADIUS + GLASS_RADIUS  # centre line of the neck wall, from the axis
    funnel_h = rng.uniform(190, 220)  # px: height of each funnel
    incline = math.radians(rng.uniform(52, 62))  # funnel walls, from horizontal
    outline = _glass_outline(sb.canvas[1], neck_y, neck_half, funnel_h, incline)
    for side in (-1, 1):
        for (xa, ya), (xb, yb) in zip(outline, outline[1:]):
            sb.add_segment((cx + side * xa, ya), (cx + side * xb, yb), radius=GLASS_RADIUS, friction=0.3,
                           elasticity=0.2)
    _pour_grains(sb, rng, cx, outline, n_grains, mixed)
    return sb


def _glass_outline(height: float, neck_y: float, neck_half: float, funnel_h: float, incline: float):
    """Right half of the glass as (half-width, y) points, top to bottom: straight upper bulb wall
    touching the ceiling, funnel down to the neck, neck, funnel out, straight wall down to the floor."""
    bulb_half = neck_half + funnel_h / math.tan(incline)
    top, bottom = neck_y + NECK_LENGTH / 2, neck_y - NECK_LENGTH / 2
    return [(bulb_half, height - GLASS_RADIUS), (bulb_half, top + funnel_h), (neck_half, top),
            (neck_half, bottom), (bulb_half, bottom - funnel_h), (bulb_half, GLASS_RADIUS)]


def _half_width(outline, y: float) -> float:
    """Half-width (px) of the glass's wall centre line at height ``y`` in the upper bulb."""
    for (wa, ya), (wb, yb) in zip(outline, outline[1:]):
        if yb <= y <= ya:
            return wa if ya == yb else wb + (wa - wb) * (y - yb) / (ya - yb)
    return 0.0


def _pour_grains(sb: SceneBuilder, rng: random.Random, cx: float, outline, n: int, mixed: bool) -> None:
    """Hexagonally packed rows of grains filling the upper bulb from the neck up, with jittered row offsets."""
    pitch = 2 * GRAIN_RADIUS + GRAIN_GAP  # px between grain centres in a row
    y = outline[2][1] + GRAIN_RADIUS + GRAIN_GAP  # first row just above the neck
    placed = 0
    while placed < n:
        if y > outline[0][1] - GRAIN_RADIUS:
            raise RuntimeError("hourglass: upper bulb too small for the grains")
        half = _half_width(outline, y)
        x = cx - half + rng.uniform(0, pitch)
        while x < cx + half and placed < n:
            r = SMALL_GRAIN_RADIUS if mixed and rng.random() < 0.5 else GRAIN_RADIUS
            if abs(x - cx) < half and sb.ball_fits((x, y), r, margin=GRAIN_GAP):
                sb.add_ball((x, y), r, friction=0.3, elasticity=0.2)
                placed += 1
            x += pitch
        y += pitch * math.sqrt(3) / 2


# ----------------------------------------------------------------------------- avalanche

SLOPE_RADIUS = 8.0  # px: half-thickness of the slope
# Per difficulty 1..5: (slope angle in deg from horizontal, balls, rocks (boxes)).
AVALANCHE_LEVELS = {
    1: (18, 10, 0),
    2: (23, 13, 0),
    3: (28, 15, 3),
    4: (33, 16, 4),
    5: (38, 17, 4),
}


@register_scenario("avalanche", "complex",
                   "Side view: a heap of balls and rocks released on a slope rolls down and piles up against a wall.")
def avalanche(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.5, elasticity=0.3)
    degrees, n_balls, n_rocks = AVALANCHE_LEVELS[difficulty]
    angle = math.radians(degrees + rng.uniform(-2, 2))
    foot = rng.uniform(560, 660)  # px: x where the slope meets the floor
    top = (0.0, foot * math.tan(angle))
    sb.add_segment(top, (foot, 0.0), radius=SLOPE_RADIUS, friction=0.5, elasticity=0.3)
    bodies = ["ball"] * n_balls + ["rock"] * n_rocks
    rng.shuffle(bodies)
    _heap_on_slope(sb, rng, top, angle, bodies)
    return sb


def _heap_on_slope(sb: SceneBuilder, rng: random.Random, top, angle: float, bodies) -> None:
    """A heap of balls (radius 7-13 px) and rocks (boxes aligned with the slope) in three staggered
    layers parallel to the slope, filling its upper part from the top down, each 1.5 px clear of the rest."""
    along = (math.cos(angle), -math.sin(angle))  # unit vector down the slope
    normal = (math.sin(angle), math.cos(angle))  # unit vector out of the slope surface
    pitch = 28.0  # px between slots along the slope and between layers
    slots = [(s, layer) for s in range(30) for layer in range(3)]
    placed = 0
    for s, layer in slots:
        if placed == len(bodies):
            return
        d = 20 + (s + 0.5 * (layer % 2)) * pitch + rng.uniform(-3, 3)  # px down the slope from its top
        h = SLOPE_RADIUS + 14 + layer * pitch  # px above the slope's centre line
        pos = (top[0] + d * along[0] + h * normal[0], top[1] + d * along[1] + h * normal[1])
        if bodies[placed] == "ball":
            radius = rng.uniform(7, 13)
            pos = (pos[0] - (13 - radius) * normal[0], pos[1] - (13 - radius) * normal[1])  # sink onto the layer
            if sb.ball_fits(pos, radius, margin=1.5):
                sb.add_ball(pos, radius, friction=0.5, elasticity=0.3)
                placed += 1
        else:
            size = (rng.uniform(16, 26), rng.uniform(12, 20))
            if sb.fits({"shape": "box", "size": size}, pos, -angle, margin=1.5):
                sb.add_box(pos, size, angle=-angle, friction=0.5, elasticity=0.2)
                placed += 1
    raise RuntimeError("avalanche: slope too short for the heap")


# ----------------------------------------------------------------------------- conveyor

BELT_RADIUS = 6.0  # px: half-thickness of a belt
BELT_LENGTH = 450.0  # px
# Per difficulty 1..5: (belts, objects, belt speed in px/s).
CONVEYOR_LEVELS = {
    1: (1, 6, 120),
    2: (2, 9, 150),
    3: (2, 12, 180),
    4: (3, 16, 210),
    5: (3, 20, 240),
}


@register_scenario("conveyor", "complex",
                   "Side view: boxes and balls dropped onto moving belts are carried along and tipped off the ends.")
def conveyor(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.6, elasticity=0.3)
    n_belts, n_objects, speed = CONVEYOR_LEVELS[difficulty]
    spacing = 340 / n_belts  # px between belt heights
    # px a belt reaches past the discharging end of the belt above: what leaves at belt speed travels
    # speed * fall time (~100 px) before it lands, plus 50 px for tumbling objects.
    overhang = speed * math.sqrt(2 * spacing / -sb.gravity[1]) + 50
    direction = rng.choice((-1, 1))  # +1: the top belt carries to the right
    w = sb.canvas[0]
    lo = rng.uniform(30, w - 30 - BELT_LENGTH - overhang)  # px: left end of the top belt
    lo = lo if direction > 0 else w - lo - BELT_LENGTH
    belts = []  # (x_lo, x_hi, y) of each belt, top down
    for k in range(n_belts):
        y = 470 - k * spacing + rng.uniform(-10, 10)
        # Up to 3 deg down towards the discharging end: balls roll downhill whatever the belt does.
        tilt = math.radians(rng.uniform(0, 3))
        drop = direction * BELT_LENGTH / 2 * math.tan(tilt)  # px the right end lies below the middle
        index = sb.add_segment((lo, y + drop), (lo + BELT_LENGTH, y - drop), radius=BELT_RADIUS, friction=0.9,
                               elasticity=0.1)
        # Measured with pymunk 7.3.1: a body resting on a shape whose surface_velocity is v is carried
        # *along* v (v = (+200, 0) moves it to +x at 200 px/s), whichever way the segment is drawn.
        # A ball only reaches a third of the belt speed: the belt mostly spins it.
        sb.conveyor(index, (direction * speed * math.cos(tilt), -direction * speed * math.sin(tilt)))
        belts.append((lo, lo + BELT_LENGTH, y))
        # The next belt catches what falls off this one's discharging end, then carries it back.
        lo = lo + overhang if direction > 0 else lo - overhang
        direction = -direction
    for _ in range(n_objects):
        _drop_on_belt(sb, rng, belts, spacing)
    return sb


def _drop_on_belt(sb: SceneBuilder, rng: random.Random, belts, spacing: float) -> None:
    """A box (two thirds of the time) or ball at rest somewhere above a random belt, below the belt above."""
    x_lo, x_hi, y = rng.choice(belts)
    if rng.random() < 2 / 3:
        geometry = {"shape": "box", "size": [rng.uniform(16, 34), rng.uniform(14, 30)]}
    else:
        geometry = {"shape": "circle", "radius": rng.uniform(8, 14)}
    pos = sb.random_free_position(rng, geometry, (x_lo + 20, x_hi - 20), (y + 30, min(y + spacing - 25, 580)),
                                  margin=3.0)
    if pos is None:
        raise RuntimeError("conveyor: no room to drop an object")
    if geometry["shape"] == "box":
        sb.add_box(pos, geometry["size"], friction=0.7, elasticity=0.2)
    else:
        sb.add_ball(pos, geometry["radius"], friction=0.7, elasticity=0.2)


# ----------------------------------------------------------------------------- wind

# Linear drag coefficient (force per px of object size per px/s of relative speed): a ball of radius
# 12 px (mass 4.5) relaxes to the wind speed with a time constant of 0.6 s and falls at ~540 px/s at most.
WIND_DRAG = 0.31
# Per difficulty 1..5: (objects, mean wind speed in px/s, gust amplitude in px/s). Peak wind speed
# grows (200 -> 600 px/s); from difficulty 3 the gusts outweigh the mean wind and it blows back and forth.
WIND_LEVELS = {
    1: (6, 200, 0),
    2: (8, 200, 150),
    3: (11, 180, 260),
    4: (14, 150, 380),
    5: (18, 120, 480),
}


@register_scenario("wind", "complex",
                   "Side view: a gusting horizontal wind (a drag force every substep) blows light balls and boxes "
                   "around ledges while they fall.")
def wind(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.5, elasticity=0.4)
    n_objects, speed, gust = WIND_LEVELS[difficulty]
    for _ in range(rng.randint(2, 3)):  # ledges for objects to rest on, tumble over and be blown off
        a = (rng.uniform(80, 560), rng.uniform(140, 430))
        length, tilt = rng.uniform(100, 180), math.radians(rng.uniform(-15, 15))
        sb.add_segment(a, (a[0] + length * math.cos(tilt), a[1] + length * math.sin(tilt)), radius=6.0,
                       friction=0.5, elasticity=0.3)
    for _ in range(n_objects):
        _add_light_object(sb, rng)
    sign = rng.choice((-1, 1))  # which way the wind blows
    sb.wind((sign * speed, 0.0), WIND_DRAG, gust_amplitude=gust, gust_period=rng.uniform(1.5, 2.5),
            gust_phase=rng.uniform(0, 2 * math.pi))
    return sb


def _add_light_object(sb: SceneBuilder, rng: random.Random) -> None:
    """A non-rotating ball (radius 6-16 px) or box (12-36 px sides) at rest anywhere it fits, 3 px clear
    of the rest. Fixed rotation because the simulator applies field forces in the body frame
    (``apply_force_at_local_point``): on a body turned by half a turn the drag would push it *away*
    from the wind speed, and speeds blow up."""
    if rng.random() < 0.5:
        geometry = {"shape": "circle", "radius": rng.uniform(6, 16)}
    else:
        geometry = {"shape": "box", "size": [rng.uniform(12, 36), rng.uniform(12, 36)]}
    pos = sb.random_free_position(rng, geometry, (30, 770), (30, 570), margin=3.0)
    if pos is None:
        raise RuntimeError("wind: no room for an object")
    if geometry["shape"] == "circle":
        sb.add_ball(pos, geometry["radius"], friction=0.3, elasticity=0.5, fixed_rotation=True)
    else:
        sb.add_box(pos, geometry["size"], friction=0.3, elasticity=0.3, fixed_rotation=True)


# ----------------------------------------------------------------------------- orbit

ORBIT_STRENGTH = 1.2e7  # px^3/s^2: circular speed 490 px/s at r = 50 px, 220 px/s at r = 250 px
ORBIT_SOFTENING = 20.0  # px
PLANET_RADIUS = 24.0  # px: static circle at the attractor, so nothing passes through the singular centre
ORBIT_MAX_R = 245.0  # px: farthest any orbit reaches from the centre (the centre is >= 280 px from a wall)
# Per difficulty 1..5: (bodies, largest eccentricity, share of retrograde orbits).
ORBIT_LEVELS = {
    1: (3, 0.05, 0.0),
    2: (5, 0.15, 0.0),
    3: (7, 0.25, 0.0),
    4: (9, 0.35, 0.25),
    5: (12, 0.45, 0.4),
}


@register_scenario("orbit", "complex",
                   "Top-down: moons on near-circular and elliptical orbits around a planet under a central "
                   "inverse-square force, colliding when orbits cross.")
def orbit(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder(gravity=(0, 0))
    sb.add_walls(friction=0.0, elasticity=0.9)
    n_bodies, max_ecc, retrograde = ORBIT_LEVELS[difficulty]
    center = (400 + rng.uniform(-30, 30), 300 + rng.uniform(-15, 15))
    sb.add_static_circle(center, PLANET_RADIUS, friction=0.0, elasticity=0.9)
    for _ in range(n_bodies):
        _add_moon(sb, rng, center, rng.uniform(0, max_ecc), -1 if rng.random() < retrograde else 1)
    sb.central_force(center, ORBIT_STRENGTH, ORBIT_SOFTENING)
    return sb


def _add_moon(sb: SceneBuilder, rng: random.Random, center, ecc: float, turn: int) -> None:
    """A frictionless non-rotating ball at an apsis of an orbit of eccentricity ``ecc`` (counter-clockwise
    for ``turn`` = 1) whose periapsis and apoapsis lie between the planet and ORBIT_MAX_R, 20 px clear of
    everything (more than two moons close in one frame). Non-rotating because the simulator applies
    field forces in the body frame."""
    radius = rng.uniform(6, 14)
    at_periapsis = rng.random() < 0.5
    lo, hi = PLANET_RADIUS + radius + 40, ORBIT_MAX_R
    for _ in range(200):
        # Kepler: r_apo / r_peri = (1 + e) / (1 - e); draw the periapsis so the apoapsis fits too.
        r_peri = rng.uniform(lo, hi * (1 - ecc) / (1 + ecc))
        r = r_peri if at_periapsis else r_peri * (1 + ecc) / (1 - ecc)
        phi = rng.uniform(0, 2 * math.pi)
        pos = (center[0] + r * math.cos(phi), center[1] + r * math.sin(phi))
        if sb.ball_fits(pos, radius, margin=20.0):
            break
    else:
        raise RuntimeError("orbit: no room for a moon")
    # Speed at an apsis: v^2 = GM (1 + e) / r_peri at periapsis, GM (1 - e) / r_apo at apoapsis, with the
    # softened force's effective GM at that radius (strength * r^3 / (r^2 + eps^2)^1.5).
    gm = ORBIT_STRENGTH * r ** 3 / (r * r + ORBIT_SOFTENING ** 2) ** 1.5
    speed = math.sqrt(gm * ((1 + ecc) if at_periapsis else (1 - ecc)) / r)
    vel = (-turn * speed * math.sin(phi), turn * speed * math.cos(phi))  # perpendicular to the radius
    sb.add_ball(pos, radius, vel=vel, friction=0.0, elasticity=0.95, fixed_rotation=True)


# ----------------------------------------------------------------------------- gravity wells

WELL_RADIUS = 14.0  # px: static circle at each attractor
WELL_SOFTENING = 25.0  # px
WELL_SPACING = 220.0  # px: least distance between two attractors
# Per difficulty 1..5: (attractors, bodies, strength of each attractor in px^3/s^2). Even a body falling
# from rest onto a well's surface at the strongest setting arrives below 1000 px/s.
WELL_LEVELS = {
    1: (2, 4, 4e6),
    2: (2, 6, 5e6),
    3: (3, 8, 6e6),
    4: (3, 11, 7e6),
    5: (4, 14, 8e6),
}


@register_scenario("gravity_well", "complex",
                   "Top-down: balls wander among several fixed attractors (inverse-square central forces), "
                   "swinging around them and off the walls.")
def gravity_well(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder(gravity=(0, 0))
    sb.add_walls(friction=0.0, elasticity=0.9)
    n_wells, n_bodies, strength = WELL_LEVELS[difficulty]
    wells = _spread_points(rng, n_wells, (150, 650), (130, 470), WELL_SPACING)
    for p in wells:
        sb.add_static_circle(p, WELL_RADIUS, friction=0.0, elasticity=0.9)
    for _ in range(n_bodies):
        radius = rng.uniform(6, 12)
        # 20 px clear: no two bodies meet within the first frame.
        pos = sb.random_free_position(rng, {"shape": "circle", "radius": radius}, (20, 780), (20, 580), margin=20.0)
        if pos is None:
            raise RuntimeError("gravity_well: no room for a body")
        speed, heading = rng.uniform(80, 200 + 20 * difficulty), rng.uniform(0, 2 * math.pi)  # px/s, rad
        # Frictionless and non-rotating: the simulator applies field forces in the body frame.
        sb.add_ball(pos, radius, vel=(speed * math.cos(heading), speed * math.sin(heading)), friction=0.0,
                    elasticity=0.95, fixed_rotation=True)
    for p in wells:
        sb.central_force(p, strength * rng.uniform(0.8, 1.2), WELL_SOFTENING)
    return sb


def _spread_points(rng: random.Random, n: int, x_range, y_range, spacing: float) -> list[tuple[float, float]]:
    """``n`` uniformly drawn points at least ``spacing`` px apart, starting over when the first ones crowd
    out the rest."""
    for _ in range(100):
        points = []
        for _ in range(50):
            p = (rng.uniform(*x_range), rng.uniform(*y_range))
            if all(math.dist(p, q) >= spacing for q in points):
                points.append(p)
                if len(points) == n:
                    return points
    raise RuntimeError(f"no room for {n} points {spacing} px apart")
