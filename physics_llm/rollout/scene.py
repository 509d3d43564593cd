"""One scene's rollout logic, model-free (``_SceneProgram``): prompt construction, forced segments, the
generation budget and grammar state of every predicted part, parsing and exact integer integration, in both
decoding modes. Both engines drive it; ``_programs`` validates the arguments and builds one program per scene."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from physics_llm.decoding import GrammarTable, grammar_table
from physics_llm.rollout.common import RolloutResult, sample_next
from physics_llm.tokenization.codec import LINE_END, QuantizedScene
from physics_llm.tokenization.formats import DEFAULT_FORMAT, TextFormat, get_format
from physics_llm.tokenization.prompt import PromptBuilder
from physics_llm.tokenization.windows import tokenize_segments

DECODE_MODES = ("forced", "free")
UNCONSTRAINED_PART_TOKENS = 16  # default budget of an unconstrained predicted part


@dataclass
class _Frame:
    """A frame begins here; it needs at most ``need`` tokens."""
    need: int


@dataclass
class _Force:
    ids: list[int]


@dataclass
class _Generate:
    """Generate one token; ``state`` is the grammar state (None: unconstrained), ``remaining`` the budget left."""
    state: int | None
    remaining: int


class _SceneProgram:
    """One scene's rollout as a generator of requests (``run``): the engines feed forced ids, pick generated
    tokens (answering each ``_Generate`` with the token), and slide windows at ``_Frame`` requests."""

    def __init__(self, tokenizer, q: QuantizedScene, fmt: TextFormat, context: int, horizon: int, decode: str,
                 constrained: bool, budget: int, table: GrammarTable | None, seed: int, temperature: float):
        self.tokenizer, self.q, self.fmt, self.context, self.horizon = tokenizer, q, fmt, context, horizon
        self.decode, self.constrained, self.budget, self.table = decode, constrained, budget, table
        self.eos = getattr(tokenizer, "eos_token_id", None)
        self.n = q.pos.shape[1]
        builder = PromptBuilder(tokenizer, q.header, fmt)
        self.header_ids = list(builder.ids)
        self.context_frames: list[list[int]] = []
        for t in range(fmt.first_frame, context - 1):
            start = len(builder.ids)
            builder.add_context_frame(q, t)
            self.context_frames.append(builder.ids[start:])
        self.pos = np.zeros((horizon, self.n, 2), dtype=np.int64)
        self.angle = np.zeros((horizon, self.n), dtype=np.int64)
        self.failures = self.generated = 0
        self.generator = None
        if temperature > 0:
            self.generator = torch.Generator()
            self.generator.manual_seed(seed)

    def run(self) -> Iterator:
        return self._forced() if self.decode == "forced" else self._free()

    def _forced(self) -> Iterator:
        table, n, fmt = self.table if self.constrained else None, self.n, self.fmt
        state = fmt.initial_state(self.q, self.context)
        for h, t in enumerate(range(self.context - 1, self.context - 1 + self.horizon)):
            forced = tokenize_segments(self.tokenizer, fmt.forced_texts(t, state))
            yield _Frame(sum(map(len, forced)) + n * self.budget)
            yield _Force(forced[0])
            predicted = np.zeros((n, 3), dtype=np.int64)
            for i in range(n):
                yield _Force(forced[1 + i])
                gen: list[int] = []
                g = table.grammar.start if table is not None else None  # grammar state
                while len(gen) < self.budget:
                    tok = yield _Generate(g, self.budget - len(gen))
                    gen.append(tok)
                    if tok == self.eos:
                        break
                    if table is not None:
                        g = table.step(g, tok)
                        if g == table.grammar.done:
                            break
                    elif LINE_END in self.tokenizer.decode(gen):
                        break
                self.generated += len(gen)
                try:
                    if gen[-1] == self.eos:
                        raise ValueError("EOS")
                    predicted[i] = fmt.parse_predicted(self.tokenizer.decode(gen))
                except ValueError:
                    self.failures += 1  # and the object's predicted numbers stay zero
            state = fmt.step(state, predicted)
            self.pos[h], self.angle[h] = state.pos, state.angle

    def _free(self) -> Iterator:
        n, texts = self.n, self.table.texts
        state = self.fmt.initial_state(self.q, self.context)
        budget = (n + 1) * self.budget
        for h in range(self.horizon):
            yield _Frame(budget)
            gen: list[int] = []
            lines = 0
            while len(gen) < budget:
                tok = yield _Generate(None, budget - len(gen))
                gen.append(tok)
                if tok == self.eos:
                    break
                lines += texts[tok].count(LINE_END) if 0 <= tok < len(texts) else 0
                if lines >= n + 1:
                    break
            self.generated += len(gen)
            state, failures = self.fmt.parse_free(self.tokenizer.decode(gen), state)
            self.failures += failures
            self.pos[h], self.angle[h] = state.pos, state.angle


def _pick(logits: torch.Tensor, reqs: list[_Generate], table: GrammarTable | None, temperature: float,
          top_p: float, generators: list) -> list[int]:
    """Token ids for (R, vocab) next-token logits, the grammar masking each constrained request's row."""
    if any(r.state is not None for r in reqs):
        allowed = torch.stack([table.allowed(r.state, r.remaining, logits.shape[-1], logits.device)
                               if r.state is not None else torch.ones(logits.shape[-1], dtype=torch.bool,
                                                                       device=logits.device) for r in reqs])
        logits = logits.masked_fill(~allowed, float("-inf"))
    if temperature <= 0:
        return logits.argmax(dim=-1).tolist()
    return [sample_next(row, temperature, top_p, g) for row, g in zip(logits, generators)]


def _programs(tokenizer, scenes: Sequence[QuantizedScene], context: int, horizon: int, decode: str,
              constrained: bool, max_new_tokens_per_object: int | None, seeds: Sequence[int],
              temperature: float, fmt: TextFormat | None) -> list[_SceneProgram]:
    fmt = fmt or get_format(DEFAULT_FORMAT)
    if decode not in DECODE_MODES:
        raise ValueError(f"rollout: decode must be one of {DECODE_MODES}, got {decode!r}")
    if context < 1:
        raise ValueError(f"rollout: context must be >= 1, got {context}")
    if horizon < 1:
        raise ValueError(f"rollout: horizon must be >= 1, got {horizon}")
    if context < fmt.first_frame + 1:
        raise ValueError(f"rollout: text format {fmt} needs context >= {fmt.first_frame + 1}, got {context}")
    for q in scenes:
        fmt.check_scene(q)
        if context > q.num_frames:
            raise ValueError(f"rollout: context {context} > {q.num_frames} frames in the scene")
    constrained = constrained and decode == "forced"
    table = grammar_table(tokenizer, fmt.max_digits) if constrained or decode == "free" else None
    budget = max_new_tokens_per_object
    if budget is None:
        budget = (table.max_tokens if constrained else UNCONSTRAINED_PART_TOKENS) if decode == "forced" \
            else 2 * table.grammar.max_chars
    if budget < 1:
        raise ValueError("rollout: max_new_tokens_per_object must be >= 1")
    if constrained and budget < table.min_tokens:
        raise ValueError(f"rollout: max_new_tokens_per_object={budget} cannot hold a predicted part with this "
                         f"tokenizer (at least {table.min_tokens} tokens)")
    return [_SceneProgram(tokenizer, q, fmt, context, horizon, decode, constrained, budget, table, s, temperature)
            for q, s in zip(scenes, seeds)]


def _result(prog: _SceneProgram, ids: list[int], forward_tokens: int, slides: int) -> RolloutResult:
    prompt = len(prog.header_ids) + sum(map(len, prog.context_frames))
    return RolloutResult(prog.pos, prog.angle, prog.failures, prog.generated, prompt, forward_tokens, slides, ids,
                         prog.decode, prog.constrained)
