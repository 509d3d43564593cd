import os

import numpy as np
import pytest

from physics_llm.scene_format import encode_frame, fmt_num, read_scene, write_text_atomic


@pytest.mark.parametrize("x,d,expected", [
    (12.5, 2, "12.5"), (3.0, 2, "3"), (-0.001, 2, "0"), (-1.236, 2, "-1.24"), (100.0, 0, "100"),
    (0.0004, 3, "0"), (-7.25, 1, "-7.2"), (1234.5678, 2, "1234.57"),
])
def test_fmt_num_fixed_rounding_shortest_text(x, d, expected):
    assert fmt_num(x, d) == expected


def test_encode_frame_layout_and_rounding():
    state = np.array([[1.234, 2.0, 0.12345, 10.6, -3.2, 0.5], [0.0, -0.004, 0.0, 0.0, 0.0, -1.256]])
    assert encode_frame(5, state) == (
        '{"t":5,"pos":[[1.23,2],[0,0]],"angle":[0.123,0],"vel":[[11,-3],[0,0]],"angvel":[0.5,-1.26]}')


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
