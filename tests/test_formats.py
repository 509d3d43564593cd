"""Text formats: the header codec, every registered format's exact round trip and oracle, token boundaries,
zero <unk>, golden text, the registry and the checkpoint record."""

import json
import logging

import numpy as np
import pytest
from transformers import AutoTokenizer

from physics_llm.generation import make_header, render_scene
from physics_llm.scenarios import list_scenarios
from physics_llm.scene_format import parse_frames as parse_scene_frames
from physics_llm.tokenization import (DEFAULT_FORMAT, FORMAT_FILE, LEGACY_FORMAT, get_format, list_formats,
                                      load_format, parse_format, register_format, resolve_format, save_format)
from physics_llm.tokenization.codec import ANGLE_PERIOD, KEYWORDS, render_header, wall_side, wrap_angle
from physics_llm.tokenization.formats import TextFormat, format_from_spec
from physics_llm.tokenization.tokenizer import build_physics_tokenizer
from make_golden import GOLDEN_DIR, golden_format_text

FORMATS = [get_format(name) for name in list_formats()] + [get_format("velocity_change", pos_scale=10)]
IDS = [str(f) for f in FORMATS]


def scene(name, index=0, difficulty=3, frames=12, seed=11):
    lines = render_scene(make_header(name, index, seed, difficulty, frames)).splitlines()
    return parse_scene_frames(json.loads(lines[0]), [json.loads(x) for x in lines[1:]])


@pytest.fixture(scope="module")
def tokenizer():
    return build_physics_tokenizer()


@pytest.fixture(scope="module")
def scenes():
    """One 15-frame scene of every type (difficulty 3)."""
    return {name: scene(name, frames=15) for name in list_scenarios()}


# --------------------------------------------------------------------------- every format, every type


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_oracle_reproduces_every_type_exactly(fmt, scenes):
    """Ground-truth predicted parts, written as text, parsed back and fed through the harness's update from
    the context state, reproduce every later frame exactly, for every scenario type."""
    for name, sc in scenes.items():
        q = fmt.quantize(sc)
        state = fmt.initial_state(q, 3)
        for t in range(2, q.num_frames - 1):
            parsed = np.array([fmt.parse_predicted(p) for _, p in fmt.frame_segments(q, t)[1:]])
            state = fmt.step(state, parsed)
            assert np.array_equal(state.pos, q.pos[t + 1]), (name, t)
            assert np.array_equal(state.angle, q.angle[t + 1]), (name, t)


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_frames_round_trip_and_forced_part_is_the_state(fmt, scenes):
    for name in ("billiards", "tower", "pendulum", "angry_birds"):
        q = fmt.quantize(scenes[name])
        frames = fmt.frame_range(q)
        shown = fmt.angle_mask(q.header)
        ts, forced, predicted = fmt.parse_frames(fmt.render_frames(q, frames.start, len(frames)), q.num_objects,
                                                 shown)
        assert ts == list(frames)
        for k, t in enumerate(frames):
            s = fmt.state_at(q, t)
            assert np.array_equal(forced[k, :, :2], np.vectorize(fmt.shown_position)(s.pos))
            assert [int(a) for a in forced[k, shown, 2]] == [wrap_angle(a) for a in s.angle[shown]]
            if fmt.show_velocity:
                assert np.array_equal(forced[k, :, 3:5], s.vel) and np.array_equal(forced[k, :, 5], s.angvel)
            assert np.array_equal(predicted[k], fmt.targets(q, t))


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_ground_truth_fits_the_grammar(fmt):
    """Every ground-truth predicted part of every type at difficulties 1, 3, 5 is a word of the constrained
    decoding grammar (digit limit included): constrained decoding can always write the truth."""
    for d in (1, 3, 5):
        for name in list_scenarios():
            q = fmt.quantize(scene(name, index=d, difficulty=d, frames=40))
            for t in fmt.frame_range(q):
                for _, part in fmt.frame_segments(q, t)[1:]:
                    assert fmt.grammar.accepts(part), (name, d, t, part)


@pytest.mark.parametrize("difficulty", [1, 3, 5])
def test_no_unknown_tokens_for_any_type(tokenizer, difficulty):
    for fmt in FORMATS:
        for name in list_scenarios():
            q = fmt.quantize(scene(name, index=difficulty, difficulty=difficulty, frames=4))
            text = fmt.scene_text(q)
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            assert tokenizer.unk_token_id not in ids, (str(fmt), name)
            assert tokenizer.decode(ids) == text


@pytest.mark.parametrize("name", list_formats())
def test_golden_text(name):
    """Each format's text of one fixed scene is pinned (regenerate with tests/make_golden.py when intended)."""
    expected = (GOLDEN_DIR / f"text_{name}.txt").read_text(encoding="utf-8")
    assert golden_format_text(name) == expected


# --------------------------------------------------------------------------- object lines


def test_object_lines_of_each_format():
    sc = scene("projectile", frames=6)
    disp, vc, vn = get_format("displacement"), get_format("velocity_change"), get_format("velocity_next")
    qd, qv = disp.quantize(sc), vc.quantize(sc)
    t = 3
    i = next(k for k in range(qv.num_objects) if (qv.pos[t, k] != qv.pos[t - 1, k]).any())  # a moving object
    p, a, a0, a2 = qv.pos[t, i], int(qv.angle[t, i]), int(qv.angle[t - 1, i]), int(qv.angle[t + 1, i])
    v, nv = qv.pos[t, i] - qv.pos[t - 1, i], qv.pos[t + 1, i] - qv.pos[t, i]
    w = wrap_angle(a)
    shown = [(2 * int(c) + 10) // 20 for c in p]  # 0.01 px state shown at 0.1 px, rounded half up
    assert qv.header["objects"][i]["shape"] == "circle"  # the ball in flight: its angle is not written
    forced_v = f"{i} {shown[0]} {shown[1]} {v[0]} {v[1]} {a - a0}|"
    assert vc.frame_segments(qv, t)[1 + i] == (forced_v, f"{nv[0] - v[0]} {nv[1] - v[1]} {(a2 - a) - (a - a0)}\n")
    assert vn.frame_segments(vn.quantize(sc), t)[1 + i] == (forced_v, f"{nv[0]} {nv[1]} {a2 - a}\n")
    d = qd.pos[t + 1, i] - qd.pos[t, i]
    assert disp.frame_segments(qd, t)[1 + i] == (f"{i} {qd.pos[t, i, 0]} {qd.pos[t, i, 1]} {w}|",
                                                 f"{d[0]} {d[1]} {a2 - a}\n")
    assert vc.frame_segments(qv, t)[0] == ("t 3\n", "")


def test_rest_shorthand_leaves_out_a_zero_velocity_only():
    vc = get_format("velocity_change")
    q = vc.quantize(scene("tower", frames=6))
    state = vc.state_at(q, 2)
    state.vel[0], state.angvel[0] = 0, 0
    state.vel[1], state.angvel[1] = (0, 0), 1
    assert vc.forced_text(0, state).count(" ") == 3  # id x y angle|
    assert vc.forced_text(1, state).endswith(" 0 0 1|")
    line = vc.forced_text(0, state) + "0 -25 0"
    assert vc._parse_line(line, vc.line_regex(), state.angle_shown) == (0, (*map(int, line.split("|")[0].split()[1:]),
                                                                            (0, 0, 0)), [0, -25, 0])


def test_velocity_formats_need_the_frame_before():
    vc = get_format("velocity_change")
    q = vc.quantize(scene("billiards", frames=5))
    assert vc.first_frame == 1 and list(vc.frame_range(q)) == [1, 2, 3]
    with pytest.raises(ValueError, match="frame 0 needs"):
        vc.frame_segments(q, 0)
    with pytest.raises(ValueError, match="at least 2 context"):
        vc.initial_state(q, 1)
    assert get_format("displacement").first_frame == 0


def test_predicted_part_parsing():
    fmt = get_format(DEFAULT_FORMAT)
    assert fmt.predicted_text([12, -25, 3]) == "12 -25 3\n"
    assert fmt.parse_predicted("12 -25 3\n") == (12, -25, 3)
    for bad in ["12 -25\n", "a b c\n", "1 2 3 4\n", "", "12 - 25 3\n"]:
        with pytest.raises(ValueError):
            fmt.parse_predicted(bad)


def test_parse_frames_names_bad_lines():
    vc = get_format("velocity_change")
    q = vc.quantize(scene("billiards", frames=5))  # balls: their angle is not written
    assert not vc.angle_mask(q.header).any() and get_format("displacement").angle_mask(q.header).all()
    with pytest.raises(ValueError, match="line 2"):  # read as if every angle were written: the count is wrong
        vc.parse_frames(vc.render_frames(q, 1, 1), q.num_objects)
    for fmt in FORMATS:
        q = fmt.quantize(scene("billiards", frames=5))
        text = fmt.render_frames(q, fmt.first_frame, 2)
        with pytest.raises(ValueError, match="line 3"):
            fmt.parse_frames(text.replace("\n1 ", "\n1 x", 1), q.num_objects, fmt.angle_mask(q.header))
        with pytest.raises(ValueError, match="frame marker"):
            fmt.parse_frames("0 1 2 3|4 5 6\n", 1)


def test_scene_units_must_match_the_format():
    vc, disp = get_format("velocity_change"), get_format("displacement")
    q = disp.quantize(scene("billiards", frames=4))
    with pytest.raises(ValueError, match="quantised at 10 units per px"):
        vc.state_at(q, 1)


# --------------------------------------------------------------------------- header


def test_header_describes_everything():
    header = make_header("pendulum", 4, 1, 4, 2)
    for walls in (False, True):
        lines = render_header(header, walls=walls).splitlines()
        assert lines[0] == "scene pendulum" and lines[-1] == "frames"
        assert f"objects {len(header['objects'])}" in lines
        assert f"joints {len(header['constraints'])}" in lines
        assert f"static {len(header['static'])}" in lines
        assert "gravity 0 -9000 damping 1000" in lines  # 0.1 px/s^2; damping in 1/1000
        words = {w for line in lines for w in line.split() if not w.lstrip("-").isdigit()}
        assert words <= set(KEYWORDS) | {"pendulum"}


def test_walls_line_replaces_exactly_the_standard_walls():
    header = make_header("billiards", 0, 42, 1, 4)
    sides = [wall_side(s, header["canvas"]) for s in header["static"]]
    assert sides == ["floor", "ceiling", "left", "right"]
    plain, short = render_header(header), render_header(header, walls=True)
    assert plain.count("\nseg ") == 4 and "walls" not in plain
    assert "\nwalls r 200 f 20 e 90 floor ceiling left right\n" in short and "\nseg " not in short
    # a segment off the canvas edge stays a seg line; runs with another material get their own walls line
    odd = json.loads(json.dumps(header))
    odd["static"][1]["a"][1] += 1.0
    odd["static"][3]["friction"] = 0.5
    lines = render_header(odd, walls=True).splitlines()
    assert [x.split()[0] for x in lines[3:6]] == ["walls", "seg", "walls"]
    assert lines[3].endswith(" floor") and lines[5].endswith(" f 20 e 90 left") and lines[6].startswith("walls")


def test_angle_wrap_stays_within_one_turn():
    for a in [-20000, -3142, -3141, 0, 3141, 3142, 6283, 123456]:
        w = wrap_angle(a)
        assert -3142 <= w <= 3140 and (a - w) % ANGLE_PERIOD == 0


# --------------------------------------------------------------------------- registry and record


def test_registry_and_spec_round_trip(tmp_path):
    assert {"displacement", "velocity_change", "velocity_next"} <= set(list_formats())
    fmt = parse_format("velocity_change:pos_scale=10,shown_pos_scale=10")
    assert fmt.pos_scale == 10 and str(fmt) == "velocity_change:pos_scale=10,shown_pos_scale=10"
    assert format_from_spec(fmt.spec()) == fmt
    save_format(tmp_path, fmt)
    assert load_format(tmp_path) == fmt
    assert json.loads((tmp_path / FORMAT_FILE).read_text())["name"] == "velocity_change"
    assert get_format("velocity_change") != fmt


@pytest.mark.parametrize("text, match", [("nope", "unknown text format 'nope'"),
                                         ("velocity_change:speed=3", "takes"),
                                         ("velocity_change:pos_scale=x", "key=integer"),
                                         ("velocity_change:pos_scale=1000", "pos_scale must be"),
                                         ("velocity_change:shown_pos_scale=3", "must divide")])
def test_bad_format_names_and_parameters(text, match):
    with pytest.raises(ValueError, match=match):
        fmt = parse_format(text)
        fmt.quantize(scene("billiards", frames=2))


def test_a_name_registers_once():
    with pytest.raises(ValueError, match="registered twice"):
        register_format("displacement")(lambda: None)


def test_version_mismatch_is_refused():
    spec = get_format("displacement").spec() | {"version": 99}
    with pytest.raises(ValueError, match="version 99"):
        format_from_spec(spec)


def test_checkpoint_without_record_reads_as_displacement(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert load_format(tmp_path) == get_format(LEGACY_FORMAT)
    assert "has no text_format.json" in caplog.text


def test_resolve_format_checks_the_checkpoint(tmp_path):
    save_format(tmp_path, get_format("velocity_change"))
    assert resolve_format(None, tmp_path) == get_format("velocity_change")
    assert resolve_format("velocity_change", tmp_path) == get_format("velocity_change")
    with pytest.raises(ValueError, match="does not match the checkpoint's velocity_change"):
        resolve_format("displacement", tmp_path)
    assert resolve_format(None, None) == get_format(DEFAULT_FORMAT)
    assert isinstance(resolve_format("displacement", None), TextFormat)


# --------------------------------------------------------------------------- tokenizer


def test_tokenizer_save_load_roundtrip(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded.get_vocab() == tokenizer.get_vocab()
    fmt = get_format(DEFAULT_FORMAT)
    text = fmt.scene_text(fmt.quantize(scene("tower", frames=4)))
    assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert loaded.decode(loaded(text, add_special_tokens=False)["input_ids"]) == text
    assert (loaded.pad_token, loaded.bos_token, loaded.eos_token, loaded.unk_token) == (
        "<pad>", "<bos>", "<eos>", "<unk>")


def test_digits_are_single_tokens(tokenizer):
    ids = tokenizer("-4012", add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == ["-", "4", "0", "1", "2"]
