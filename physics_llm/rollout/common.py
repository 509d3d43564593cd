"""What both engines share besides the scene logic: the result type, the too-long error, the model's maximum
length and device, next-token sampling, and the sliding window's arithmetic."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

_HUGE = 10 ** 9  # tokenizer.model_max_length is ~1e30 when unset


class SceneTooLongError(ValueError):
    """The scene's header plus one frame does not fit the model's maximum length."""


@dataclass
class RolloutResult:
    """Predicted frames ``K .. K+H-1`` and decoding statistics.

    ``format_failures``: forced mode, predicted parts that did not parse (each replaced by a zero displacement;
    always 0 when constrained); free mode, objects without a well-formed line in a frame (each keeps its state).
    ``generated_tokens``: tokens the model generated. ``prompt_tokens``: length of the initial prompt ([bos]
    header + context frames 0 .. K-2). ``forward_tokens``: tokens actually run through the model for this scene
    (prompt, forced and generated tokens, re-encodes of the sliding window; padding not counted).
    ``window_slides``: how often the sliding window re-encoded the sequence. ``ids``: the whole token sequence
    the rollout built (prompt, forced segments and generated ids, as the model saw them before any sliding).
    ``decode`` / ``constrained``: the decoding mode.
    """

    pos: np.ndarray
    angle: np.ndarray
    format_failures: int
    generated_tokens: int
    prompt_tokens: int
    forward_tokens: int = 0
    window_slides: int = 0
    ids: list[int] = field(default_factory=list, repr=False)
    decode: str = "forced"
    constrained: bool = True


def model_max_length(model, tokenizer=None) -> int:
    """The longest sequence the model accepts (cache + new tokens)."""
    cfg = getattr(model, "config", None)
    limit = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "block_size", None) or _HUGE
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_limit, int) and 0 < tok_limit < _HUGE:
        limit = min(limit, tok_limit)
    return int(limit)


def scene_seed(seed: int, index: int) -> int:
    """The sampling seed of scene ``index`` of a batch seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def _last_logits_only(model) -> dict:
    """``logits_to_keep=1`` for models that take it (Hugging Face causal LMs): a prefill of 8k tokens with a
    65k vocabulary would otherwise build 2 GB of logits to read one row."""
    import inspect

    try:
        params = inspect.signature(model.forward).parameters
    except (AttributeError, TypeError, ValueError):
        return {}
    return {"logits_to_keep": 1} if "logits_to_keep" in params else {}


def _device(model) -> torch.device:
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def sample_next(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None) -> int:
    """One token id from a (vocab,) logit vector: argmax if ``temperature == 0``, else temperature +
    top-p sampling (the smallest set of tokens whose probability reaches ``top_p``)."""
    if temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = torch.sort(probs, descending=True)
        keep = torch.cumsum(sorted_p, dim=-1) - sorted_p < top_p  # always keeps the top token
        sorted_p = torch.where(keep, sorted_p, torch.zeros_like(sorted_p))
        choice = torch.multinomial(sorted_p.cpu(), 1, generator=generator)
        return int(order[choice.to(order.device)])
    return int(torch.multinomial(probs.cpu(), 1, generator=generator))


def _window_start(ids: list[int], header_len: int, frame_starts: list[int], room: int, max_len: int) -> int | None:
    """The oldest frame start s such that header + ids[s:] + ``room`` tokens fit ``max_len``; None if none."""
    for start in frame_starts:  # oldest first: keep as many frames as fit
        if header_len + len(ids) - start + room <= max_len:
            return start
    return None


def _too_long(t: int, header_len: int, need: int, max_len: int) -> SceneTooLongError:
    return SceneTooLongError(f"rollout: frame {t} does not fit the model's maximum length {max_len} even after "
                             f"the header alone ({header_len} header tokens + up to {need} for the frame)")
