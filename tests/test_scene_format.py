import json
import os

import numpy as np
import pytest

from physics_llm.scene_format import encode_frame, encode_frames, read_scene, write_text_atomic


@pytest.mark.parametrize("column,x,expected", [
    (0, 12.5, "12.50"), (0, 3.0, "3.00"), (0, -0.001, "0.00"), (0, -1.236, "-1.24"), (0, 1234.5678, "1234.57"),
    (2, 0.0004, "0.000"), (2, -0.0004, "0.000"), (3, 100.4, "100"), (3, -0.4, "0"), (5, -7.254, "-7.25"),
])
def test_fixed_decimals_per_field_and_no_negative_zero(column, x, expected):
    state = np.zeros((1, 6))
    state[0, column] = x
    frame = json.loads(encode_frame(0, state), parse_float=str, parse_int=str)
    key, i = {0: ("pos", 0), 2: ("angle", None), 3: ("vel", 0), 5: ("angvel", None)}[column]
    value = frame[key][0] if i is None else frame[key][0][i]
    assert value == expected


def test_encode_frame_layout_and_rounding():
    state = np.array([[1.234, 2.0, 0.12345, 10.6, -3.2, 0.5], [0.0, -0.004, 0.0, 0.0, 0.0, -1.256]])
    assert encode_frame(5, state) == (
        '{"t":5,"pos":[[1.23,2.00],[0.00,0.00]],"angle":[0.123,0.000],"vel":[[11,-3],[0,0]],'
        '"angvel":[0.50,-1.26]}')


def test_encode_frames_matches_per_frame_encoding_and_rejects_nan():
    rng = np.random.default_rng(0)
    states = rng.normal(scale=300.0, size=(7, 4, 6))
    lines = encode_frames(states, start=3)
    assert lines == [encode_frame(3 + i, s) for i, s in enumerate(states)]
    assert [json.loads(x)["t"] for x in lines] == list(range(3, 10))
    states[2, 1, 4] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        encode_frames(states)


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    p = tmp_path / "scene_00000000.jsonl"
    write_text_atomic(p, "a\n")
    write_text_atomic(p, "b\n")
    assert p.read_text() == "b\n"
    assert os.listdir(tmp_path) == [p.name]


def test_read_scene_shapes(small_dataset):
    path = next((small_dataset / "billiards").glob("scene_*.jsonl"))
    scene = read_scene(path)
    n = len(scene.header["objects"])
    assert scene.pos.shape == (scene.header["num_frames"], n, 2)
    assert scene.angle.shape == scene.angvel.shape == (scene.header["num_frames"], n)
