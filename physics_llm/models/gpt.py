"""The scratch GPT: a nanoGPT-style decoder with muP, packed-row attention and a KV cache, as a Hugging Face model.

Architecture: token embedding -> n_layer pre-norm blocks (LayerNorm without bias, causal self-attention via
``F.scaled_dot_product_attention``, GELU MLP 4x) -> final LayerNorm -> untied readout. No biases by default.

Design choices:

- **Rotary position embeddings** (RoPE, computed on the fly from ``position_ids``; no buffers, no parameters).
  What the model must learn is mostly relative ("the same object's displacement one frame back" sits a roughly
  fixed number of tokens earlier), which RoPE expresses at every position; a learned 8192 x C position table
  would be 5x the rest of the ``tiny`` model. Packed windows just restart ``position_ids`` at 0, and decoding
  with a cache continues them from the cache length.
- **Untied readout** (``tie_word_embeddings`` must stay False). Under muP the readout's output is scaled by
  ``mup_output_alpha / m`` while the embedding's is not, and the two play different roles in the muP table
  (input vs output weights); untied, each gets its exact treatment and its own weight decay, with no shared
  tensor to reason about across save/load. Cost: vocab x C parameters, 90 x C here.
- muP lives in ``mup.py`` (init, multipliers, per-group learning rates); ``mup=False`` is the standard
  parametrization, for controls.

Packed rows: when ``position_ids`` restart at 0 inside a row (``pack_windows``), a new window starts at every 0
and attention is block-diagonal causal, so each window sees only itself, exactly as if it ran alone; the
target at a window's first token is dropped from the loss. That mask is a dense (B, 1, T, T) boolean tensor
(SDPA's masked kernels, not flash): 0.5 GiB per 8 rows of 8192 tokens. Rows without restarts and without
padding take SDPA's ``is_causal`` path.

KV cache: ``past_key_values`` is a tuple with one ``(k, v)`` per layer, each ``(B, n_head, S, head_dim)``, keys
already rotated. Feed the prompt with ``use_cache=True``, then any number of new tokens at a time with the
returned cache; positions continue from the cache length (or from ``attention_mask`` when one is given, which
must then cover the cached tokens and the new ones).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast

from physics_llm.models import mup

IGNORE_INDEX = -100


class GPTConfig(PretrainedConfig):
    """Hyperparameters of the scratch GPT. Named sizes: ``physics_llm.models.sizes``.

    muP fields (see ``mup.py``): ``mup`` switches the parametrization; ``mup_base_width`` is the width whose
    tuned hyperparameters transfer; ``mup_input_alpha`` multiplies the embedding output; ``mup_output_alpha``
    multiplies the logits (together with 1/m); ``init_std`` is the base init std.
    """

    model_type = "physics_gpt"
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {"hidden_size": "n_embd", "num_attention_heads": "n_head", "num_hidden_layers": "n_layer",
                     "max_position_embeddings": "block_size"}

    vocab_size: int = 90
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    block_size: int = 8192  # longest sequence (prompt + cache) accepted
    dropout: float | int = 0.0
    bias: bool = False
    rope_base: float | int = 10000.0
    tie_word_embeddings: bool = False
    mup: bool = True
    mup_base_width: int = 256
    mup_input_alpha: float | int = 1.0
    mup_output_alpha: float | int = 1.0
    init_std: float | int = 0.02
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | None = None

    def validate_architecture(self):
        if self.n_embd % self.n_head or (self.n_embd // self.n_head) % 2:
            raise ValueError(f"n_embd ({self.n_embd}) must split into n_head ({self.n_head}) heads of even size")
        if self.tie_word_embeddings:
            raise ValueError("GPTConfig supports only an untied readout (tie_word_embeddings=False): under muP the "
                             "readout has its own init, multiplier and learning rate")


def rope_cos_sin(position_ids: torch.Tensor, head_dim: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the rotation angles, each (B, 1, T, head_dim // 2), float32."""
    inv_freq = base ** (-torch.arange(0, head_dim, 2, device=position_ids.device, dtype=torch.float32) / head_dim)
    angles = position_ids[..., None].float() * inv_freq  # (B, T, hs/2)
    return angles.cos()[:, None], angles.sin()[:, None]


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate (B, nh, T, hs) queries or keys, pairing channel i with i + hs/2 (the GPT-NeoX / Llama layout)."""
    x1, x2 = x.float().chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).type_as(x)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # query, key, value
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.dropout = config.dropout
        self.scale = mup.attn_scale(config)  # 1/d_head under muP, 1/sqrt(d_head) otherwise

    def forward(self, x, cos, sin, mask, is_causal, layer_past=None):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if layer_past is not None:
            k = torch.cat([layer_past[0], k], dim=2)  # (B, nh, S, hs), S = cached + T
            v = torch.cat([layer_past[1], v], dim=2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal, scale=self.scale,
                                           dropout_p=self.dropout if self.training else 0.0)  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.resid_dropout(self.c_proj(y)), (k, v)


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))  # (B, T, C) -> (B, T, 4C) -> (B, T, C)


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, cos, sin, mask, is_causal, layer_past=None):
        a, present = self.attn(self.ln_1(x), cos, sin, mask, is_causal, layer_past)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, present  # (B, T, C), (k, v)


def attention_mask_for(attention_mask, position_ids, packed: bool, T: int, past_len: int):
    """(mask, is_causal) for SDPA. mask is boolean (B or 1, 1, T, S), True = may attend, or None when SDPA's
    own causal mask (no cache) or no mask (one new token after a cache) is exact."""
    if attention_mask is None and not packed:
        if past_len == 0:
            return None, True
        if T == 1:
            return None, False
    device = position_ids.device
    q_idx = torch.arange(past_len, past_len + T, device=device)[:, None]  # (T, 1) absolute query index
    k_idx = torch.arange(past_len + T, device=device)[None, :]  # (1, S)
    mask = (k_idx <= q_idx)[None, None]  # (1, 1, T, S) causal
    if packed:  # a new window starts at every position id 0: block-diagonal causal
        doc = (position_ids == 0).cumsum(dim=1)  # (B, T) window index of each token
        mask = mask & (doc[:, None, :, None] == doc[:, None, None, :])  # (B, 1, T, T)
    if attention_mask is not None:
        mask = mask & attention_mask.bool()[:, None, None, :]  # (B, 1, T, S) no padding keys
        mask = mask | (k_idx == q_idx)  # a padding query sees itself: a fully masked row would give NaN
    return mask, False


class GPTForCausalLM(PreTrainedModel):
    """The scratch GPT with its language-model head; see the module docstring for inputs, packing and cache."""

    config_class = GPTConfig
    base_model_prefix = "transformer"
    supports_gradient_checkpointing = True
    _no_split_modules = ["Block"]

    def __init__(self, config: GPTConfig):
        super().__init__(config)
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.input_multiplier = mup.input_multiplier(config)
        self.output_multiplier = mup.output_multiplier(config)
        self.gradient_checkpointing = False  # set by gradient_checkpointing_enable()
        self.post_init()

    @torch.no_grad()
    def initialize_weights(self):
        """muP (or standard) init of every parameter not loaded from a checkpoint: see ``mup.py``."""
        mup.init_parameters_(self)

    def get_input_embeddings(self):
        return self.transformer.wte

    def set_input_embeddings(self, value):
        self.transformer.wte = value

    def get_output_embeddings(self):
        return self.lm_head

    def mup_param_groups(self, lr: float, weight_decay: float = 0.0) -> list[dict]:
        """AdamW groups with muP learning rates: ``mup.mup_param_groups``."""
        return mup.mup_param_groups(self, lr, weight_decay)

    def forward(self, input_ids, attention_mask=None, position_ids=None, labels=None, past_key_values=None,
                use_cache=False, num_items_in_batch=None, **kwargs) -> CausalLMOutputWithPast:
        """input_ids, attention_mask (1 = token, 0 = padding), position_ids, labels: (B, T); labels are aligned
        with input_ids (the shift happens here) and -100 marks tokens without loss. ``num_items_in_batch``
        (passed by ``Trainer``) turns the mean loss into sum / num_items_in_batch, exact under gradient
        accumulation. Returns loss, logits (B, T, vocab_size) and, with ``use_cache``, the new cache."""
        B, T = input_ids.size()
        past_len = 0 if past_key_values is None else past_key_values[0][0].size(2)
        if past_len + T > self.config.block_size:
            raise ValueError(f"sequence of {past_len + T} tokens exceeds block_size {self.config.block_size}")
        if attention_mask is not None:
            if attention_mask.size(1) != past_len + T:
                raise ValueError(f"attention_mask covers {attention_mask.size(1)} tokens; expected cached + new = "
                                 f"{past_len + T}")
            if bool(attention_mask.all()):
                attention_mask = None  # nothing masked: keep SDPA's fast causal path
        packed = False
        if position_ids is None:
            if attention_mask is not None:  # count real tokens only, so left padding works too
                position_ids = (attention_mask.long().cumsum(dim=1) - 1).clamp(min=0)[:, past_len:]
            else:
                position_ids = torch.arange(past_len, past_len + T, device=input_ids.device).expand(B, T)
        elif T > 1:
            packed = bool((position_ids[:, 1:] == 0).any())
            if packed and past_len:
                raise ValueError("packed rows (position_ids restarting at 0) cannot be combined with a KV cache")
        if self.gradient_checkpointing and self.training:
            use_cache = False  # keeping every layer's keys and values alive would defeat checkpointing
        mask, is_causal = attention_mask_for(attention_mask, position_ids, packed, T, past_len)
        cos, sin = rope_cos_sin(position_ids, self.config.n_embd // self.config.n_head, self.config.rope_base)

        x = self.transformer.drop(self.transformer.wte(input_ids) * self.input_multiplier)  # (B, T, C)
        presents = []
        for i, block in enumerate(self.transformer.h):
            layer_past = past_key_values[i] if past_key_values is not None else None
            if self.gradient_checkpointing and self.training:
                x, present = self._gradient_checkpointing_func(block.__call__, x, cos, sin, mask, is_causal,
                                                               layer_past)
            else:
                x, present = block(x, cos, sin, mask, is_causal, layer_past)
            presents.append(present)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x) * self.output_multiplier  # (B, T, vocab_size)

        loss = None
        if labels is not None:
            shift_logits = logits[:, :-1].float()  # (B, T-1, vocab): token t predicts label t+1
            shift_labels = labels[:, 1:].to(logits.device)  # (B, T-1)
            if packed:  # never predict a window's first token from the window before it
                shift_labels = shift_labels.masked_fill(position_ids[:, 1:] == 0, IGNORE_INDEX)
            reduction = "mean" if num_items_in_batch is None else "sum"
            loss = F.cross_entropy(shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1),
                                   ignore_index=IGNORE_INDEX, reduction=reduction)
            if num_items_in_batch is not None:
                loss = loss / num_items_in_batch
        return CausalLMOutputWithPast(loss=loss, logits=logits,
                                      past_key_values=tuple(presents) if use_cache else None)
