"""Scene header -> pymunk space -> recorded frames.

The header (see ``docs/data_format.md``) is the *only* input: generation and re-simulation
both go through :func:`build_world`, so a header read back from disk reproduces the stored
frames exactly (same pymunk version, one solver thread, fixed dt and substeps).

Coordinates: px, y up; gravity in px/s^2; angles in rad. Constraint anchors are given in
world space at t = 0 and converted to body-local anchors here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pymunk
import pymunk.batch

WORLD = -1  # body reference meaning "the static world" in constraint records
STATE_COLUMNS = ("x", "y", "angle", "vx", "vy", "angvel")

_BATCH_FIELDS = (
    pymunk.batch.BodyFields.POSITION
    | pymunk.batch.BodyFields.ANGLE
    | pymunk.batch.BodyFields.VELOCITY
    | pymunk.batch.BodyFields.ANGULAR_VELOCITY
)


# --------------------------------------------------------------------------- bodies and shapes


def make_object(spec: dict) -> tuple[pymunk.Body, pymunk.Shape]:
    mass = float(spec["mass"])
    kind = spec["shape"]
    if kind == "circle":
        moment = pymunk.moment_for_circle(mass, 0, spec["radius"])
    elif kind == "box":
        moment = pymunk.moment_for_box(mass, tuple(spec["size"]))
    elif kind == "poly":
        moment = pymunk.moment_for_poly(mass, [tuple(v) for v in spec["vertices"]])
    else:
        raise ValueError(f"object {spec.get('id')}: unknown shape {kind!r}")
    if spec.get("fixed_rotation"):
        moment = math.inf
    body = pymunk.Body(mass, moment)
    body.position = tuple(spec["pos"])
    body.angle = float(spec.get("angle", 0.0))
    body.velocity = tuple(spec.get("vel", (0.0, 0.0)))
    body.angular_velocity = float(spec.get("angvel", 0.0))
    if kind == "circle":
        shape = pymunk.Circle(body, spec["radius"])
    elif kind == "box":
        shape = pymunk.Poly.create_box(body, tuple(spec["size"]))
    else:
        shape = pymunk.Poly(body, [tuple(v) for v in spec["vertices"]])
    _set_material(shape, spec)
    return body, shape


def make_static(space: pymunk.Space, spec: dict) -> pymunk.Shape:
    sb = space.static_body
    kind = spec["shape"]
    if kind == "segment":
        shape = pymunk.Segment(sb, tuple(spec["a"]), tuple(spec["b"]), spec["radius"])
    elif kind == "circle":
        shape = pymunk.Circle(sb, spec["radius"], tuple(spec["center"]))
    elif kind == "poly":
        shape = pymunk.Poly(sb, [tuple(v) for v in spec["vertices"]], radius=spec.get("radius", 0.0))
    else:
        raise ValueError(f"static shape: unknown shape {kind!r}")
    _set_material(shape, spec)
    return shape


def _set_material(shape: pymunk.Shape, spec: dict) -> None:
    shape.friction = float(spec["friction"])
    shape.elasticity = float(spec["elasticity"])
    if "group" in spec:  # shapes sharing a non-zero group never collide with each other
        shape.filter = pymunk.ShapeFilter(group=int(spec["group"]))


# --------------------------------------------------------------------------- constraints


def _local(body: pymunk.Body, world_point) -> tuple[float, float]:
    return tuple(body.world_to_local(tuple(world_point)))


def _make_constraint(spec: dict, bodies: list[pymunk.Body], static_body: pymunk.Body) -> pymunk.Constraint:
    a = static_body if spec["a"] == WORLD else bodies[spec["a"]]
    b = static_body if spec["b"] == WORLD else bodies[spec["b"]]
    kind = spec["type"]
    if kind == "pin":
        c = pymunk.PinJoint(a, b, _local(a, spec["anchor_a"]), _local(b, spec["anchor_b"]))
        c.distance = float(spec["length"])
    elif kind == "pivot":
        c = pymunk.PivotJoint(a, b, _local(a, spec["pivot"]), _local(b, spec["pivot"]))
    elif kind == "slide":
        c = pymunk.SlideJoint(a, b, _local(a, spec["anchor_a"]), _local(b, spec["anchor_b"]),
                              float(spec["min"]), float(spec["max"]))
    elif kind == "spring":
        c = pymunk.DampedSpring(a, b, _local(a, spec["anchor_a"]), _local(b, spec["anchor_b"]),
                                float(spec["rest_length"]), float(spec["stiffness"]), float(spec["damping"]))
    elif kind == "groove":
        c = pymunk.GrooveJoint(a, b, _local(a, spec["groove_a"]), _local(a, spec["groove_b"]),
                               _local(b, spec["anchor_b"]))
    elif kind == "rotary_limit":
        c = pymunk.RotaryLimitJoint(a, b, float(spec["min"]), float(spec["max"]))
    elif kind == "rotary_spring":
        c = pymunk.DampedRotarySpring(a, b, float(spec["rest_angle"]), float(spec["stiffness"]),
                                      float(spec["damping"]))
    elif kind == "motor":
        c = pymunk.SimpleMotor(a, b, float(spec["rate"]))
    else:
        raise ValueError(f"unknown constraint type {kind!r}")
    c.collide_bodies = bool(spec.get("collide", True))
    if "max_force" in spec:
        c.max_force = float(spec["max_force"])
    return c


# --------------------------------------------------------------------------- force fields


@dataclass
class _CentralGravity:
    """F = strength * m * d / (|d|^2 + softening^2)^(3/2), d pointing at ``center``."""

    center: tuple[float, float]
    strength: float
    softening: float
    bodies: list[pymunk.Body]

    def apply(self, t: float) -> None:
        cx, cy = self.center
        eps2 = self.softening * self.softening
        for b in self.bodies:
            dx, dy = cx - b.position.x, cy - b.position.y
            inv = self.strength * b.mass / (dx * dx + dy * dy + eps2) ** 1.5
            b.apply_force_at_world_point((dx * inv, dy * inv), b.position)


@dataclass
class _Wind:
    """Linear drag towards a (possibly gusting) wind velocity: F = drag * size * (w(t) - v).

    ``w(t) = velocity + gust_amplitude * sin(2 pi t / gust_period + gust_phase) * unit(velocity)``;
    ``size`` is the body's diameter (circle) or longest side (box/poly), in px.
    """

    velocity: tuple[float, float]
    drag: float
    gust_amplitude: float
    gust_period: float
    gust_phase: float
    bodies: list[pymunk.Body]
    sizes: list[float]

    def apply(self, t: float) -> None:
        wx, wy = self.velocity
        if self.gust_amplitude:
            norm = math.hypot(wx, wy) or 1.0
            g = self.gust_amplitude * math.sin(2 * math.pi * t / self.gust_period + self.gust_phase)
            wx, wy = wx + g * wx / norm, wy + g * wy / norm
        for b, size in zip(self.bodies, self.sizes):
            k = self.drag * size
            b.apply_force_at_world_point((k * (wx - b.velocity.x), k * (wy - b.velocity.y)), b.position)


def object_size(spec: dict) -> float:
    """Characteristic length of an object (px): circle diameter, else longest bounding side."""
    if spec["shape"] == "circle":
        return 2.0 * spec["radius"]
    if spec["shape"] == "box":
        return float(max(spec["size"]))
    xs = [v[0] for v in spec["vertices"]]
    ys = [v[1] for v in spec["vertices"]]
    return float(max(max(xs) - min(xs), max(ys) - min(ys)))


def _make_force(spec: dict, header: dict, bodies: list[pymunk.Body], statics: list[pymunk.Shape]):
    ids = spec.get("objects")
    ids = range(len(bodies)) if ids is None else ids
    kind = spec["type"]
    if kind == "central":
        return _CentralGravity(tuple(spec["center"]), float(spec["strength"]), float(spec["softening"]),
                               [bodies[i] for i in ids])
    if kind == "wind":
        return _Wind(tuple(spec["velocity"]), float(spec["drag"]), float(spec.get("gust_amplitude", 0.0)),
                     float(spec.get("gust_period", 1.0)), float(spec.get("gust_phase", 0.0)),
                     [bodies[i] for i in ids], [object_size(header["objects"][i]) for i in ids])
    if kind == "conveyor":
        # pymunk's surface velocity is a contact property, not a per-step force: set it once.
        statics[spec["static"]].surface_velocity = tuple(spec["velocity"])
        return None
    raise ValueError(f"unknown force type {kind!r}")


# --------------------------------------------------------------------------- world


@dataclass
class World:
    space: pymunk.Space
    bodies: list[pymunk.Body]
    statics: list[pymunk.Shape]
    fields: list = field(default_factory=list)
    substeps: int = 10
    dt: float = 1 / 60

    def step_frame(self, frame: int) -> None:
        """Advance one recorded frame (``substeps`` solver steps), applying force fields before each."""
        h = self.dt / self.substeps
        for k in range(self.substeps):
            t = (frame * self.substeps + k) * h
            for f in self.fields:
                f.apply(t)
            self.space.step(h)

    def state(self, buffer: pymunk.batch.Buffer | None = None) -> np.ndarray:
        """``(num_objects, 6)`` array of x, y, angle, vx, vy, angvel in header object order."""
        buffer = buffer or pymunk.batch.Buffer()
        buffer.clear()
        pymunk.batch.get_space_bodies(self.space, _BATCH_FIELDS, buffer)
        # pymunk lists dynamic bodies first, in insertion (= header) order, then the static body.
        n = len(self.bodies)
        return np.frombuffer(buffer.float_buf(), dtype=np.float64, count=n * 6).reshape(n, 6).copy()


def build_world(header: dict) -> World:
    space = pymunk.Space(threaded=False)
    space.gravity = tuple(header["gravity"])
    space.iterations = int(header.get("iterations", 10))
    space.damping = float(header.get("damping", 1.0))
    statics = [make_static(space, s) for s in header["static"]]
    space.add(*statics)
    bodies = []
    for spec in header["objects"]:
        body, shape = make_object(spec)
        space.add(body, shape)
        bodies.append(body)
    for c in header["constraints"]:
        space.add(_make_constraint(c, bodies, space.static_body))
    fields = [f for f in (_make_force(s, header, bodies, statics) for s in header["forces"]) if f is not None]
    return World(space, bodies, statics, fields, int(header["substeps"]), float(header["dt"]))


def simulate(header: dict) -> np.ndarray:
    """Run a scene from its header. Returns ``(num_frames, num_objects, 6)`` states; frame 0 is the
    initial state before any step."""
    world = build_world(header)
    n_frames = int(header["num_frames"])
    out = np.empty((n_frames, len(world.bodies), 6), dtype=np.float64)
    buffer = pymunk.batch.Buffer()
    out[0] = world.state(buffer)
    for t in range(1, n_frames):
        world.step_frame(t - 1)
        out[t] = world.state(buffer)
    return out
