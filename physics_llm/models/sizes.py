"""Named sizes of the scratch GPT.

Parameter counts (from ``parameter_counts``; untied readout, RoPE so no position table, no biases).
"Non-embedding" leaves out the token embedding and the readout (both vocab x n_embd), the usual scaling-law
count. The names are GPT-2/GPT-3's, whose counts include a 50257-token vocabulary (tied) and a position table;
the last column is this model at that vocabulary (untied, so two vocab x n_embd matrices):

| size  | n_layer | n_embd | n_head | non-embedding | total, vocab 90 (PhysicsTokenizer) | total, vocab 50257 |
|-------|---------|--------|--------|---------------|------------------------------------|--------------------|
| tiny  | 2       | 64     | 2      | 98,624        | 110,144                            | 6,531,520          |
| small | 4       | 128    | 4      | 787,584       | 810,624                            | 13,653,376         |
| 125M  | 12      | 768    | 12     | 84,953,856    | 85,092,096                         | 162,148,608        |
| 350M  | 24      | 1024   | 16     | 302,040,064   | 302,224,384                        | 404,966,400        |
| 760M  | 24      | 1536   | 16     | 679,552,512   | 679,828,992                        | 833,942,016        |

With a 90-token vocabulary the models are almost all non-embedding parameters, so "125M" holds 85M.
"""

from __future__ import annotations

MODEL_SIZES: dict[str, dict[str, int]] = {
    # CPU sizes: `tiny` trains a few hundred steps on a laptop CPU in minutes, `small` is the next step up
    "tiny": dict(n_layer=2, n_head=2, n_embd=64),
    "small": dict(n_layer=4, n_head=4, n_embd=128),
    # GPU sizes, GPT-2 / GPT-3 shapes
    "125M": dict(n_layer=12, n_head=12, n_embd=768),
    "350M": dict(n_layer=24, n_head=16, n_embd=1024),
    "760M": dict(n_layer=24, n_head=16, n_embd=1536),
}


# Training window length when --max-seq-length is not given. Attention is quadratic: at 8192 tokens a
# batch of 8 costs `tiny` ~10 s per step on a 2-core CPU (attention dominates), at 2048 ~0.3 s. GPU sizes
# train on full 8192-token windows, the length a rollout prompt may need.
DEFAULT_MAX_SEQ_LENGTH = {"tiny": 2048, "small": 2048, "125M": 8192, "350M": 8192, "760M": 8192}


def _check(name: str) -> dict[str, int]:
    if name not in MODEL_SIZES:
        raise ValueError(f"unknown model size {name!r}; valid sizes: {', '.join(MODEL_SIZES)}")
    return MODEL_SIZES[name]


def gpt_config_for_size(name: str, vocab_size: int, **overrides):
    """A ``GPTConfig`` of a named size; ``overrides`` set any other field (``block_size``, ``mup``, token ids...)."""
    from physics_llm.models.gpt import GPTConfig

    return GPTConfig(vocab_size=vocab_size, **{**_check(name), **overrides})


def parameter_counts(name: str, vocab_size: int) -> dict[str, int]:
    """{"non_embedding", "total"} parameters of a named size without biases (checked against the model in tests)."""
    L, C = _check(name)["n_layer"], _check(name)["n_embd"]
    per_layer = 12 * C * C + 2 * C  # c_attn 3C^2, attn c_proj C^2, MLP 8C^2, two LayerNorm gains
    non_embedding = L * per_layer + C  # + final LayerNorm
    return {"non_embedding": non_embedding, "total": non_embedding + 2 * vocab_size * C}
