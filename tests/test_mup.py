"""muP coordinate check: activation sizes after a few Adam steps stay flat across widths with muP, and grow
with width in the standard parametrization (SP) at the same learning rate.

Setup: 2 layers, 4 heads, widths 128 / 256 / 512 / 1024 (base width 128), batch 4 x 32 random tokens, 5 AdamW
steps at lr 1e-2 with the groups from ``mup_param_groups``, then the mean |activation| of the embedding output,
the attention and MLP block outputs (mean over layers) and the logits, on a fresh random batch. muP numbers are
averaged over 2 seeds (single seeds are noisy: up to 3x across widths for the attention output).

Measured (torch 2.13 CPU), mean |activation| at widths 128 / 256 / 512 / 1024, and max/min across widths:

    muP (seeds 0, 1)  embedding  0.0268 0.0268 0.0268 0.0271   1.01
                      attention  0.532  0.368  0.396  0.345    1.54  (1.87, 2.02 with seeds 2-3, 8-9)
                      MLP        1.03   0.793  0.653  0.618    1.66  (2.10, 1.96)
                      logits     0.540  0.543  0.499  0.496    1.09  (1.13, 1.16)
    SP (seed 0)       embedding  0.0269 0.0269 0.0268 0.0266   1.01
                      attention  0.597  2.25   19.6   94.1     158   (78 with seed 1)
                      MLP        1.08   3.79   16.3   84.2     78    (48)
                      logits     0.509  0.893  2.22   3.37     6.6   (8.0)

The muP attention and MLP outputs drift down by ~1.5x from width 128 to 512 and then stay put (MLP 0.60 at
512, 0.62 at 2048, 3 seeds): a finite-width effect at the smallest widths, not a trend. SP grows without bound.

Bounds: muP max/min < 2.5 for every statistic; SP logits grow > 4x and attention / MLP outputs > 10x from the
smallest to the largest width, so the test fails if muP is switched off.
"""

import math

import pytest
import torch

from physics_llm.models import GPTConfig, GPTForCausalLM, mup_param_groups
from physics_llm.models import mup as mup_rules

WIDTHS = (128, 256, 512, 1024)
V = 90
STATS = ("embedding", "attention", "mlp", "logits")


def coordinates(width: int, mup: bool, seed: int, lr: float = 1e-2, steps: int = 5) -> dict[str, float]:
    torch.manual_seed(seed)
    config = GPTConfig(vocab_size=V, n_layer=2, n_head=4, n_embd=width, block_size=64, mup=mup, mup_base_width=128)
    model = GPTForCausalLM(config)
    opt = torch.optim.AdamW(mup_param_groups(model, lr, weight_decay=0.0), fused=True)  # fused: 4x faster on CPU
    data = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randint(0, V, (4, 32), generator=data)
        loss = model(x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()

    seen: dict[str, list[float]] = {}

    def record(key):
        def hook(module, args, output):
            out = output[0] if isinstance(output, tuple) else output
            seen.setdefault(key, []).append(out.abs().mean().item())
        return hook

    hooks = [model.transformer.drop.register_forward_hook(record("embedding"))]
    for block in model.transformer.h:
        hooks.append(block.attn.register_forward_hook(record("attention")))
        hooks.append(block.mlp.register_forward_hook(record("mlp")))
    x = torch.randint(0, V, (4, 32), generator=data)
    with torch.no_grad():
        logits = model(x).logits
    for h in hooks:
        h.remove()
    stats = {k: sum(v) / len(v) for k, v in seen.items()}
    stats["logits"] = logits.abs().mean().item()
    return stats


def averaged(mup: bool, seeds) -> dict[int, dict[str, float]]:
    out = {}
    for w in WIDTHS:
        runs = [coordinates(w, mup, s) for s in seeds]
        out[w] = {k: sum(r[k] for r in runs) / len(runs) for k in STATS}
    return out


def spread(table, key) -> float:
    values = [table[w][key] for w in WIDTHS]
    return max(values) / min(values)


def test_mup_coordinates_stay_flat_across_widths():
    table = averaged(mup=True, seeds=(0, 1))
    for key in STATS:
        assert spread(table, key) < 2.5, (key, {w: table[w][key] for w in WIDTHS})


def test_standard_parametrization_blows_up_with_width():
    table = averaged(mup=False, seeds=(0,))
    growth = {k: table[WIDTHS[-1]][k] / table[WIDTHS[0]][k] for k in STATS}
    assert growth["logits"] > 4, growth
    assert growth["attention"] > 10 and growth["mlp"] > 10, growth


@pytest.mark.parametrize("mup", [True, False])
def test_parametrization_rules(mup):
    config = GPTConfig(vocab_size=V, n_layer=3, n_head=4, n_embd=512, mup=mup, mup_base_width=128,
                       mup_input_alpha=2.0, mup_output_alpha=3.0, init_std=0.02)
    model = GPTForCausalLM(config)
    m = 4.0 if mup else 1.0
    attn = model.transformer.h[0].attn
    assert attn.scale == pytest.approx(1 / 128 if mup else 1 / math.sqrt(128))
    assert model.input_multiplier == (2.0 if mup else 1.0)
    assert model.output_multiplier == pytest.approx(3.0 / 4 if mup else 1.0)
    assert mup_rules.width_mult(config) == m
    std = lambda t: t.float().std().item()  # noqa: E731
    hidden = 0.02 / math.sqrt(m)
    assert std(model.transformer.wte.weight) == pytest.approx(0.02, rel=0.05)
    assert std(model.lm_head.weight) == pytest.approx(0.02, rel=0.05)
    assert std(model.transformer.h[1].mlp.c_fc.weight) == pytest.approx(hidden, rel=0.05)
    assert std(model.transformer.h[1].mlp.c_proj.weight) == pytest.approx(hidden / math.sqrt(6), rel=0.05)
    assert std(attn.c_attn.weight[512:]) == pytest.approx(hidden, rel=0.05)  # keys and values
    if mup:
        assert attn.c_attn.weight[:512].abs().max() == 0  # queries zero-initialised
    else:
        assert std(attn.c_attn.weight[:512]) == pytest.approx(0.02, rel=0.05)
    lrs = {g["name"]: g["lr"] for g in mup_param_groups(model, lr=1e-3)}
    assert lrs == {"hidden": pytest.approx(1e-3 / m), "readout": 1e-3, "embedding": 1e-3, "norm": 1e-3}
