"""Constraint scenarios: bodies held by joints (pendulums, cradles, chains, seesaws, wrecking balls)."""

from __future__ import annotations

import math
import random

from physics_llm.scenarios.builder import DENSITY, SceneBuilder
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


# --------------------------------------------------------------------------- chain

CHAIN_LEVELS = {1: (8,), 2: (12,), 3: (8, 8), 4: (10, 10), 5: (7, 7, 7)}  # links per chain, one chain per slot
CHAIN_MODES = ("swing", "bridge", "drape")


@register_scenario("chain", "constraints",
                   "Side view: chains of hinged links swing from one anchor, sag between two, or fall and drape "
                   "over a peg.")
def chain(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.6, elasticity=0.3)
    chains = CHAIN_LEVELS[difficulty]
    slot = 800 / len(chains)  # px of canvas width per chain
    for k, n_links in enumerate(chains):
        length = rng.uniform(16, min(24, 0.8 * slot / n_links))  # px per link
        height = rng.uniform(8, 10)  # px, link thickness
        max_tilt = math.radians(40 + 8 * difficulty)  # swing release, from the vertical
        for _ in range(30):  # redraw until the chain starts clear of everything placed so far
            mode = rng.choice(CHAIN_MODES)
            points, pinned, peg = _chain_layout(rng, mode, (k + 0.5) * slot, slot, n_links, length, max_tilt)
            if _links_fit(sb, points, height, peg):
                break
        else:  # ~3 % of draws collide with a neighbouring chain: 30 misses in a row do not happen
            raise RuntimeError("chain: no room for a chain")
        if peg:
            sb.add_static_circle(*peg, friction=0.5, elasticity=0.2)
        links = _link_row(sb, points, height, group=k + 1)
        for end in pinned:  # 0: the first link's start, -1: the last link's end
            sb.pivot(WORLD, links[end], points[end])
    return sb


def _chain_layout(rng: random.Random, mode: str, x_mid: float, slot: float, n: int, length: float,
                  max_tilt: float) -> tuple[list, list[int], tuple | None]:
    """Joint points (n + 1, px) of a chain, which ends are pivoted to the world (indices into the points),
    and a static peg ((centre, radius) or None)."""
    if mode == "swing":  # straight from one anchor, tilted from the vertical
        anchor = (x_mid + rng.uniform(-0.15, 0.15) * slot, rng.uniform(500, 560))
        tilt = rng.choice((-1, 1)) * rng.uniform(0.35, max_tilt)
        return _polyline(anchor, -math.pi / 2 + tilt, n, length), [0], None
    if mode == "bridge":  # between two anchors at the same height: an uneven V, swinging towards its catenary
        span = rng.uniform(0.55, 0.8) * n * length
        left = (x_mid - span / 2, rng.uniform(420, 540))
        j = rng.randrange(2, n - 1)  # links in the V's left arm
        a, b = j * length, (n - j) * length
        x = (a * a - b * b + span * span) / (2 * span)  # the V's low vertex, from the left anchor
        if not 0 < x < span:  # the vertex would lie outside the anchors: make the V symmetric
            j = n // 2
            a, b = j * length, (n - j) * length
            x = (a * a - b * b + span * span) / (2 * span)
        vertex = (left[0] + x, left[1] - math.sqrt(a * a - x * x))
        arm_a = _polyline(left, math.atan2(vertex[1] - left[1], x), j, length)
        arm_b = _polyline(vertex, math.atan2(left[1] - vertex[1], span - x), n - j, length)
        return arm_a[:-1] + arm_b, [0, -1], None
    # drape: a free, slightly bent chain released above a static peg
    peg = (x_mid + rng.uniform(-20, 20), rng.uniform(200, 300))
    radius = rng.uniform(10, 16)
    bend = rng.uniform(-0.06, 0.06)  # rad per link
    start = (peg[0] - n * length * rng.uniform(0.35, 0.65), peg[1] + radius + rng.uniform(40, 120))
    return _polyline(start, -bend * n / 2, n, length, bend), [], (peg, radius)


def _polyline(start, heading: float, n: int, length: float, bend: float = 0.0) -> list[tuple[float, float]]:
    """``start`` and ``n`` points after it, ``length`` px apart, heading ``heading`` rad, turning ``bend`` rad per
    step."""
    out = [tuple(start)]
    for k in range(n):
        a = heading + k * bend
        out.append((out[-1][0] + length * math.cos(a), out[-1][1] + length * math.sin(a)))
    return out


def _link_pose(p, q, height: float) -> tuple[tuple[float, float], tuple[float, float], float]:
    """(centre, size, angle) of the box link spanning joint points ``p`` -> ``q``."""
    return ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2), (math.dist(p, q), height), math.atan2(q[1] - p[1], q[0] - p[0])


def _links_fit(sb: SceneBuilder, points, height: float, peg) -> bool:
    """True if every link (and the peg) keeps 2 px from everything placed so far and from the canvas edges."""
    if peg and not sb.ball_fits(peg[0], peg[1], margin=2.0):
        return False
    for p, q in zip(points, points[1:]):
        centre, size, angle = _link_pose(p, q, height)
        if not sb.fits({"shape": "box", "size": list(size)}, centre, angle, margin=2.0):
            return False
        if peg and math.dist(centre, peg[0]) < peg[1] + size[0] / 2 + 2:
            return False
    return True


def _link_row(sb: SceneBuilder, points, height: float, group: int) -> list[int]:
    """Box links joined end to end by pivots, link k spanning points[k] -> points[k + 1], all in ``group``
    (links of one chain never collide with each other)."""
    links = []
    for p, q in zip(points, points[1:]):
        centre, size, angle = _link_pose(p, q, height)
        link = sb.add_box(centre, size, angle=angle, friction=0.6, elasticity=0.2, group=group)
        if links:
            sb.pivot(links[-1], link, p)
        links.append(link)
    return links


# --------------------------------------------------------------------------- seesaw

SEESAW_LEVELS = {1: (1, 2), 2: (1, 3), 3: (2, 4), 4: (2, 6), 5: (3, 8)}  # per difficulty: (seesaws, loads)
PLANK_HEIGHT = 12.0  # px
HEAVY = 4.0  # density factor of the dropped weights against the default


@register_scenario("seesaw", "constraints",
                   "Side view: planks pivoted on fulcrums; weights dropped on the raised ends launch the loads "
                   "resting on the lowered ends.")
def seesaw(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.6, elasticity=0.3)
    n_seesaws, n_loads = SEESAW_LEVELS[difficulty]
    slot = 800 / n_seesaws
    ends = []  # (raised end (x, y), lowered end (x, y), tilt rad) per seesaw
    for k in range(n_seesaws):
        cx = (k + 0.5 + rng.uniform(-0.05, 0.05)) * slot
        ends.append(_add_seesaw(sb, rng, cx, rng.uniform(0.6, 0.8) * min(slot, 420)))
    # One load resting on each lowered end, then weights dropped over the raised ends (round robin).
    for k in range(n_loads):
        raised, lowered, tilt = ends[k % n_seesaws]
        if k < n_seesaws:
            _rest_on_plank(sb, rng, lowered, tilt)
        else:
            _drop_weight(sb, rng, raised, difficulty)
    return sb


def _add_seesaw(sb: SceneBuilder, rng: random.Random, cx: float, length: float) -> tuple:
    """A plank ``length`` px long pivoted at its centre over a static fulcrum at x = ``cx``, tilted so one end
    rests on the floor. Returns (raised end top point, lowered end top point, tilt rad)."""
    max_tilt = math.radians(rng.uniform(14, 22))  # rad: the plank's tilt with one end on the floor
    pivot = (cx, (length / 2) * math.sin(max_tilt) + (PLANK_HEIGHT / 2) * math.cos(max_tilt))  # lower corner at y=0
    side = rng.choice((-1, 1))  # +1: the left end is down
    tilt = side * max_tilt  # counter-clockwise, rad
    plank = sb.add_box(pivot, (length, PLANK_HEIGHT), angle=tilt, friction=0.8, elasticity=0.2)
    sb.pivot(WORLD, plank, pivot)
    # Fulcrum: a static triangle whose apex sits 2 px under the plank's underside at the pivot.
    apex_y = pivot[1] - PLANK_HEIGHT / 2 / math.cos(tilt) - 2
    sb.add_static_poly([(cx - 0.4 * apex_y - 10, 0.0), (cx + 0.4 * apex_y + 10, 0.0), (cx, apex_y)], friction=0.6,
                       elasticity=0.2)
    c, s = math.cos(tilt), math.sin(tilt)
    top = [(pivot[0] + dx * c - PLANK_HEIGHT / 2 * s, pivot[1] + dx * s + PLANK_HEIGHT / 2 * c)
           for dx in (-0.42 * length, 0.42 * length)]  # points on the upper face near the ends
    lowered, raised = (top[0], top[1]) if side > 0 else (top[1], top[0])
    return raised, lowered, tilt


def _rest_on_plank(sb: SceneBuilder, rng: random.Random, point, tilt: float) -> None:
    """A box or ball resting (1 px clear) on the plank's upper face at ``point``."""
    nx, ny = -math.sin(tilt), math.cos(tilt)  # upward normal of the plank
    if rng.random() < 0.5:
        side = rng.uniform(16, 26)
        lift = side / 2 + 1
        sb.add_box((point[0] + nx * lift, point[1] + ny * lift), (side, side), angle=tilt, friction=0.8,
                   elasticity=0.3)
    else:
        r = rng.uniform(9, 14)
        sb.add_ball((point[0] + nx * (r + 1), point[1] + ny * (r + 1)), r, friction=0.8, elasticity=0.4)


def _drop_weight(sb: SceneBuilder, rng: random.Random, point, difficulty: int) -> None:
    """A heavy box or ball released above ``point`` from up to 150 + 50 * difficulty px."""
    for _ in range(100):
        half = rng.uniform(10, 16)
        pos = (point[0] + rng.uniform(-12, 12), point[1] + half + rng.uniform(60, 150 + 50 * difficulty))
        box = rng.random() < 0.5
        geometry = {"shape": "box", "size": [2 * half] * 2} if box else {"shape": "circle", "radius": half}
        if sb.fits(geometry, pos, margin=3.0):
            break
    else:
        raise RuntimeError("seesaw: no room for a weight")
    if box:
        sb.add_box(pos, (2 * half, 2 * half), mass=HEAVY * DENSITY * 4 * half * half, friction=0.6, elasticity=0.2)
    else:
        sb.add_ball(pos, half, mass=HEAVY * DENSITY * math.pi * half * half, friction=0.6, elasticity=0.2)


# --------------------------------------------------------------------------- wrecking ball

# Per difficulty: (tower columns, boxes, chain links between the anchor and the ball; 0 = one rigid pin).
WRECK_LEVELS = {1: (1, 4, 0), 2: (1, 6, 0), 3: (2, 8, 0), 4: (2, 10, 4), 5: (3, 14, 5)}
BALL_DENSITY = 8 * DENSITY  # mass per px^2: a wrecking ball
WRECK_ROOM = 120.0  # px left free behind the tower for the boxes to fall into


@register_scenario("wrecking_ball", "constraints",
                   "Side view: a heavy ball on a rod or chain swings down into a tower of boxes.")
def wrecking_ball(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.6, elasticity=0.3)
    columns, n_boxes, n_links = WRECK_LEVELS[difficulty]
    radius = rng.uniform(22, 30)
    box_w, box_h = round(rng.uniform(30, 44), 1), round(rng.uniform(24, 34), 1)
    rows = -(-n_boxes // columns)
    hit_y = max(radius + 15, rng.uniform(0.35, 0.7) * rows * box_h)  # px, ball centre at the bottom of the swing
    length = rng.uniform(220, 360)  # px, anchor to ball centre
    anchor_y = hit_y + length
    gap = rng.uniform(3, 12)  # px between the hanging ball and the tower
    tower_w = columns * box_w + (columns - 1) * 0.5
    # Horizontal budget, left to right: pulled-back ball, anchor, hanging ball, gap, tower, WRECK_ROOM to fall into.
    budget = 800 - 10 - 2 * radius - gap - tower_w - WRECK_ROOM  # px for the pulled-back ball's swing arm
    tilt = min(rng.uniform(0.6, 0.8 + 0.1 * difficulty), math.asin(min(1.0, budget / length)))  # rad
    x_lo = length * math.sin(tilt) + radius + 10  # px, leftmost anchor
    anchor_x = rng.uniform(x_lo, max(x_lo, x_lo + budget - length * math.sin(tilt)))
    tower_x = anchor_x + radius + gap  # left face of the tower
    side = rng.choice((-1, 1))  # +1: the tower stands right of the anchor, the ball is pulled back left
    if side < 0:  # mirror everything about the canvas centre
        anchor_x, tower_x = 800 - anchor_x, 800 - tower_x - tower_w
    for k in range(n_boxes):
        col, row = k % columns, k // columns
        sb.add_box((tower_x + col * (box_w + 0.5) + box_w / 2, row * box_h + box_h / 2), (box_w, box_h),
                   friction=0.6, elasticity=0.2)
    anchor = (anchor_x, anchor_y)
    ball_pos = (anchor_x - side * length * math.sin(tilt), anchor_y - length * math.cos(tilt))
    omega = side * rng.uniform(0, 50 * difficulty) / length  # rad/s: a push towards the tower, up to 250 px/s
    ball = sb.add_ball(ball_pos, radius, mass=BALL_DENSITY * math.pi * radius * radius,
                       vel=_rigid_velocity(anchor, ball_pos, omega), friction=0.4, elasticity=0.3, group=1)
    if n_links == 0:
        sb.pin(WORLD, ball, anchor, ball_pos)
        return sb
    # A chain of beads on pins, turning rigidly with the ball (all in the ball's group: they never collide).
    prev, prev_pos = WORLD, anchor
    step = (length - radius) / (n_links + 1)  # px between beads; the last pin reaches the ball's surface
    for k in range(1, n_links + 1):
        f = k * step / length
        pos = (anchor_x + f * (ball_pos[0] - anchor_x), anchor_y + f * (ball_pos[1] - anchor_y))
        bead = sb.add_ball(pos, 5.0, mass=5.0, vel=_rigid_velocity(anchor, pos, omega), friction=0.4,
                           elasticity=0.2, group=1)
        sb.pin(prev, bead, prev_pos, pos)
        prev, prev_pos = bead, pos
    sb.pin(prev, ball, prev_pos, ball_pos)
    return sb


# --------------------------------------------------------------------------- pendulum wave

WAVE_PENDULUMS = {1: 5, 2: 7, 3: 9, 4: 12, 5: 15}
MIN_WAVE_LENGTH = 60.0  # px, shortest string


@register_scenario("pendulum_wave", "constraints",
                   "Side view: a row of pendulums with graded lengths, released together, drifts in and out of "
                   "phase (the bobs hang in separate planes and pass each other without colliding).")
def pendulum_wave(rng: random.Random, difficulty: int) -> SceneBuilder:
    sb = SceneBuilder()
    sb.add_walls(friction=0.5, elasticity=0.5)
    n = WAVE_PENDULUMS[difficulty]
    radius = rng.uniform(7, 10)
    longest = rng.uniform(300, 380)  # px
    # Classic tuning: pendulum k makes (n0 + k) swings in the time the longest makes n0, so periods
    # T_k = T_0 * n0 / (n0 + k) and lengths L_k = L_0 * (n0 / (n0 + k))^2; n0 keeps the shortest >= 60 px.
    ratio = math.sqrt(longest / MIN_WAVE_LENGTH)  # T_0 / T_min
    n0 = math.ceil((n - 1) / (ratio - 1))
    lengths = [longest * (n0 / (n0 + k)) ** 2 for k in range(n)]
    spacing = rng.uniform(2 * radius + 2, max(2 * radius + 2, min(40, 300 / (n - 1))))  # px between anchors
    anchor_y = rng.uniform(560, 580)
    amplitude = math.radians(rng.uniform(15, 20 + 5 * difficulty))  # rad, released together at this angle
    side = rng.choice((-1, 1))  # +1: the longest pendulum is on the left, all released to the left
    # The longest pendulum's swing clears its wall by >= 10 px; the row then spans about 300 px more, and the
    # shortest swing <= 60 sin(45 deg) px, so the far wall is never reached (<= 20 + 269 + 40 + 300 + 43 px).
    first_x = 10 + radius + longest * math.sin(amplitude) + rng.uniform(0, 40)
    for k, length in enumerate(lengths):
        x = first_x + k * spacing
        anchor = (x if side > 0 else 800 - x, anchor_y)
        bob = (anchor[0] - side * length * math.sin(amplitude), anchor_y - length * math.cos(amplitude))
        ball = sb.add_ball(bob, radius, friction=0.3, elasticity=0.8, group=1)
        sb.pin(WORLD, ball, anchor, bob)
    return sb
