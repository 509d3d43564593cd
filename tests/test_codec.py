"""The text codec: exact integer round trip, forced/predicted split, zero <unk> with PhysicsTokenizer."""

import json

import numpy as np
import pytest
from transformers import AutoTokenizer

from physics_llm.generation import make_header, render_scene
from physics_llm.scenarios import list_scenarios
from physics_llm.scene_format import parse_frames as parse_scene_frames
from physics_llm.tokenization.codec import (
    ANGLE_PERIOD, KEYWORDS, forced_prefix, integrate, parse_frames, parse_predicted, predicted_part, quantize,
    render_frames, render_header, wrap_angle)
from physics_llm.tokenization.tokenizer import build_physics_tokenizer


def scene(name, index=0, difficulty=3, frames=12, seed=11):
    text = render_scene(make_header(name, index, seed, difficulty, frames))
    lines = text.splitlines()
    header = json.loads(lines[0])
    return parse_scene_frames(header, [json.loads(x) for x in lines[1:]])


@pytest.fixture(scope="module")
def tokenizer():
    return build_physics_tokenizer()


@pytest.mark.parametrize("name", list_scenarios())
def test_frames_round_trip_exactly_and_integrate(name):
    q = quantize(scene(name, frames=15))
    n = q.pos.shape[1]
    ts, pos, ang, dpos, dang = parse_frames(render_frames(q, 0, 14), n)
    assert ts == list(range(14))
    assert np.array_equal(pos, q.pos[:14])
    assert np.array_equal(ang, np.vectorize(wrap_angle)(q.angle[:14]))
    # integrating the predicted parts from frame 0 reproduces every later frame exactly
    p, a = q.pos[0], q.angle[0]
    for t in range(14):
        p, a = integrate(p, a, dpos[t], dang[t])
        assert np.array_equal(p, q.pos[t + 1]) and np.array_equal(a, q.angle[t + 1])


@pytest.mark.parametrize("difficulty", [1, 3, 5])
def test_no_unknown_tokens_for_any_type(tokenizer, difficulty):
    for name in list_scenarios():
        q = quantize(scene(name, index=difficulty, difficulty=difficulty, frames=4))
        text = render_header(q.header) + render_frames(q, 0, 3)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.unk_token_id not in ids, name
        assert tokenizer.decode(ids) == text


def test_header_describes_everything():
    header = make_header("pendulum", 4, 1, 4, 2)
    text = render_header(header)
    lines = text.splitlines()
    assert lines[0] == "scene pendulum" and lines[-1] == "frames"
    assert f"objects {len(header['objects'])}" in lines
    assert f"joints {len(header['constraints'])}" in lines
    assert f"static {len(header['static'])}" in lines
    assert "gravity 0 -9000 damping 1000" in lines  # 0.1 px/s^2; damping in 1/1000
    words = {w for line in lines for w in line.split() if not w.lstrip("-").isdigit()}
    assert words <= set(KEYWORDS) | {"pendulum"}


def test_forced_and_predicted_parts():
    assert forced_prefix(3, [4012, 2377], -105) == "3 4012 2377 -105|"
    assert predicted_part([12, -25], 3) == "12 -25 3\n"
    assert parse_predicted("12 -25 3\n") == (12, -25, 3)
    for bad in ["12 -25\n", "a b c\n", "1 2 3 4\n", "", "12 - 25 3\n"]:
        with pytest.raises(ValueError):
            parse_predicted(bad)


def test_angle_wrap_stays_within_one_turn():
    for a in [-20000, -3142, -3141, 0, 3141, 3142, 6283, 123456]:
        w = wrap_angle(a)
        assert -3142 <= w <= 3140 and (a - w) % ANGLE_PERIOD == 0


def test_parse_frames_names_bad_lines():
    q = quantize(scene("billiards", frames=4))
    text = render_frames(q, 0, 2)
    with pytest.raises(ValueError, match="line 3"):
        parse_frames(text.replace("\n1 ", "\n1 x", 1), q.pos.shape[1])
    with pytest.raises(ValueError, match="frame marker"):
        parse_frames("0 1 2 3|4 5 6\n", 1)


def test_tokenizer_save_load_roundtrip(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded.get_vocab() == tokenizer.get_vocab()
    text = render_header(make_header("tower", 0, 0, 2, 2)) + "t 0\n0 4012 2377 -105|12 -25 3\n"
    assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert loaded.decode(loaded(text, add_special_tokens=False)["input_ids"]) == text
    assert (loaded.pad_token, loaded.bos_token, loaded.eos_token, loaded.unk_token) == (
        "<pad>", "<bos>", "<eos>", "<unk>")


def test_digits_are_single_tokens(tokenizer):
    ids = tokenizer("-4012", add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == ["-", "4", "0", "1", "2"]
