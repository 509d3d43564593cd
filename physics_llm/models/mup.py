"""Maximal-update parametrization (muP) of the scratch GPT, hand-written (the `mup` package is not used).

Follows the Cerebras "practitioner's guide to muP" (Dey et al., 2024) and EleutherAI's nanoGPT-mup. With the
width multiplier ``m = n_embd / mup_base_width``, hyperparameters tuned at the base width (``init_std``, the
Adam ``lr``, ``mup_input_alpha``, ``mup_output_alpha``) transfer unchanged to every width:

| parameter / op                 | init std                        | Adam lr | forward multiplier        | decay |
|--------------------------------|---------------------------------|---------|---------------------------|-------|
| token embedding ``wte``        | init_std                        | lr      | x mup_input_alpha         | 0     |
| hidden matrices c_attn, c_fc   | init_std / sqrt(m)              | lr / m  |                           | wd    |
| residual outputs c_proj        | init_std / sqrt(2 n_layer m)    | lr / m  |                           | wd    |
| query rows of c_attn           | 0 (zero-init)                   | lr / m  |                           | wd    |
| attention logits               |                                 |         | 1 / d_head                | -     |
| readout ``lm_head`` (untied)   | init_std                        | lr      | x mup_output_alpha / m    | wd    |
| norm gains, biases             | 1, 0                            | lr      |                           | 0     |

The extra 1/sqrt(2 n_layer) on the residual output projections is GPT-2's depth scaling, kept on top of the
width scaling. The query is zero-initialised (Tensor Programs V), so attention starts uniform at every width.
The readout is *not* zero-initialised, although Tensor Programs V allows it: measured here, a zero readout
starves the trunk of gradient for the first steps (dL/dh = W_out^T (p - y) = 0), Adam's second-moment estimate
then lags the fast-growing gradients, and the loss spiked to 7-15 nats early in training at lr 2e-3..1e-2 even
with warmup, where N(0, init_std) gave none (the Cerebras guide's choice). The readout keeps the base lr: the
1/m logit multiplier already carries its width scaling. Weight decay is the same number in every decayed group;
torch's AdamW multiplies it by the group's lr, so hidden matrices shrink at (lr / m) * wd per step, like their
updates.

``mup=False`` is the standard-parametrization control: every weight N(0, init_std) (c_proj as GPT-2:
init_std / sqrt(2 n_layer)), no multipliers, attention 1/sqrt(d_head), one lr for every group.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def width_mult(config) -> float:
    """m = n_embd / mup_base_width under muP; 1 in the standard parametrization."""
    return config.n_embd / config.mup_base_width if config.mup else 1.0


def input_multiplier(config) -> float:
    return config.mup_input_alpha if config.mup else 1.0


def output_multiplier(config) -> float:
    return config.mup_output_alpha / width_mult(config) if config.mup else 1.0


def attn_scale(config) -> float:
    d_head = config.n_embd // config.n_head
    return 1.0 / d_head if config.mup else 1.0 / math.sqrt(d_head)


def param_role(name: str) -> str:
    """'embedding', 'readout', 'hidden' (matrix-like), 'norm' or 'bias', from a parameter's name."""
    if name.endswith(".bias"):
        return "bias"
    if name.startswith("transformer.wte."):
        return "embedding"
    if name.startswith("lm_head."):
        return "readout"
    if ".ln_" in name or name.startswith("transformer.ln_f."):
        return "norm"
    return "hidden"


@torch.no_grad()
def init_parameters_(model: nn.Module) -> None:
    """Initialise every parameter by the table above, in place. Parameters flagged ``_is_hf_initialized``
    (loaded from a checkpoint by ``from_pretrained``) are left alone."""
    config = model.config
    m = width_mult(config)
    hidden_std = config.init_std / math.sqrt(m)
    for name, p in model.named_parameters():
        if getattr(p, "_is_hf_initialized", False):
            continue
        role = param_role(name)
        if role == "norm":
            nn.init.ones_(p)
        elif role == "bias":
            nn.init.zeros_(p)
        elif role in ("embedding", "readout"):
            nn.init.normal_(p, std=config.init_std)
        elif name.endswith("c_proj.weight"):
            nn.init.normal_(p, std=hidden_std / math.sqrt(2 * config.n_layer))
        else:
            nn.init.normal_(p, std=hidden_std)
            if config.mup and name.endswith("attn.c_attn.weight"):
                nn.init.zeros_(p[: config.n_embd])  # (3C, C): query rows first
        p._is_hf_initialized = True


def mup_param_groups(model: nn.Module, lr: float, weight_decay: float = 0.0) -> list[dict]:
    """Adam(W) parameter groups with per-group lr and weight decay, by the table above.

    Each group is ``{"name", "params", "lr", "weight_decay"}`` (torch keeps the extra ``name`` key); empty groups
    are dropped. Pass the list straight to ``torch.optim.AdamW``; lr schedulers scale every group's lr by the
    same factor, so the muP ratios hold through warmup and decay. With ``mup=False`` every group gets ``lr``.
    """
    m = width_mult(model.config)
    rules = {  # role -> (lr, weight decay); the base-lr group first, as Trainer logs the first group's lr
        "embedding": (lr, 0.0),
        "hidden": (lr / m, weight_decay),
        "readout": (lr, weight_decay),
        "norm": (lr, 0.0),
        "bias": (lr, 0.0),
    }
    params: dict[str, list] = {role: [] for role in rules}
    for name, p in model.named_parameters():
        if p.requires_grad:
            params[param_role(name)].append(p)
    return [{"name": role, "params": params[role], "lr": rules[role][0], "weight_decay": rules[role][1]}
            for role in rules if params[role]]
