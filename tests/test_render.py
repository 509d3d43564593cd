"""Rendering: GIFs decode with the right length, geometry lands where the world says."""

import math

import numpy as np
import pytest
from PIL import Image

from physics_llm.generation import make_header
from physics_llm.render import PALETTE, Canvas, SceneRenderer, frame_step, side_by_side
from physics_llm.simulation import simulate
from render_gallery import main as gallery_main


def test_canvas_flips_y():
    cv = Canvas((800.0, 600.0), 0.5)
    assert cv.image_size == (400, 300)
    assert cv.to_image(0.0, 0.0) == (0.0, 300.0)
    assert cv.to_image(800.0, 600.0) == (400.0, 0.0)


def test_frame_step_plays_in_real_time():
    assert frame_step(1 / 60, 15) == 4
    assert frame_step(1 / 60, 60) == 1
    with pytest.raises(ValueError):
        frame_step(1 / 60, 0)


def test_rotated_box_is_drawn_rotated():
    header = make_header("tower", 0, 0, 1, 2)
    header["objects"] = [{"id": 0, "shape": "box", "size": [200.0, 20.0], "mass": 1.0, "friction": 0.5,
                          "elasticity": 0.5, "pos": [400.0, 300.0], "angle": 0.0, "vel": [0.0, 0.0], "angvel": 0.0}]
    header["static"], header["constraints"], header["forces"] = [], [], []
    r = SceneRenderer(header, scale=1.0)
    green = list(PALETTE).index("green_fill")

    def filled(angle):
        im = r.canvas.new_image()
        r.draw(im, np.array([[400.0, 300.0]]), np.array([angle]))
        return np.array(im) == green

    flat, upright = filled(0.0), filled(math.pi / 2)
    assert flat[300, 480] and not flat[220, 400]  # wide along x (image row 300 = world y 300)
    assert upright[220, 400] and not upright[300, 480]  # after a quarter turn: tall along y


def test_side_by_side_pairs_frames():
    header = make_header("pendulum", 0, 0, 1, 8)
    s = simulate(header)
    r = SceneRenderer(header, scale=0.25)
    left = r.frames(s[..., :2], s[..., 2], style="truth")
    right = r.frames(s[..., :2] + 10.0, s[..., 2], style="prediction")
    pair = side_by_side(left, right, gap=4)
    assert len(pair) == 8 and pair[0].size == (2 * 200 + 4, 150)
    with pytest.raises(ValueError):
        side_by_side(left, right[:-1])


def test_gallery_script_renders_decodable_gifs(tmp_path):
    assert gallery_main(["--output-dir", str(tmp_path), "--scenario-types", "pendulum", "billiards",
                         "--difficulty", "2", "--fps", "15", "--frames", "40"]) == 0
    for name in ("pendulum", "billiards"):
        with Image.open(tmp_path / f"{name}.gif") as im:
            # 40 frames, one GIF frame per 4 simulated; Pillow merges identical frames, so count time
            total_ms = 0
            for i in range(im.n_frames):
                im.seek(i)
                total_ms += im.info["duration"]
            assert total_ms == 10 * 60  # 67 ms per frame, stored by GIF in whole centiseconds
            assert im.size == (320, 240)
    assert Image.open(tmp_path / "gallery.png").size[0] > 2 * 320


def test_gallery_script_rejects_bad_arguments(tmp_path, capsys):
    assert gallery_main(["--output-dir", str(tmp_path), "--scenario-types", "nope"]) == 2
    assert "--scenario-types" in capsys.readouterr().err
    assert gallery_main(["--output-dir", str(tmp_path), "--difficulty", "9"]) == 2
