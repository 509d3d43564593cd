"""The simulator needs nothing but the header: hand-written headers exercise every feature."""

import json
import math

import numpy as np
import pytest

from physics_llm.generation import render_scene
from physics_llm.simulation import WORLD, build_world, simulate


def header(objects, static=(), constraints=(), forces=(), gravity=(0.0, -900.0), frames=60):
    objs = []
    for i, o in enumerate(objects):
        objs.append({"id": i, "mass": 1.0, "friction": 0.5, "elasticity": 0.5, "angle": 0.0, "vel": [0.0, 0.0],
                     "angvel": 0.0, **o})
    return {"format": "physics-llm-scene/1", "scenario_type": "test", "category": "complex", "difficulty": 1,
            "seed": 0, "dt": 1 / 60, "substeps": 10, "iterations": 20, "damping": 1.0, "gravity": list(gravity),
            "canvas": [800.0, 600.0], "num_frames": frames, "closed": True, "objects": objs,
            "static": list(static), "constraints": list(constraints), "forces": list(forces)}


FLOOR = {"shape": "segment", "a": [-40, -20], "b": [840, -20], "radius": 20.0, "friction": 0.8, "elasticity": 0.0}
BALL = {"shape": "circle", "radius": 10.0}


def test_free_fall_matches_gravity():
    s = simulate(header([{**BALL, "pos": [400.0, 500.0]}], frames=31))
    t = 30 / 60
    assert s[-1, 0, 1] == pytest.approx(500.0 - 0.5 * 900 * t * t, abs=1.0)
    assert s[-1, 0, 4] == pytest.approx(-900 * t, abs=1e-6)


def test_state_rows_follow_header_order():
    h = header([{**BALL, "pos": [100.0 + 50 * i, 300.0], "vel": [float(i), 0.0]} for i in range(5)],
               static=[FLOOR])
    world = build_world(h)
    state = world.state()
    for i, body in enumerate(world.bodies):
        assert tuple(state[i, :2]) == tuple(body.position)
        assert state[i, 3] == body.velocity.x


def test_box_rests_on_floor_without_sinking():
    s = simulate(header([{"shape": "box", "size": [40.0, 20.0], "pos": [400.0, 10.0]}], static=[FLOOR]))
    assert np.abs(s[:, 0, 1] - 10.0).max() < 0.3


def test_pin_keeps_length_and_pivot_keeps_point():
    h = header([{**BALL, "pos": [500.0, 400.0]}, {**BALL, "pos": [300.0, 300.0]}], constraints=[
        {"type": "pin", "a": WORLD, "b": 0, "anchor_a": [400.0, 400.0], "anchor_b": [500.0, 400.0],
         "length": 100.0, "collide": False},
        {"type": "pivot", "a": WORLD, "b": 1, "pivot": [300.0, 350.0], "collide": False},
    ], frames=120)
    s = simulate(h)
    length = np.linalg.norm(s[:, 0, :2] - np.array([400.0, 400.0]), axis=-1)
    assert np.abs(length - 100.0).max() < 0.5
    # the ball hangs from a pivot 50 px above its centre: it may rotate but its pivot point stays put
    pivot = s[:, 1, :2] + 50.0 * np.stack([-np.sin(s[:, 1, 2]), np.cos(s[:, 1, 2])], axis=-1)
    assert np.abs(pivot - np.array([300.0, 350.0])).max() < 0.5


def test_slide_spring_groove_constraints_hold():
    h = header([{**BALL, "pos": [400.0, 300.0]}, {**BALL, "pos": [200.0, 300.0]},
                {"shape": "box", "size": [20.0, 20.0], "pos": [600.0, 300.0], "vel": [0.0, 100.0]}],
               constraints=[
                   {"type": "slide", "a": WORLD, "b": 0, "anchor_a": [400.0, 400.0], "anchor_b": [400.0, 300.0],
                    "min": 50.0, "max": 120.0},
                   {"type": "spring", "a": WORLD, "b": 1, "anchor_a": [200.0, 400.0], "anchor_b": [200.0, 300.0],
                    "rest_length": 100.0, "stiffness": 200.0, "damping": 5.0},
                   {"type": "groove", "a": WORLD, "b": 2, "groove_a": [600.0, 100.0], "groove_b": [600.0, 500.0],
                    "anchor_b": [600.0, 300.0]},
               ], frames=120)
    s = simulate(h)
    slide_len = np.linalg.norm(s[:, 0, :2] - np.array([400.0, 400.0]), axis=-1)
    assert slide_len.max() <= 120.5
    # the spring settles where stiffness * stretch = m g: 900 / 200 = 4.5 px below its rest length
    assert s[-1, 1, 1] == pytest.approx(300.0 - 4.5, abs=0.3)
    assert np.abs(s[:, 2, 0] - 600.0).max() < 0.5  # the groove keeps x fixed


def test_central_force_attracts_and_wind_pushes():
    center = [400.0, 300.0]
    h = header([{**BALL, "pos": [600.0, 300.0]}, {**BALL, "pos": [100.0, 100.0]}], gravity=(0.0, 0.0), forces=[
        {"type": "central", "center": center, "strength": 2e6, "softening": 10.0, "objects": [0]},
        {"type": "wind", "velocity": [300.0, 0.0], "drag": 0.1, "gust_amplitude": 0.0, "gust_period": 1.0,
         "gust_phase": 0.0, "objects": [1]},
    ], frames=30)
    s = simulate(h)
    # ball 0: a = strength / r^2 = 50 px/s^2 initially, towards the centre (-x)
    assert s[1, 0, 3] == pytest.approx(-50.0 / 60, rel=0.05)
    assert s[:, 0, 1] == pytest.approx(300.0)
    # ball 1: drag towards wind speed, F = drag * diameter * (w - v): accelerates along +x, bounded by w
    assert 0 < s[-1, 1, 3] < 300.0 and s[1, 1, 3] == pytest.approx(0.1 * 20 * 300 / 60, rel=0.05)


def test_conveyor_moves_resting_box():
    h = header([{"shape": "box", "size": [40.0, 20.0], "pos": [400.0, 10.0]}], static=[FLOOR],
               forces=[{"type": "conveyor", "static": 0, "velocity": [100.0, 0.0]}], frames=90)
    s = simulate(h)
    assert abs(s[-1, 0, 0] - 400.0) > 50.0


def test_rerun_from_serialized_header_is_identical():
    h = header([{**BALL, "pos": [400.0 + 0.1234 * i, 300.0 + 30 * i], "vel": [33.3, -12.1]} for i in range(4)],
               static=[FLOOR])
    text = render_scene(h)
    again = render_scene(json.loads(text.split("\n", 1)[0]))
    assert text == again
    assert math.isclose(json.loads(text.split("\n")[1])["pos"][0][0], 400.0)


def test_unknown_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown shape"):
        build_world(header([{"shape": "triangle", "pos": [1.0, 1.0]}]))


def test_builder_keeps_world_constraints_colliding_with_walls():
    """collide=False against the static world would disable contacts with every wall (seen: a pendulum
    bob swinging out through the left wall), so the builder never records it."""
    from physics_llm.scenarios.builder import SceneBuilder

    sb = SceneBuilder()
    sb.add_walls()
    bob = sb.add_ball((60.0, 300.0), 10.0, vel=(-1500.0, 0.0))
    other = sb.add_ball((200.0, 300.0), 10.0)
    sb.pin(WORLD, bob, (60.0, 500.0), (60.0, 300.0), collide=False)  # swings left, into the wall
    sb.pin(bob, other, (60.0, 300.0), (200.0, 300.0), collide=False)
    spec = sb.to_spec("test", "constraints", 1)
    assert [c["collide"] for c in spec["constraints"]] == [True, False]
    spec["num_frames"] = 30
    assert simulate(spec)[:, bob, 0].min() > 0.0  # stopped by the left wall


def test_motor_and_rotary_spring():
    plank = {"shape": "box", "size": [100.0, 10.0]}
    h = header([{**plank, "pos": [200.0, 300.0]}, {**plank, "pos": [500.0, 300.0], "angle": 0.5}],
               gravity=(0.0, 0.0), constraints=[
                   {"type": "pivot", "a": WORLD, "b": 0, "pivot": [200.0, 300.0]},
                   {"type": "motor", "a": WORLD, "b": 0, "rate": 2.0, "max_force": 1e7},
                   {"type": "pivot", "a": WORLD, "b": 1, "pivot": [500.0, 300.0]},
                   {"type": "rotary_spring", "a": WORLD, "b": 1, "rest_angle": 0.0, "stiffness": 5e4, "damping": 0.0},
                   {"type": "rotary_limit", "a": WORLD, "b": 1, "min": -0.3, "max": 0.6},
               ], frames=60)
    s = simulate(h)
    assert s[-1, 0, 5] == pytest.approx(-2.0, abs=1e-3)  # pymunk's SimpleMotor drives angvel_b - angvel_a to -rate
    assert s[:, 1, 2].min() == pytest.approx(-0.3, abs=0.02)  # the spring swings it back into the limit
    assert s[:, 1, 2].max() <= 0.6


@pytest.mark.parametrize("angle", [0.0, math.pi / 2, 2.5])
def test_force_fields_act_in_world_frame_on_rotated_bodies(angle):
    """pymunk's apply_force_at_local_point would turn the force with the body (a box turned a quarter
    turn was pushed along +y by a wind along +x)."""
    box = {"shape": "box", "size": [20.0, 20.0], "angle": angle, "fixed_rotation": True}
    h = header([{**box, "pos": [200.0, 300.0]}, {**box, "pos": [600.0, 300.0]}], gravity=(0.0, 0.0), forces=[
        {"type": "wind", "velocity": [300.0, 0.0], "drag": 0.1, "objects": [0]},
        {"type": "central", "center": [600.0, 100.0], "strength": 1e6, "softening": 1.0, "objects": [1]},
    ], frames=3)
    s = simulate(h)
    assert s[-1, 0, 3] > 0 and abs(s[-1, 0, 4]) < 1e-9  # wind: +x only
    assert s[-1, 1, 4] < 0 and abs(s[-1, 1, 3]) < 1e-9  # attractor straight below: -y only
