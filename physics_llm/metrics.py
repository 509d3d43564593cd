"""Rollout metrics per scene and their aggregation over scenes (DESIGN.md §6). No plotting here.

Conventions. Inputs are in text units (positions ``1 / pos_scale`` px: the scene's quantisation, 0.1 or
0.01 px; angles mrad unwrapped, as the text format and the rollout produce them) and are converted here
with ``pos_scale`` / ``ANGLE_SCALE``. Predicted and true
arrays cover the same frames ``K .. K+H-1``; "step h" (0-based) is frame ``K + h``. Per object the
position error is the Euclidean distance ``e = |x_pred - x_true|`` (px).

Per step h:

- ``mse`` (px^2): mean over objects of ``e^2``; ``rmse`` (px) = sqrt(mse).
- ``mean_error`` (px): mean over objects of ``e``.
- ``angle_error`` (rad): mean over objects of ``|wrap(a_pred - a_true)|``, wrap into [-pi, pi).
- ``accuracy``: share of objects with ``e <= tolerance_px``.
- ``energy_drift``: ``(KE_pred - KE_true) / E_ref`` (signed). ``KE = 1/2 sum_i m_i |v_i|^2``
  (translational only), masses from the header, ``v_h = (x_h - x_{h-1}) / dt`` a backward difference
  in px/s, where ``x_{-1}`` is the last context frame (ground truth, shared by both).
  ``E_ref = max(mean_h KE_true, 1/2 M (0.1 px / dt)^2)``: the true mean kinetic energy over the
  horizon, floored at the energy of the total mass M moving 0.1 px per frame, so a
  resting scene does not divide by zero.
- ``momentum_drift``: ``|P_pred - P_true| / P_ref`` with ``P = sum_i m_i v_i`` (a vector) and
  ``P_ref = max(mean_h sum_i m_i |v_i,true|, M (0.1 px / dt))`` (sum of magnitudes, so symmetric
  scenes with zero net momentum still have a scale).

Scene scalars: the per-step means of the above (``energy_drift`` as the mean of its absolute value),
``rmse`` = sqrt(mean mse) over all steps and objects, ``final_rmse`` at the last step,
``divergence_step`` = the first step h with ``mean_error > divergence_px`` (None if never), and
``format_failure_rate`` = failed object predictions / (H * N) (counted by the rollout).
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from physics_llm.scenarios import HELD_OUT_TYPES, get_scenario
from physics_llm.tokenization.codec import ANGLE_SCALE, POS_SCALE, QuantizedScene

V_FLOOR_PX = 1.0 / POS_SCALE  # the energy / momentum floors' speed: 0.1 px per frame, whatever the units

STEP_KEYS = ("mse", "rmse", "mean_error", "angle_error", "accuracy", "energy_drift", "momentum_drift")
SCALAR_KEYS = ("mse", "rmse", "final_rmse", "mean_error", "angle_error", "accuracy", "energy_drift",
               "momentum_drift", "format_failure_rate")


def _f(x) -> float | None:
    """Plain float for JSON; NaN / inf -> None."""
    x = float(x)
    return x if math.isfinite(x) else None


def masses_from_header(header: dict) -> np.ndarray:
    return np.array([float(o["mass"]) for o in header["objects"]], dtype=np.float64)


def _kinetic(prev_pos: np.ndarray, pos: np.ndarray, masses: np.ndarray, dt: float):
    """prev_pos (N, 2) and pos (H, N, 2) in px -> (KE (H,), P (H, 2), sum m|v| (H,))."""
    x = np.concatenate([prev_pos[None], pos], axis=0)
    v = np.diff(x, axis=0) / dt  # (H, N, 2) px/s
    speed = np.linalg.norm(v, axis=-1)  # (H, N)
    return 0.5 * (masses * speed**2).sum(-1), (masses[:, None] * v).sum(1), (masses * speed).sum(-1)


def scene_metrics(true_pos, pred_pos, true_angle, pred_angle, *, last_context_pos, masses, dt: float,
                  tolerance_px: float = 5.0, divergence_px: float = 50.0, format_failures: int = 0,
                  pos_scale: int = POS_SCALE) -> dict:
    """Metrics of one predicted rollout. ``true_pos`` / ``pred_pos``: (H, N, 2) in ``1 / pos_scale`` px;
    ``true_angle`` / ``pred_angle``: (H, N) in mrad; ``last_context_pos``: (N, 2) in the same units (frame
    K-1); ``masses``: (N,); ``dt``: seconds between frames. Returns a JSON-ready dict (see module doc)."""
    tp = np.asarray(true_pos, np.float64) / pos_scale
    pp = np.asarray(pred_pos, np.float64) / pos_scale
    if tp.shape != pp.shape or tp.ndim != 3 or tp.shape[-1] != 2:
        raise ValueError(f"positions must both be (H, N, 2); got {tp.shape} and {pp.shape}")
    horizon, n = tp.shape[:2]
    err = np.linalg.norm(pp - tp, axis=-1)  # (H, N) px
    mse = (err**2).mean(1)
    mean_error = err.mean(1)
    dang = (np.asarray(pred_angle, np.float64) - np.asarray(true_angle, np.float64)) / ANGLE_SCALE
    angle_error = np.abs((dang + math.pi) % (2 * math.pi) - math.pi).mean(1)
    accuracy = (err <= tolerance_px).mean(1)

    masses = np.asarray(masses, np.float64)
    prev = np.asarray(last_context_pos, np.float64) / pos_scale
    ke_t, mom_t, mv_t = _kinetic(prev, tp, masses, dt)
    ke_p, mom_p, _ = _kinetic(prev, pp, masses, dt)
    v_quantum = V_FLOOR_PX / dt
    e_ref = max(ke_t.mean(), 0.5 * masses.sum() * v_quantum**2)
    p_ref = max(mv_t.mean(), masses.sum() * v_quantum)
    energy_drift = (ke_p - ke_t) / e_ref
    momentum_drift = np.linalg.norm(mom_p - mom_t, axis=-1) / p_ref

    over = np.nonzero(mean_error > divergence_px)[0]
    steps = {"mse": mse, "rmse": np.sqrt(mse), "mean_error": mean_error, "angle_error": angle_error,
             "accuracy": accuracy, "energy_drift": energy_drift, "momentum_drift": momentum_drift}
    return {
        "horizon": int(horizon), "num_objects": int(n),
        "mse": _f(mse.mean()), "rmse": _f(math.sqrt(mse.mean())), "final_rmse": _f(math.sqrt(mse[-1])),
        "mean_error": _f(mean_error.mean()), "angle_error": _f(angle_error.mean()),
        "accuracy": _f(accuracy.mean()), "energy_drift": _f(np.abs(energy_drift).mean()),
        "momentum_drift": _f(momentum_drift.mean()),
        "divergence_step": int(over[0]) if len(over) else None,
        "format_failures": int(format_failures),
        "format_failure_rate": _f(format_failures / (horizon * n)) if n else None,
        "per_step": {k: [_f(x) for x in v] for k, v in steps.items()},
    }


def score_rollout(q: QuantizedScene, pred_pos, pred_angle, context: int, *, scene_id: str,
                  format_failures: int = 0, **kw) -> dict:
    """:func:`scene_metrics` of a rollout from context ``K`` against the scene's own frames
    ``K .. K+H-1``, labelled with ``scene_id`` and ``scenario_type`` for :func:`aggregate`."""
    horizon = len(pred_pos)
    if context + horizon > q.num_frames:
        raise ValueError(f"{scene_id}: frames {context}..{context + horizon - 1} past the scene's {q.num_frames}")
    sl = slice(context, context + horizon)
    out = scene_metrics(q.pos[sl], pred_pos, q.angle[sl], pred_angle, last_context_pos=q.pos[context - 1],
                        masses=masses_from_header(q.header), dt=float(q.header["dt"]),
                        format_failures=format_failures, pos_scale=q.pos_scale, **kw)
    return {"scene_id": scene_id, "scenario_type": q.header["scenario_type"],
            "difficulty": q.header.get("difficulty"), **out}


# --------------------------------------------------------------------------- aggregation


def bootstrap_ci(values, seed: int = 0, n_boot: int = 1000, statistic=np.mean) -> list[float] | None:
    """Percentile 95% CI of ``statistic`` over resampled scenes; None for fewer than 2 values.
    Deterministic for a seed (a fresh ``numpy`` Generator per call)."""
    v = np.asarray([x for x in values if x is not None], dtype=np.float64)
    if len(v) < 2:
        return None
    idx = np.random.default_rng(seed).integers(0, len(v), size=(n_boot, len(v)))
    stats = np.array([statistic(v[i]) for i in idx])
    lo, hi = np.nanpercentile(stats, [2.5, 97.5])
    return [_f(lo), _f(hi)]


def skill_score(mse_model: Iterable[float], mse_cv: Iterable[float]) -> float | None:
    """``1 - mean(MSE_model) / mean(MSE_cv)`` over the same scenes (paired, same order). 0 = as good
    as constant velocity, 1 = perfect, < 0 = worse. None if the baseline is exact (mean MSE_cv = 0)."""
    m, c = np.asarray(list(mse_model), np.float64), np.asarray(list(mse_cv), np.float64)
    if m.shape != c.shape or len(m) == 0:
        raise ValueError(f"skill score needs paired, non-empty MSEs; got {m.shape} and {c.shape}")
    return None if c.mean() == 0 else _f(1.0 - m.mean() / c.mean())


def _skill_ci(m: np.ndarray, c: np.ndarray, seed: int, n_boot: int) -> list[float] | None:
    if len(m) < 2:
        return None
    idx = np.random.default_rng(seed).integers(0, len(m), size=(n_boot, len(m)))
    cm = c[idx].mean(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(cm > 0, 1.0 - m[idx].mean(1) / cm, np.nan)
    if np.isnan(s).all():
        return None
    lo, hi = np.nanpercentile(s, [2.5, 97.5])
    return [_f(lo), _f(hi)]


def _summary(records: list[dict], cv: dict[str, dict] | None, seed: int, n_boot: int) -> dict:
    out = {"num_scenes": len(records), "scenario_types": sorted({r["scenario_type"] for r in records})}
    for k in SCALAR_KEYS:
        vals = [r[k] for r in records if r.get(k) is not None]
        out[k] = {"mean": _f(np.mean(vals)) if vals else None, "ci95": bootstrap_ci(vals, seed, n_boot)}
    div = [r["divergence_step"] for r in records]
    hit = [d for d in div if d is not None]
    out["divergence"] = {"share_diverged": _f(len(hit) / len(div)) if div else None,
                         "mean_step_if_diverged": _f(np.mean(hit)) if hit else None}
    horizon = min(r["horizon"] for r in records)
    out["per_step"] = {k: [_f(np.mean([r["per_step"][k][h] for r in records if r["per_step"][k][h] is not None]))
                           for h in range(horizon)] for k in STEP_KEYS}
    if cv is not None:
        m = np.array([r["mse"] for r in records], np.float64)
        c = np.array([cv[r["scene_id"]]["mse"] for r in records], np.float64)
        out["skill_vs_cv"] = {"mean": skill_score(m, c), "ci95": _skill_ci(m, c, seed, n_boot)}
    return out


def _groups(records: list[dict], key) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in records:
        out.setdefault(key(r), []).append(r)
    return dict(sorted(out.items()))


def aggregate(records: list[dict], *, cv_records: list[dict] | None = None,
              trained_types: Iterable[str] | None = None, seed: int = 0, n_boot: int = 1000) -> dict:
    """Summaries of per-scene results (from :func:`score_rollout`: each has ``scene_id``,
    ``scenario_type``, optionally ``difficulty``, and the scalar metrics): overall, per type, per category,
    per difficulty (records without one are left out of it) and seen vs held-out,
    each with means and bootstrap 95% CIs over scenes. With ``cv_records`` (constant velocity on the
    same scenes, matched by ``scene_id``) every group also gets ``skill_vs_cv``.

    Seen / held-out: a type is seen iff it is in ``trained_types`` (the checkpoint's own record).
    Without that record the split falls back to ``HELD_OUT_TYPES``; ``split.source`` says which."""
    if not records:
        raise ValueError("aggregate: no scene results")
    cv = None
    if cv_records is not None:
        cv = {r["scene_id"]: r for r in cv_records}
        missing = [r["scene_id"] for r in records if r["scene_id"] not in cv]
        if missing:
            raise ValueError(f"aggregate: no constant-velocity result for scenes {missing[:5]}")
    if trained_types is not None:
        trained = set(trained_types)
        held_out = lambda t: t not in trained  # noqa: E731
        split = {"source": "trained_types", "trained_types": sorted(trained)}
    else:
        held_out = lambda t: t in HELD_OUT_TYPES  # noqa: E731
        split = {"source": "HELD_OUT_TYPES", "held_out_types": sorted(HELD_OUT_TYPES)}

    def summarize(group: dict[str, list[dict]]) -> dict:
        return {k: _summary(v, cv, seed, n_boot) for k, v in group.items()}

    return {
        "split": split,
        "overall": _summary(records, cv, seed, n_boot),
        "per_type": summarize(_groups(records, lambda r: r["scenario_type"])),
        "per_category": summarize(_groups(records, lambda r: get_scenario(r["scenario_type"]).category)),
        "per_difficulty": summarize(_groups([r for r in records if r.get("difficulty") is not None],
                                            lambda r: str(r["difficulty"]))),
        "seen_vs_held_out": summarize(_groups(records, lambda r: "held_out" if held_out(r["scenario_type"]) else "seen")),
    }
