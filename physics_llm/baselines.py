"""Honest rollout baselines: the yardsticks every model result is read against (DESIGN.md §6).

Each baseline sees the ground-truth context frames ``0 .. K-1`` only, then rolls forward frame by
frame with exact integer integration (``x_{t+1} = x_t + d_t``, as the rollout harness integrates),
feeding its own predictions back. It never reads ground truth after the context: the rollout copies
the context frames out of the scene before the first prediction.

Indexing. ``d_t = x_{t+1} - x_t`` is the displacement from frame t to t + 1 (text units of the scene's
quantisation, ``q.pos_scale`` per px, the evaluated format's: 0.1 or 0.01 px; mrad, unwrapped). The context gives ``d_0 .. d_{K-2}``; a baseline predicts ``d_{K-1} .. d_{K+H-2}``
and integrates them into frames ``K .. K+H-1``. Example, one coordinate, K = 3, H = 2::

    context x_0, x_1, x_2 = 0, 10, 30    ->  d_0 = 10, d_1 = 20
    copy_last:             d_2 = 0,                 d_3 = 0              ->  x_3, x_4 = 30, 30
    constant_velocity:     d_2 = d_1 = 20,          d_3 = d_2 = 20       ->  x_3, x_4 = 50, 70
    constant_acceleration: d_2 = 2*20 - 10 = 30,    d_3 = 2*30 - 20 = 40 ->  x_3, x_4 = 60, 100

Every baseline returns ``(pos (H, N, 2) int64, angle (H, N) int64)`` for frames ``K .. K+H-1``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from physics_llm.tokenization.codec import QuantizedScene

# A rule maps the displacement history so far, ``(dpos (t, N, 2), dangle (t, N))`` (context
# displacements first, then the baseline's own), to the next displacement ``((N, 2), (N,))``.
Rule = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _roll(q: QuantizedScene, rule: Rule, context: int, horizon: int, min_context: int, name: str):
    if context < min_context:
        raise ValueError(f"{name}: needs at least {min_context} context frames, got {context}")
    if context > q.num_frames:
        raise ValueError(f"{name}: context {context} > {q.num_frames} frames in the scene")
    if horizon < 1:
        raise ValueError(f"{name}: horizon must be >= 1, got {horizon}")
    # Copies of the context only: nothing below can reach frames >= context.
    pos = q.pos[:context].astype(np.int64, copy=True)  # (K, N, 2)
    ang = q.angle[:context].astype(np.int64, copy=True)  # (K, N)
    dpos, dang = list(np.diff(pos, axis=0)), list(np.diff(ang, axis=0))
    p, a = pos[-1], ang[-1]
    out_pos, out_ang = [], []
    for _ in range(horizon):
        dp, da = rule(np.asarray(dpos).reshape(-1, *p.shape), np.asarray(dang).reshape(-1, *a.shape))
        dp, da = np.asarray(dp, dtype=np.int64), np.asarray(da, dtype=np.int64)
        p, a = p + dp, a + da
        dpos.append(dp)
        dang.append(da)
        out_pos.append(p)
        out_ang.append(a)
    return np.stack(out_pos).astype(np.int64), np.stack(out_ang).astype(np.int64)


def copy_last(q: QuantizedScene, context: int = 10, horizon: int = 20):
    """Nothing moves: every predicted frame equals context frame K-1."""
    return _roll(q, lambda dp, da: (np.zeros(dp.shape[1:], np.int64), np.zeros(da.shape[1:], np.int64)),
                 context, horizon, 1, "copy_last")


def constant_velocity(q: QuantizedScene, context: int = 10, horizon: int = 20):
    """Repeat the last displacement: ``d_next = d_last``."""
    return _roll(q, lambda dp, da: (dp[-1], da[-1]), context, horizon, 2, "constant_velocity")


def constant_acceleration(q: QuantizedScene, context: int = 10, horizon: int = 20):
    """Extrapolate the last two displacements: ``d_next = 2 d_last - d_prev`` (exact on an integer
    parabola, e.g. free fall sampled on the integer grid)."""
    return _roll(q, lambda dp, da: (2 * dp[-1] - dp[-2], 2 * da[-1] - da[-2]),
                 context, horizon, 3, "constant_acceleration")


BASELINES: dict[str, Callable] = {
    "copy_last": copy_last,
    "constant_velocity": constant_velocity,
    "constant_acceleration": constant_acceleration,
}


def run_baselines(q: QuantizedScene, context: int = 10, horizon: int = 20) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every registered baseline on one scene: name -> (pos (H, N, 2), angle (H, N))."""
    return {name: fn(q, context, horizon) for name, fn in BASELINES.items()}
