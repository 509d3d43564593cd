"""Baselines (known answers, honesty) and metrics (hand-computed values, bootstrap, skill, split)."""

import json
import math

import numpy as np
import pytest

from physics_llm.baselines import BASELINES, constant_acceleration, constant_velocity, copy_last, run_baselines
from physics_llm.generation import make_header, render_scene
from physics_llm.metrics import aggregate, bootstrap_ci, scene_metrics, score_rollout, skill_score
from physics_llm.scene_format import parse_frames
from physics_llm.tokenization.codec import QuantizedScene, quantize

K, H = 10, 20
HEADER = {"scenario_type": "projectile", "dt": 1 / 60, "objects": [{"mass": 1.0}, {"mass": 2.0}]}


def hand_scene(frames=K + H):
    """Object 0 at constant velocity, object 1 in free fall (integer parabola, d_t = 7 - 3 t);
    angles: object 0 spins at a constant rate, object 1 with constant angular acceleration."""
    t = np.arange(frames)
    pos = np.zeros((frames, 2, 2), np.int64)
    pos[:, 0] = np.stack([1000 + 12 * t, 500 - 5 * t], -1)
    pos[:, 1] = np.stack([2000 + 4 * t, 3000 + 7 * t - 3 * t * (t - 1) // 2], -1)
    angle = np.stack([10 * t, 2 * t * t], -1).astype(np.int64)
    return QuantizedScene(dict(HEADER), pos, angle)


def test_docstring_example():
    pos = np.zeros((5, 1, 2), np.int64)
    pos[:3, 0, 0] = [0, 10, 30]
    q = QuantizedScene(HEADER, pos, np.zeros((5, 1), np.int64))
    assert copy_last(q, 3, 2)[0][:, 0, 0].tolist() == [30, 30]
    assert constant_velocity(q, 3, 2)[0][:, 0, 0].tolist() == [50, 70]
    assert constant_acceleration(q, 3, 2)[0][:, 0, 0].tolist() == [60, 100]


def test_known_answers():
    q = hand_scene()
    future = slice(K, K + H)
    p, a = constant_velocity(q, K, H)
    assert p.shape == (H, 2, 2) and a.shape == (H, 2) and p.dtype == a.dtype == np.int64
    assert np.array_equal(p[:, 0], q.pos[future, 0]) and np.array_equal(a[:, 0], q.angle[future, 0])
    assert not np.array_equal(p[:, 1], q.pos[future, 1])  # free fall is not constant velocity
    p, a = constant_acceleration(q, K, H)
    assert np.array_equal(p, q.pos[future]) and np.array_equal(a, q.angle[future])  # exact on both
    p, a = copy_last(q, K, H)
    assert np.array_equal(p, np.broadcast_to(q.pos[K - 1], p.shape))
    assert np.array_equal(a, np.broadcast_to(q.angle[K - 1], a.shape))


@pytest.mark.parametrize("name", list(BASELINES))
def test_never_reads_the_future(name):
    q = hand_scene()
    bad = QuantizedScene(q.header, q.pos.copy(), q.angle.copy())
    bad.pos[K:] = -99999
    bad.angle[K:] = 12345
    p0, a0 = BASELINES[name](q, K, H)
    p1, a1 = BASELINES[name](bad, K, H)
    assert np.array_equal(p0, p1) and np.array_equal(a0, a1)
    # the horizon may even run past the scene's end: only the context is needed
    short = QuantizedScene(q.header, q.pos[:K], q.angle[:K])
    assert np.array_equal(BASELINES[name](short, K, H)[0], p0)


def test_bad_arguments():
    q = hand_scene()
    with pytest.raises(ValueError, match="at least 3"):
        constant_acceleration(q, 2, H)
    with pytest.raises(ValueError, match="context"):
        copy_last(q, q.num_frames + 1, H)


def test_scene_metrics_by_hand():
    true = np.zeros((3, 2, 2), np.int64)  # 3 steps, 2 objects, all at rest at the origin
    pred = true.copy()
    pred[0, 0] = [30, 40]  # step 0: object 0 off by 5 px (3-4-5), object 1 exact
    pred[1, :] = [[60, 80], [0, 600]]  # step 1: 10 px and 60 px
    pred[2, :] = [[0, 1000], [0, 1000]]  # step 2: 100 px each
    ang_t = np.zeros((3, 2), np.int64)
    ang_p = ang_t.copy()
    ang_p[0, 0] = 6283  # one full turn: wrapped error ~0
    ang_p[1, 1] = -1000
    m = scene_metrics(true, pred, ang_t, ang_p, last_context_pos=np.zeros((2, 2)), masses=[1.0, 1.0], dt=0.1,
                      tolerance_px=5, divergence_px=30)
    s = m["per_step"]
    assert s["mse"] == pytest.approx([12.5, (100 + 3600) / 2, 10000])
    assert s["rmse"] == pytest.approx([math.sqrt(12.5), math.sqrt(1850), 100])
    assert s["mean_error"] == pytest.approx([2.5, 35, 100])
    assert s["accuracy"] == pytest.approx([1.0, 0.0, 0.0])  # 5 px is within a 5 px tolerance
    assert s["angle_error"] == pytest.approx([0.0, 0.5, 0.0], abs=1e-3)
    assert m["divergence_step"] == 1
    assert m["rmse"] == pytest.approx(math.sqrt((12.5 + 1850 + 10000) / 3))
    assert m["final_rmse"] == pytest.approx(100)
    assert m["format_failure_rate"] == 0
    assert scene_metrics(true, true, ang_t, ang_t, last_context_pos=np.zeros((2, 2)), masses=[1, 1], dt=0.1,
                         format_failures=3)["format_failure_rate"] == pytest.approx(0.5)
    json.dumps(m)


def test_energy_and_momentum_drift():
    q = hand_scene()
    truth = q.pos[K:K + H]
    m = score_rollout(q, truth, q.angle[K:K + H], K, scene_id="a")
    assert m["energy_drift"] == 0 and m["momentum_drift"] == 0 and m["divergence_step"] is None
    p, a = copy_last(q, K, H)  # nothing moves: KE 0, so the drift is -KE_true / E_ref, mean -1 exactly
    s = score_rollout(q, p, a, K, scene_id="a")["per_step"]
    assert np.mean(s["energy_drift"]) == pytest.approx(-1.0)
    assert all(x < 0 for x in s["energy_drift"]) and all(x > 0 for x in s["momentum_drift"])


def test_bootstrap_and_skill():
    vals = [1.0, 2.0, 3.0, 4.0, 10.0]
    ci = bootstrap_ci(vals, seed=3)
    assert ci[0] <= np.mean(vals) <= ci[1]
    assert ci == bootstrap_ci(vals, seed=3) and ci != bootstrap_ci(vals, seed=4)
    assert bootstrap_ci([1.0]) is None and bootstrap_ci([]) is None
    assert skill_score([2.0, 4.0], [2.0, 4.0]) == 0
    assert skill_score([0.0, 0.0], [2.0, 4.0]) == 1
    assert skill_score([1.0], [0.0]) is None


def _record(scene_id, kind, mse):
    h = 2
    return {"scene_id": scene_id, "scenario_type": kind, "horizon": h, "num_objects": 1, "mse": mse,
            "rmse": math.sqrt(mse), "final_rmse": math.sqrt(mse), "mean_error": math.sqrt(mse), "angle_error": 0.0,
            "accuracy": 1.0, "energy_drift": 0.0, "momentum_drift": 0.0, "divergence_step": None,
            "format_failures": 0, "format_failure_rate": 0.0,
            "per_step": {k: [mse] * h for k in ("mse", "rmse", "mean_error", "angle_error", "accuracy",
                                               "energy_drift", "momentum_drift")}}


def test_aggregate_split_and_skill():
    cv = [_record(f"s{i}", t, 4.0) for i, t in enumerate(["projectile", "projectile", "pong", "tower"])]
    model = [_record(f"s{i}", t, m) for i, (t, m) in enumerate(
        [("projectile", 1.0), ("projectile", 3.0), ("pong", 0.0), ("tower", 4.0)])]
    out = aggregate(model, cv_records=cv, trained_types=["projectile", "pong"], seed=1)
    json.dumps(out)
    assert out["split"]["source"] == "trained_types"
    sv = out["seen_vs_held_out"]
    assert sv["seen"]["scenario_types"] == ["pong", "projectile"] and sv["held_out"]["scenario_types"] == ["tower"]
    assert sv["seen"]["skill_vs_cv"]["mean"] == pytest.approx(1 - (4 / 3) / 4)
    assert sv["held_out"]["skill_vs_cv"] == {"mean": 0.0, "ci95": None}  # one scene: no CI
    assert out["per_type"]["projectile"]["mse"]["mean"] == 2.0
    assert out["per_type"]["projectile"]["mse"]["ci95"] is not None
    assert {k: v["num_scenes"] for k, v in out["per_category"].items()} == {"collision": 2, "minigame": 1, "stacking": 1}
    assert aggregate(cv, cv_records=cv)["overall"]["skill_vs_cv"]["mean"] == 0
    fallback = aggregate(model)  # no record of trained types: the default held-out list, and it says so
    assert fallback["split"]["source"] == "HELD_OUT_TYPES"
    assert fallback["seen_vs_held_out"]["held_out"]["scenario_types"] == ["pong"]
    with pytest.raises(ValueError, match="constant-velocity"):
        aggregate(model, cv_records=cv[:1])


def test_real_projectile_scene():
    text = render_scene(make_header("projectile", 0, 7, 2, K + H))
    lines = text.splitlines()
    q = quantize(parse_frames(json.loads(lines[0]), [json.loads(x) for x in lines[1:]]))
    rmse = {name: score_rollout(q, p, a, K, scene_id="p0")["rmse"] for name, (p, a) in run_baselines(q, K, H).items()}
    print("projectile RMSE (px) over 20 frames:", rmse)
    assert rmse["constant_acceleration"] < rmse["copy_last"]


def test_baselines_in_the_units_of_the_format():
    """The same ground truth quantised at 0.1 px and 0.01 px: copy-last is the same rollout (errors agree to
    the rounding), and constant acceleration gets exact at 0.01 px, where free-fall is an integer parabola."""
    from physics_llm.tokenization import get_format

    text = render_scene(make_header("projectile", 0, 7, 2, K + H))
    lines = text.splitlines()
    scene = parse_frames(json.loads(lines[0]), [json.loads(x) for x in lines[1:]])
    rmse = {}
    for fmt in (get_format("displacement"), get_format("velocity_change")):
        q = fmt.quantize(scene)
        assert q.pos_scale == fmt.pos_scale
        rmse[fmt.pos_scale] = {name: score_rollout(q, p, a, K, scene_id="p0")["rmse"]
                               for name, (p, a) in run_baselines(q, K, H).items()}
    assert abs(rmse[10]["copy_last"] - rmse[100]["copy_last"]) < 0.1
    assert rmse[100]["constant_acceleration"] < rmse[10]["constant_acceleration"]
