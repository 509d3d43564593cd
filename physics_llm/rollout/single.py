"""The one-scene engine (:func:`rollout`): the prompt once, then every forced segment through the KV cache as one
chunk and every generated token alone; the window slides before a frame that would not fit."""

from __future__ import annotations

import torch

from physics_llm.rollout.common import (RolloutResult, _device, _last_logits_only, _too_long, _window_start,
                                        model_max_length)
from physics_llm.rollout.scene import _Force, _Frame, _pick, _programs, _result
from physics_llm.tokenization.codec import QuantizedScene
from physics_llm.tokenization.formats import TextFormat

class _Stream:
    """The model's view of the sequence: ids already in the cache plus ids waiting to be fed."""

    def __init__(self, model, device, max_len: int):
        self.model, self.device, self.max_len = model, device, max_len
        self.past = None
        self.cached = 0  # tokens in the cache
        self.pending: list[int] = []
        self.forward_tokens = 0
        self.extra = _last_logits_only(model)

    @property
    def length(self) -> int:
        return self.cached + len(self.pending)

    def reset(self, ids: list[int]) -> None:
        self.past, self.cached, self.pending = None, 0, list(ids)

    def push(self, ids: list[int]) -> None:
        self.pending += ids

    def logits(self) -> torch.Tensor:
        """Feed the pending ids through the cache; the next-token logits (1, vocab)."""
        if not self.pending:
            raise RuntimeError("rollout: nothing to feed")
        if self.cached + len(self.pending) > self.max_len:  # the sliding window should prevent this
            raise RuntimeError(f"rollout: {self.cached + len(self.pending)} tokens exceed the maximum {self.max_len}")
        x = torch.tensor([self.pending], dtype=torch.long, device=self.device)
        out = self.model(input_ids=x, past_key_values=self.past, use_cache=True, **self.extra)
        self.past = out.past_key_values
        self.cached += len(self.pending)
        self.forward_tokens += len(self.pending)
        self.pending = []
        return out.logits[:, -1]


def rollout(model, tokenizer, q: QuantizedScene, context: int = 10, horizon: int = 20,
            max_new_tokens_per_object: int | None = None, temperature: float = 0.0, top_p: float = 1.0,
            seed: int = 0, constrained: bool = True, decode: str = "forced",
            text_format: TextFormat | None = None) -> RolloutResult:
    """Roll ``model`` forward ``horizon`` frames after ``context`` ground-truth frames of ``q``, one scene,
    forced chunks through the KV cache (see :mod:`physics_llm.rollout`). ``max_new_tokens_per_object``: the
    budget of a predicted part (forced) or of an object line (free); None picks the mode's default.
    ``text_format``: the format the model was trained on (None: ``DEFAULT_FORMAT``); ``q`` must be quantised
    by it (``text_format.quantize``). Raises
    :class:`SceneTooLongError` when a frame cannot fit the model even after the header alone."""
    prog = _programs(tokenizer, [q], context, horizon, decode, constrained, max_new_tokens_per_object, [seed],
                     temperature, text_format)[0]
    max_len = model_max_length(model, tokenizer)
    ids = list(prog.header_ids)
    header_len = len(ids)
    frame_starts: list[int] = []  # index in ids where each frame begins
    for frame in prog.context_frames:
        frame_starts.append(len(ids))
        ids += frame
    was_training = getattr(model, "training", False)
    model.eval()
    stream = _Stream(model, _device(model), max_len)
    stream.reset(ids)
    # The stream's sequence is ids until a slide, then ids[:header_len] + ids[s:] for a frame start s;
    # both grow by the same ids afterwards.
    slides = 0
    steps = prog.run()
    try:
        with torch.no_grad():
            req, answer = next(steps), None
            while True:
                if isinstance(req, _Frame):
                    if stream.length + req.need > max_len:
                        slides += 1
                        # leave a quarter of the window free when that keeps a frame, so the re-encode
                        # (the expensive part) happens every few frames rather than before every frame
                        start = _window_start(ids, header_len, frame_starts, max(req.need, max_len // 4), max_len)
                        if start is None:
                            start = _window_start(ids, header_len, frame_starts, req.need, max_len)
                        if start is None and header_len + req.need > max_len:
                            raise _too_long(context - 1 + len(frame_starts) - len(prog.context_frames), header_len,
                                            req.need, max_len)
                        stream.reset(ids[:header_len] + (ids[start:] if start is not None else []))
                    frame_starts.append(len(ids))
                    answer = None
                elif isinstance(req, _Force):
                    ids += req.ids
                    stream.push(req.ids)
                    answer = None
                else:
                    answer = _pick(stream.logits(), [req], prog.table, temperature, top_p, [prog.generator])[0]
                    ids.append(answer)
                    stream.push([answer])
                try:
                    req = steps.send(answer)
                except StopIteration:
                    break
    finally:
        if was_training:
            model.train()
    return _result(prog, ids, stream.forward_tokens, slides)
