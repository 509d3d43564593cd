"""The lockstep engine (:func:`rollout_batch`): B scenes through one left-padded KV cache, one token per row per
step, every unfinished row re-encoded when the shared cache would overflow; and :func:`rollout_many`, the
evaluation entry point that picks an engine and groups scenes into batches."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from physics_llm.rollout.common import (RolloutResult, SceneTooLongError, _device, _last_logits_only, _too_long,
                                        _window_start, model_max_length, scene_seed)
from physics_llm.rollout.scene import _Frame, _Generate, _pick, _programs, _result, _SceneProgram
from physics_llm.rollout.single import rollout
from physics_llm.tokenization.codec import QuantizedScene
from physics_llm.tokenization.formats import TextFormat

class _Row:
    """One scene of a batch: its program, its whole sequence ``ids`` and how much of it was fed (``fed``)."""

    def __init__(self, prog: _SceneProgram):
        self.prog = prog
        self.ids = list(prog.header_ids)
        self.header_len = len(self.ids)
        self.frame_starts: list[int] = []
        for frame in prog.context_frames:
            self.frame_starts.append(len(self.ids))
            self.ids += frame
        self.fed = 0
        self.need = 0  # worst case of the current frame
        self.forward_tokens = self.slides = 0
        self.error: SceneTooLongError | None = None
        self.steps = prog.run()
        self.req, self.done = next(self.steps), False
        self.advance()

    def send(self, answer) -> None:
        try:
            self.req = self.steps.send(answer)
        except StopIteration:
            self.done = True

    def advance(self) -> None:
        """Take frame starts and forced ids up to the next generation request (or the end)."""
        while not self.done and not isinstance(self.req, _Generate):
            if isinstance(self.req, _Frame):
                self.frame_starts.append(len(self.ids))
                self.need = self.req.need
            else:
                self.ids += self.req.ids
            self.send(None)

    @property
    def rest(self) -> int:
        """Worst-case tokens still to come in the current frame."""
        return max(0, self.need - (len(self.ids) - self.frame_starts[-1]))

    def window(self, max_len: int, rooms: Sequence[int]) -> list[int] | None:
        """[bos] header + the most recent whole frames + the current partial frame, leaving the first of ``rooms``
        that can be left free; None (and ``error`` set) if not even the rest of the frame fits."""
        for room in rooms:
            start = _window_start(self.ids, self.header_len, self.frame_starts, room, max_len)
            if start is not None:
                return self.ids[:self.header_len] + self.ids[start:]
        t = self.prog.context - 2 + len(self.frame_starts) - len(self.prog.context_frames)
        self.error = _too_long(t, self.header_len, self.need, max_len)
        return None


_PREFILL_ELEMENTS = 2 ** 22  # rows x chunk x sequence length per prefill call (bounds attention memory)


def _prefill(model, windows: list[list[int]], pad: int, device, extra: dict):
    """Run left-padded ``windows`` through a fresh cache, in chunks along time so that the attention scores of
    one call stay near ``_PREFILL_ELEMENTS`` per head; returns the last output and the (B, T) mask."""
    T = max(map(len, windows))
    x = torch.tensor([[pad] * (T - len(w)) + w for w in windows], dtype=torch.long, device=device)  # (B, T)
    mask = torch.tensor([[0] * (T - len(w)) + [1] * len(w) for w in windows], dtype=torch.long, device=device)
    chunk = max(16, _PREFILL_ELEMENTS // (len(windows) * T))
    out = None
    for lo in range(0, T, chunk):
        out = model(input_ids=x[:, lo:lo + chunk], attention_mask=mask[:, :lo + chunk],
                    past_key_values=None if out is None else out.past_key_values, use_cache=True, **extra)
    return out, mask


def rollout_batch(model, tokenizer, scenes: Sequence[QuantizedScene], context: int = 10, horizon: int = 20,
                  max_new_tokens_per_object: int | None = None, temperature: float = 0.0, top_p: float = 1.0,
                  seed: int | Sequence[int] = 0, constrained: bool = True, decode: str = "forced",
                  text_format: TextFormat | None = None) -> list[RolloutResult | SceneTooLongError]:
    """Roll out several scenes together in token-level lockstep through one left-padded KV cache (see
    :mod:`physics_llm.rollout`). Scene ``j`` samples with seed ``scene_seed(seed, j)``, or ``seed[j]`` when a sequence is
    given. Returns one result per scene, in order; a scene that cannot fit the model gets its
    :class:`SceneTooLongError` instead, and the others go on."""
    seeds = [scene_seed(seed, j) for j in range(len(scenes))] if isinstance(seed, int) else [int(x) for x in seed]
    if len(seeds) != len(scenes):
        raise ValueError(f"rollout_batch: {len(seeds)} seeds for {len(scenes)} scenes")
    progs = _programs(tokenizer, scenes, context, horizon, decode, constrained, max_new_tokens_per_object, seeds,
                      temperature, text_format)
    table = progs[0].table if progs else None
    max_len = model_max_length(model, tokenizer)
    device = _device(model)
    pad = next((t for t in (tokenizer.pad_token_id, tokenizer.eos_token_id) if t is not None), 0)
    rows = [_Row(p) for p in progs]
    extra = _last_logits_only(model)
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        with torch.no_grad():
            active, past, mask, T, first = [r for r in rows if not r.done], None, None, 0, True
            while active:
                if past is None or T + 1 > max_len:  # (re-)encode every unfinished row, left-padded
                    # the first prefill chooses as rollout() does; later ones leave every row the same room
                    live = [r for r in active if not r.done]
                    common = max([r.rest + r.need for r in live] + [max_len // 4])
                    windows, keep = [], []
                    for r in live:
                        w = r.window(max_len, [max(r.rest, max_len // 4), r.rest] if first
                                     else [common, r.rest + r.need, r.rest])
                        if w is None:
                            continue
                        r.slides += 1 if (not first or len(w) < len(r.ids)) else 0
                        r.fed = len(r.ids)
                        r.forward_tokens += len(w)
                        keep.append(r)
                        windows.append(w)
                    active = keep
                    if not active:
                        break
                    out, mask = _prefill(model, windows, pad, device, extra)
                    T, first = mask.shape[1], False
                else:  # one token per row: its next forced or generated id, a masked pad once finished
                    x, col = [], []
                    for r in active:
                        alive = not r.done
                        x.append(r.ids[r.fed] if alive else pad)
                        col.append(int(alive))
                        r.fed += alive
                        r.forward_tokens += alive
                    mask = torch.cat([mask, torch.tensor(col, dtype=torch.long, device=device)[:, None]], dim=1)
                    out = model(input_ids=torch.tensor(x, dtype=torch.long, device=device)[:, None],
                                attention_mask=mask, past_key_values=past, use_cache=True)
                    T += 1
                past = out.past_key_values
                ready = [b for b, r in enumerate(active) if not r.done and r.fed == len(r.ids)]
                if ready:
                    toks = _pick(out.logits[ready, -1], [active[b].req for b in ready], table, temperature, top_p,
                                 [active[b].prog.generator for b in ready])
                    for b, tok in zip(ready, toks):
                        r = active[b]
                        r.ids.append(tok)
                        r.send(tok)
                        r.advance()
                if all(r.done for r in active):
                    break
    finally:
        if was_training:
            model.train()
    return [r.error if r.error is not None else _result(r.prog, r.ids, r.forward_tokens, r.slides) for r in rows]


def rollout_many(model, tokenizer, scenes: Sequence[QuantizedScene], context: int = 10, horizon: int = 20,
                 batch_size: int = 1, decode: str = "forced", constrained: bool = True, temperature: float = 0.0,
                 top_p: float = 1.0, seed: int | Sequence[int] = 0,
                 max_new_tokens_per_object: int | None = None,
                 text_format: TextFormat | None = None) -> list[RolloutResult | SceneTooLongError]:
    """The evaluation entry point: every scene rolled out, results in input order. Scene ``j`` samples with
    ``scene_seed(seed, j)`` whatever the batch size (or with ``seed[j]`` when ``seed`` is a sequence: a caller
    that feeds scenes in chunks keeps one seed per scene that way). ``batch_size`` 1 runs :func:`rollout` per scene (chunked
    forced segments: fastest on a CPU); larger sizes run :func:`rollout_batch` on groups of scenes with similar
    object counts. A scene that cannot fit the model gets its :class:`SceneTooLongError` (an exception object,
    not raised) in its place; other errors (bad arguments) raise."""
    if batch_size < 1:
        raise ValueError(f"rollout_many: batch_size must be >= 1, got {batch_size}")
    kw = dict(context=context, horizon=horizon, max_new_tokens_per_object=max_new_tokens_per_object,
              temperature=temperature, top_p=top_p, constrained=constrained, decode=decode, text_format=text_format)
    seeds = [scene_seed(seed, j) for j in range(len(scenes))] if isinstance(seed, int) else [int(x) for x in seed]
    if len(seeds) != len(scenes):
        raise ValueError(f"rollout_many: {len(seeds)} seeds for {len(scenes)} scenes")
    results: list[RolloutResult | SceneTooLongError | None] = [None] * len(scenes)
    if batch_size == 1:
        for j, q in enumerate(scenes):
            try:
                results[j] = rollout(model, tokenizer, q, seed=seeds[j], **kw)
            except SceneTooLongError as e:
                results[j] = e
        return results
    order = sorted(range(len(scenes)), key=lambda j: scenes[j].pos.shape[1])  # similar lengths share a batch
    for lo in range(0, len(order), batch_size):
        part = order[lo:lo + batch_size]
        for j, res in zip(part, rollout_batch(model, tokenizer, [scenes[j] for j in part],
                                              seed=[seeds[j] for j in part], **kw)):
            results[j] = res
    return results
