"""SceneBuilder: the small vocabulary scenario generators use to describe a scene.

A builder accumulates objects, static geometry, constraints and force fields as plain dicts
(the header format of ``docs/data_format.md``) and answers placement questions ("does a ball of
radius r fit here?") exactly, with pymunk's own collision test, so generated scenes never start
with overlapping shapes.
"""

from __future__ import annotations

import math
import random

import pymunk

from physics_llm.simulation import WORLD, make_object, make_static

CANVAS = (800.0, 600.0)
GRAVITY = (0.0, -900.0)
DT = 1.0 / 60.0
# Substeps per recorded frame and solver iterations: chosen with benchmarks/stack_stability.py
# (an undisturbed 12-box tower drifts 0.2 px and a 19-box one 0.5 px over 200 frames at these
# settings; 5 substeps lets them drift 0.8 / 2.9 px).
DEFAULT_SUBSTEPS = 10
DEFAULT_ITERATIONS = 20
WALL_THICKNESS = 40.0  # px; speeds stay < 2000 px/s, i.e. < 3.4 px per substep: no tunnelling
DENSITY = 0.01  # mass per px^2 when a generator gives no mass
_DECIMALS = 4  # geometry and initial state are rounded once, before simulation: the header is exact


def _round_tree(value):
    if isinstance(value, float):
        r = round(value, _DECIMALS)
        return 0.0 if r == 0 else r
    if isinstance(value, (list, tuple)):
        return [_round_tree(v) for v in value]
    if isinstance(value, dict):
        return {k: _round_tree(v) for k, v in value.items()}
    return value


def _pt(p) -> list[float]:
    return [float(p[0]), float(p[1])]


class SceneBuilder:
    def __init__(self, gravity=GRAVITY, canvas=CANVAS, substeps=DEFAULT_SUBSTEPS,
                 iterations=DEFAULT_ITERATIONS, damping=1.0):
        self.gravity = _pt(gravity)
        self.canvas = _pt(canvas)
        self.substeps = substeps
        self.iterations = iterations
        self.damping = damping
        self.closed = True
        self.objects: list[dict] = []
        self.static: list[dict] = []
        self.constraints: list[dict] = []
        self.forces: list[dict] = []
        self._query_space = pymunk.Space()

    # ------------------------------------------------------------------ static geometry

    def add_segment(self, a, b, radius=4.0, friction=0.7, elasticity=0.5) -> int:
        spec = {"shape": "segment", "a": _pt(a), "b": _pt(b), "radius": float(radius),
                "friction": float(friction), "elasticity": float(elasticity)}
        return self._add_static(spec)

    def add_static_poly(self, vertices, radius=0.0, friction=0.7, elasticity=0.5) -> int:
        spec = {"shape": "poly", "vertices": [_pt(v) for v in vertices], "radius": float(radius),
                "friction": float(friction), "elasticity": float(elasticity)}
        return self._add_static(spec)

    def add_static_box(self, center, size, angle=0.0, **material) -> int:
        return self.add_static_poly(box_vertices(center, size, angle), **material)

    def add_static_circle(self, center, radius, friction=0.7, elasticity=0.5) -> int:
        spec = {"shape": "circle", "center": _pt(center), "radius": float(radius),
                "friction": float(friction), "elasticity": float(elasticity)}
        return self._add_static(spec)

    def add_walls(self, friction=0.6, elasticity=0.6, sides=("floor", "ceiling", "left", "right")) -> list[int]:
        """Thick segments just outside the canvas; their inner faces are the canvas edges."""
        w, h = self.canvas
        r = WALL_THICKNESS / 2
        ends = {
            "floor": ((-WALL_THICKNESS, -r), (w + WALL_THICKNESS, -r)),
            "ceiling": ((-WALL_THICKNESS, h + r), (w + WALL_THICKNESS, h + r)),
            "left": ((-r, -WALL_THICKNESS), (-r, h + WALL_THICKNESS)),
            "right": ((w + r, -WALL_THICKNESS), (w + r, h + WALL_THICKNESS)),
        }
        return [self.add_segment(*ends[s], radius=r, friction=friction, elasticity=elasticity) for s in sides]

    def _add_static(self, spec: dict) -> int:
        self._query_space.add(make_static(self._query_space, spec))
        self.static.append(spec)
        return len(self.static) - 1

    # ------------------------------------------------------------------ dynamic objects

    def add_ball(self, pos, radius, mass=None, vel=(0, 0), angvel=0.0, friction=0.5, elasticity=0.7, **extra) -> int:
        mass = DENSITY * math.pi * radius * radius if mass is None else mass
        return self._add_object({"shape": "circle", "radius": float(radius)}, pos, 0.0, mass, vel, angvel,
                                friction, elasticity, extra)

    def add_box(self, pos, size, angle=0.0, mass=None, vel=(0, 0), angvel=0.0, friction=0.6, elasticity=0.3,
                **extra) -> int:
        mass = DENSITY * size[0] * size[1] if mass is None else mass
        return self._add_object({"shape": "box", "size": _pt(size)}, pos, angle, mass, vel, angvel,
                                friction, elasticity, extra)

    def add_poly(self, pos, vertices, mass, angle=0.0, vel=(0, 0), angvel=0.0, friction=0.6, elasticity=0.3,
                 **extra) -> int:
        """``vertices`` are body-local (around the centre of gravity at (0, 0)), counter-clockwise."""
        return self._add_object({"shape": "poly", "vertices": [_pt(v) for v in vertices]}, pos, angle, mass, vel,
                                angvel, friction, elasticity, extra)

    def _add_object(self, geometry, pos, angle, mass, vel, angvel, friction, elasticity, extra) -> int:
        spec = {"id": len(self.objects), **geometry, "mass": float(mass), "friction": float(friction),
                "elasticity": float(elasticity), "pos": _pt(pos), "angle": float(angle), "vel": _pt(vel),
                "angvel": float(angvel), **extra}
        body, shape = make_object(spec)
        self._query_space.add(body, shape)
        self.objects.append(spec)
        return spec["id"]

    # ------------------------------------------------------------------ placement

    def fits(self, geometry: dict, pos, angle=0.0, margin=1.0) -> bool:
        """True if a shape (``{"shape": "circle", "radius": r}`` / box / poly) placed at ``pos`` keeps
        at least ``margin`` px from every object and static shape added so far, and lies inside the canvas."""
        spec = {"id": -1, **geometry, "mass": 1.0, "friction": 0.0, "elasticity": 0.0, "pos": _pt(pos),
                "angle": float(angle)}
        body, shape = make_object(spec)
        bb = shape.cache_bb()
        w, h = self.canvas
        if bb.left < margin or bb.bottom < margin or bb.right > w - margin or bb.top > h - margin:
            return False
        if margin > 0:  # inflate the probe by the margin
            if spec["shape"] == "circle":
                shape = pymunk.Circle(body, spec["radius"] + margin)
            else:
                shape = pymunk.Poly(body, shape.get_vertices(), radius=margin)
            shape.cache_bb()
        return not self._query_space.shape_query(shape)

    def ball_fits(self, pos, radius, margin=1.0) -> bool:
        return self.fits({"shape": "circle", "radius": radius}, pos, margin=margin)

    def random_free_position(self, rng: random.Random, geometry: dict, x_range, y_range, angle=0.0,
                             margin=1.0, tries=200):
        """A uniformly drawn position where ``geometry`` fits, or None after ``tries`` attempts."""
        for _ in range(tries):
            p = (rng.uniform(*x_range), rng.uniform(*y_range))
            if self.fits(geometry, p, angle, margin):
                return p
        return None

    # ------------------------------------------------------------------ constraints (world-space anchors)

    def pin(self, a, b, anchor_a, anchor_b, collide=False) -> int:
        length = math.dist(anchor_a, anchor_b)
        return self._constraint({"type": "pin", "a": a, "b": b, "anchor_a": _pt(anchor_a), "anchor_b": _pt(anchor_b),
                                 "length": length, "collide": collide})

    def pivot(self, a, b, pivot, collide=False) -> int:
        return self._constraint({"type": "pivot", "a": a, "b": b, "pivot": _pt(pivot), "collide": collide})

    def slide(self, a, b, anchor_a, anchor_b, min_length, max_length, collide=False) -> int:
        return self._constraint({"type": "slide", "a": a, "b": b, "anchor_a": _pt(anchor_a),
                                 "anchor_b": _pt(anchor_b), "min": float(min_length), "max": float(max_length),
                                 "collide": collide})

    def spring(self, a, b, anchor_a, anchor_b, stiffness, damping, rest_length=None, collide=True) -> int:
        rest = math.dist(anchor_a, anchor_b) if rest_length is None else rest_length
        return self._constraint({"type": "spring", "a": a, "b": b, "anchor_a": _pt(anchor_a),
                                 "anchor_b": _pt(anchor_b), "rest_length": float(rest),
                                 "stiffness": float(stiffness), "damping": float(damping), "collide": collide})

    def groove(self, a, b, groove_a, groove_b, anchor_b, collide=True) -> int:
        return self._constraint({"type": "groove", "a": a, "b": b, "groove_a": _pt(groove_a),
                                 "groove_b": _pt(groove_b), "anchor_b": _pt(anchor_b), "collide": collide})

    def rotary_limit(self, a, b, min_angle, max_angle) -> int:
        """Keeps the relative angle ``angle_b - angle_a`` within [min_angle, max_angle] (rad)."""
        return self._constraint({"type": "rotary_limit", "a": a, "b": b, "min": float(min_angle),
                                 "max": float(max_angle), "collide": True})

    def rotary_spring(self, a, b, rest_angle, stiffness, damping) -> int:
        """Torque ``-stiffness * (angle_b - angle_a - rest_angle) - damping * relative angular velocity``."""
        return self._constraint({"type": "rotary_spring", "a": a, "b": b, "rest_angle": float(rest_angle),
                                 "stiffness": float(stiffness), "damping": float(damping), "collide": True})

    def motor(self, a, b, rate, max_force) -> int:
        """Drives the relative angular velocity ``angvel_b - angvel_a`` to ``-rate`` (pymunk's SimpleMotor
        sign convention) with at most ``max_force`` torque."""
        return self._constraint({"type": "motor", "a": a, "b": b, "rate": float(rate), "max_force": float(max_force),
                                 "collide": True})

    def _constraint(self, spec: dict) -> int:
        for key in ("a", "b"):
            if spec[key] != WORLD and not 0 <= spec[key] < len(self.objects):
                raise ValueError(f"constraint {spec['type']}: body {spec[key]} does not exist")
        if WORLD in (spec["a"], spec["b"]):
            # Every static shape hangs on the one static body: collide=False against the world would
            # switch off the object's contacts with all walls and ramps, and it would tunnel out.
            spec["collide"] = True
        self.constraints.append(spec)
        return len(self.constraints) - 1

    # ------------------------------------------------------------------ force fields

    def central_force(self, center, strength, softening=20.0, objects=None) -> int:
        """Attractor: acceleration ``strength / r^2`` towards ``center`` (px^3/s^2), softened near it."""
        return self._force({"type": "central", "center": _pt(center), "strength": float(strength),
                            "softening": float(softening), "objects": objects})

    def wind(self, velocity, drag, gust_amplitude=0.0, gust_period=1.0, gust_phase=0.0, objects=None) -> int:
        return self._force({"type": "wind", "velocity": _pt(velocity), "drag": float(drag),
                            "gust_amplitude": float(gust_amplitude), "gust_period": float(gust_period),
                            "gust_phase": float(gust_phase), "objects": objects})

    def conveyor(self, static_index: int, velocity) -> int:
        return self._force({"type": "conveyor", "static": static_index, "velocity": _pt(velocity)})

    def _force(self, spec: dict) -> int:
        self.forces.append(spec)
        return len(self.forces) - 1

    # ------------------------------------------------------------------ output

    def to_spec(self, scenario_type: str, category: str, difficulty: int) -> dict:
        if not self.objects:
            raise ValueError(f"scenario {scenario_type!r} produced no objects")
        return {
            "scenario_type": scenario_type, "category": category, "difficulty": difficulty,
            "dt": DT, "substeps": self.substeps, "iterations": self.iterations, "damping": float(self.damping),
            "gravity": self.gravity, "canvas": self.canvas, "closed": self.closed,
            "objects": _round_tree(self.objects), "static": _round_tree(self.static),
            "constraints": _round_tree(self.constraints), "forces": _round_tree(self.forces),
        }


def box_vertices(center, size, angle=0.0) -> list[list[float]]:
    """World-space corners (counter-clockwise) of a ``size`` box centred at ``center`` rotated by ``angle``."""
    cx, cy = center
    hw, hh = size[0] / 2, size[1] / 2
    c, s = math.cos(angle), math.sin(angle)
    return [[cx + x * c - y * s, cy + x * s + y * c] for x, y in ((-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh))]
