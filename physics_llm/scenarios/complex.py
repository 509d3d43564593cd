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
# ~2.5 diameters jams at once.
HOURGLASS_LEVELS = {
    1: (30, 4.0, False),
    2: (40, 3.6, False),
    3: (50, 3.3, False),
    4: (62, 3.0, True),
    5: (75, 2.8, True),
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
