"""physics_llm.probe (teacher-forced accuracy per field and object state) and its script (CPU, tiny)."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from conftest import generate, train_tiny
from physics_llm.probe import (CONTACT, FREE_FLIGHT, REST, STATES, object_states, teacher_forced_accuracy,
                               token_fields)
from physics_llm.scene_format import read_scene
from physics_llm.tokenization import build_physics_tokenizer, get_format, scene_windows
from physics_llm.tokenization.codec import QuantizedScene
from teacher_forced_accuracy import main as probe_main

MAX_LEN = 1024


class Oracle(torch.nn.Module):
    """Logits with all mass on the true next token (it reads the window it is given); ``wrong``: one token id
    it predicts everywhere instead; ``wrong_field``: the field (0..2) of predicted parts it gets wrong."""

    def __init__(self, tokenizer, wrong: int | None = None, wrong_field: int | None = None):
        super().__init__()
        self.vocab, self.wrong, self.wrong_field = len(tokenizer), wrong, wrong_field
        self.bar, self.space, self.nl = (tokenizer.convert_tokens_to_ids(c) for c in ("|", " ", "\n"))
        self.modes = set()  # self.training at each forward pass

    def forward(self, input_ids):
        self.modes.add(self.training)
        B, T = input_ids.shape
        target = input_ids.clone()
        target[:, :-1] = input_ids[:, 1:]  # (B, T): logits at p predict token p + 1
        if self.wrong is not None:
            target[:] = self.wrong
        if self.wrong_field is not None:
            for b in range(B):
                in_part, spaces = False, 0
                for p, tok in enumerate(input_ids[b].tolist()):
                    if p > 0 and in_part and spaces == self.wrong_field:
                        target[b, p - 1] = self.bar  # never inside a predicted part
                    if tok == self.bar:
                        in_part, spaces = True, 0
                    elif tok == self.nl:
                        in_part = False
                    elif tok == self.space and in_part:
                        spaces += 1
        return SimpleNamespace(logits=torch.nn.functional.one_hot(target, self.vocab).float())  # (B, T, V)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe_scenes")
    generate(root, types=["projectile", "tower"], n=1, frames=40)
    return sorted(root.glob("*/scene_*.jsonl"))


@pytest.fixture(scope="module")
def tokenizer():
    return build_physics_tokenizer(model_max_length=MAX_LEN)


def _labelled(paths, tokenizer, fmt):
    windows = [w for p in paths for w in scene_windows(p, tokenizer, MAX_LEN, fmt)]
    n_obj = {str(p): len(read_scene(p).header["objects"]) for p in paths}
    return (sum(sum(lab != -100 for lab in w["labels"]) for w in windows),
            sum(w["num_frames"] * n_obj[w["path"]] for w in windows))


@pytest.mark.parametrize("name", ["velocity_change", "displacement"])
def test_oracle_is_perfect_and_a_constant_model_scores_zero(scenes, tokenizer, name):
    fmt = get_format(name)
    tokens, object_frames = _labelled(scenes, tokenizer, fmt)
    r = teacher_forced_accuracy(Oracle(tokenizer), tokenizer, fmt, scenes, MAX_LEN, trained_types=["projectile"])
    assert r["text_format"] == fmt.spec() and r["fields"] == list(fmt.predicted_fields)
    assert r["tokens"] == tokens and r["token_accuracy"] == 1.0 and r["gravity_accuracy"] == 1.0
    assert sum(s["object_frames"] for s in r["per_state"].values()) == object_frames
    assert all(r["per_state"][s]["object_frames"] > 0 for s in STATES)
    for s in r["per_state"].values():
        assert s["part_accuracy"] == 1.0 and set(s["field_accuracy"].values()) == {1.0}
    assert r["per_type"]["projectile"]["part_accuracy"] == 1.0 and r["scenes"] == {"evaluated": 2, "skipped": []}
    for state in STATES:  # the split partitions the object-frames
        assert sum(r["per_split"][sp][state]["object_frames"] for sp in ("seen", "held_out")) == \
            r["per_state"][state]["object_frames"]
    assert r["per_split"]["seen"]["contact"]["object_frames"] < r["per_state"]["contact"]["object_frames"]
    g = r["gravity_accuracy_per_split"]
    assert g["seen"]["object_frames"] + g["held_out"]["object_frames"] == r["gravity_object_frames"] > 0
    json.dumps(r)

    bar = tokenizer.convert_tokens_to_ids("|")  # never a predicted token
    r = teacher_forced_accuracy(Oracle(tokenizer, wrong=bar), tokenizer, fmt, scenes, MAX_LEN)
    assert "per_split" not in r and r["token_accuracy"] == 0.0 and r["gravity_accuracy"] == 0.0
    for s in r["per_state"].values():
        assert s["part_accuracy"] == 0.0 and set(s["field_accuracy"].values()) == {0.0}


def test_gravity_headline_leaves_out_scenes_without_gravity(tmp_path, tokenizer):
    """A billiards table has no gravity: whatever coasts there says nothing about learning gravity."""
    generate(tmp_path, types=["billiards"], n=1, frames=30)
    fmt = get_format("velocity_change")
    r = teacher_forced_accuracy(Oracle(tokenizer), tokenizer, fmt, sorted(tmp_path.glob("*/scene_*.jsonl")), MAX_LEN)
    assert r["gravity_object_frames"] == 0 and r["gravity_accuracy"] is None
    assert r["per_state"]["rest"]["object_frames"] + r["per_state"]["free_flight"]["object_frames"] > 0


def test_one_wrong_field_is_that_field_only(scenes, tokenizer):
    fmt = get_format("velocity_change")
    model = Oracle(tokenizer, wrong_field=1)
    r = teacher_forced_accuracy(model, tokenizer, fmt, scenes, MAX_LEN)
    assert r["gravity_accuracy"] == 0.0 and 0.0 < r["token_accuracy"] < 1.0
    for s in r["per_state"].values():
        assert s["field_accuracy"] == {"ax": 1.0, "ay": 0.0, "aangle": 1.0} and s["part_accuracy"] == 0.0
    assert model.training and model.modes == {False}  # run in eval mode, then put back as it was found


def test_token_fields_spanning_tokens():
    pieces = ["12", " -", "25 ", "3\n"]  # BPE-like tokens across the separators
    stub = SimpleNamespace(decode=lambda ids, **kw: "".join(pieces[i] for i in ids))
    assert token_fields(stub, [0, 1, 2, 3]) == [(0, 0), (0, 1), (1, 1), (2, 2)]
    tok = build_physics_tokenizer()
    ids = tok("-3 0 12\n", add_special_tokens=False)["input_ids"]
    assert token_fields(tok, ids) == [(0, 0)] * 3 + [(1, 1)] * 2 + [(2, 2)] * 3
    with pytest.raises(ValueError):
        token_fields(tok, tok("1 2\n", add_special_tokens=False)["input_ids"])


def test_states_of_a_generated_projectile_scene(scenes):
    path = next(p for p in scenes if p.parent.name == "projectile")
    header = read_scene(path).header
    for name in ("velocity_change", "displacement"):  # gravity -25 units at 0.01 px, -2.5 at 0.1 px
        fmt = get_format(name)
        states = object_states(fmt.quantize(read_scene(path)), fmt)
        for i, o in enumerate(header["objects"]):
            expected = FREE_FLIGHT if o["shape"] == "circle" else REST  # the ball in flight, resting targets
            assert (states[1:20, i] == expected).all(), (name, i, states[:, i])


def test_states_of_a_hand_made_scene():
    fmt = get_format("velocity_change")
    T, t = 8, np.arange(8)
    fall = np.stack([1000 + 120 * t, 5000 + 40 * t - 25 * t * (t - 1) // 2], axis=-1)  # v_t - v_{t-1} = -25
    bounce = fall.copy()
    bounce[5:, 1] = 2 * bounce[4, 1] - bounce[5:, 1]  # reflected at frame 4
    pos = np.stack([fall, np.full((T, 2), 300), fall, bounce, fall], axis=1)  # (T, 5, 2)
    angle = np.zeros((T, 5), np.int64)
    angle[:, 4] = 37 * t // 5  # a steady spin of 7.4 mrad per frame, rounded: changes of -1 .. 1
    header = {"gravity": [0.0, -900.0], "dt": 1 / 60, "objects": [{}] * 5,
              "forces": [{"type": "wind", "objects": [2]}, {"type": "conveyor", "static": 0}]}
    states = object_states(QuantizedScene(header, pos.astype(np.int64), angle, pos_scale=100), fmt)
    assert states.shape == (T - 1, 5)
    assert (states[:, 0] == FREE_FLIGHT).all() and (states[:, 1] == REST).all() and (states[:, 4] == FREE_FLIGHT).all()
    assert (states[:, 2] == CONTACT).all()  # the wind acts on it
    assert states[4, 3] == CONTACT and (states[:4, 3] == FREE_FLIGHT).all()
    header["forces"] = [{"type": "central", "objects": None}]  # acts on every object
    states = object_states(QuantizedScene(header, pos.astype(np.int64), angle, pos_scale=100), fmt)
    assert set(states[:, [0, 2, 4]].ravel()) == {CONTACT} and (states[:, 1] == REST).all()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe_ckpt")
    train, val, out = root / "train", root / "val", root / "run"
    generate(train, types=["projectile", "tower"], n=2, frames=40)
    generate(val, types=["projectile", "bowling"], n=2, frames=40, seed=11)
    assert train_tiny(train, out, MAX_LEN) == 0
    return {"run": out, "val": val, "root": root}


def test_script_end_to_end(checkpoint, capsys):
    out = checkpoint["root"] / "probe" / "tf.json"
    assert probe_main(["--checkpoint", str(checkpoint["run"]), "--val-dir", str(checkpoint["val"]),
                       "--max-scenes-per-type", "1", "--output", str(out), "--no-progress"]) == 0
    r = json.loads(out.read_text())
    for key in ("text_format", "fields", "tokens", "token_accuracy", "per_state", "per_split", "per_type",
                "gravity_accuracy", "settings"):
        assert key in r
    assert set(r["per_state"]) == set(STATES) and set(r["per_split"]) == {"seen", "held_out"}
    assert set(r["per_type"]) == {"projectile", "bowling"} and r["tokens"] > 0
    assert 0.0 <= r["token_accuracy"] <= 1.0 and r["settings"]["max_seq_length"] == MAX_LEN
    assert r["per_split"]["held_out"]["rest"]["object_frames"] + r["per_split"]["held_out"]["contact"][
        "object_frames"] + r["per_split"]["held_out"]["free_flight"]["object_frames"] == \
        r["per_type"]["bowling"]["object_frames"]
    table = capsys.readouterr().out
    assert "free_flight" in table and "gravity accuracy" in table

    cfg = checkpoint["root"] / "probe.yaml"  # --config, a list of types in it, a flag over it; JSON on stdout
    cfg.write_text(f"checkpoint: {checkpoint['run']}\nval_dir: {checkpoint['val']}\nscenario_types: [projectile]\n"
                   "max_scenes_per_type: 2\nprogress: false\n")
    assert probe_main(["--config", str(cfg), "--max-scenes-per-type", "1"]) == 0
    text = capsys.readouterr().out
    r = json.loads(text[:text.index("\nstate ")])
    assert list(r["per_type"]) == ["projectile"] and r["scenes"]["evaluated"] == 1
    assert r["settings"]["scenario_types"] == ["projectile"]


def test_script_bad_arguments_exit_2(checkpoint, tmp_path, capsys):
    val = ["--val-dir", str(checkpoint["val"])]
    ck = ["--checkpoint", str(checkpoint["run"])]
    cases = [
        (val, "--checkpoint"),
        (["--checkpoint", str(tmp_path / "missing"), *val], "--checkpoint"),
        ([*ck, "--val-dir", str(tmp_path / "nodata")], "--val-dir"),
        ([*ck, *val, "--max-scenes-per-type", "0"], "--max-scenes-per-type"),
        ([*ck, *val, "--scenario-types", "nosuchtype"], "--scenario-types"),
        ([*ck, *val, "--max-seq-length", str(10 * MAX_LEN)], "--max-seq-length"),
    ]
    for argv, flag in cases:
        assert probe_main(argv) == 2, argv
        err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
        assert len(err) == 1 and flag in err[0], (argv, err)  # one line naming the flag


def test_bpe_tokenizer_oracle(scenes):
    """A byte-level BPE tokenizer (LFM2-like: tokens merge digits, spaces and signs) maps back to fields too."""
    from physics_llm.finetune import train_bpe_tokenizer

    fmt = get_format("velocity_change")
    tok = train_bpe_tokenizer([fmt.scene_text(fmt.quantize(read_scene(p))) for p in scenes], 512, MAX_LEN)
    spans = [s for part in ("0 -25 0\n", "12 -3 0\n") for s in token_fields(tok, tok(part, add_special_tokens=False)["input_ids"])]
    assert any(lo != hi for lo, hi in spans)  # some token crosses a separator
    r = teacher_forced_accuracy(Oracle(tok), tok, fmt, scenes, MAX_LEN)
    assert r["token_accuracy"] == 1.0 and r["gravity_accuracy"] == 1.0
    r = teacher_forced_accuracy(Oracle(tok, wrong=tok.pad_token_id), tok, fmt, scenes, MAX_LEN)
    assert r["token_accuracy"] == 0.0 and r["per_state"]["rest"]["part_accuracy"] == 0.0
