"""Grammar-constrained decoding of a predicted part, for any tokenizer (DESIGN.md section 5).

A predicted part is what the model writes after an object's forced part (``"i x y angle|"`` and the like; every
text format of :mod:`physics_llm.tokenization.formats` predicts three integers)::

    part   := number " " number " " number "\\n"
    number := "0" | "-"? [1-9] [0-9]{0, MAX_DIGITS - 1}

the canonical integers :meth:`TextFormat.predicted_text` writes: no leading zeros, no ``-0``, no ``+``, at most
``MAX_DIGITS`` digits. :class:`PartGrammar` is a small DFA over characters for it: states are
(field 0..2) x (start, after minus, zero, k digits for k = 1..MAX_DIGITS), plus ``done``. A part is at most
``3 * (1 + MAX_DIGITS) + 3`` characters (18 for 4 digits).

:class:`GrammarTable` lifts the DFA to one tokenizer's ids: for every DFA state and every token id, the state
after reading the token's whole decoded string (``-1`` when any character is refused, including anything
after the line end, an empty string, or a special token such as EOS, BOS or pad). Multi-character BPE tokens
(``"12"``, ``" -"``, ``"0\\n"``) are handled like single characters. From it: ``dist[s]``, the fewest tokens
that complete a part from state ``s``, and ``max_tokens``, the most tokens any complete part can take (18 for
a one-character-per-token tokenizer such as PhysicsTokenizer: the worst-case budget).

During constrained decoding a token is allowed in state ``s`` with ``r`` tokens of budget left (this one
included) iff it leads to a state that can still finish in ``r - 1`` tokens. So as long as the budget at the
start of a part is at least ``min_tokens`` (``dist[start]``), every generated part is complete and parses:
**zero format failures by construction**, whatever the model (an untrained one included).

Token strings come from decoding each id after an anchor token (the forced-part end ``|``, the text that
precedes every predicted part), so tokenizers that drop a leading space when decoding a lone token are read
correctly; the table checks on sample parts that the strings concatenate to what ``tokenizer.decode`` gives
and refuses the tokenizer otherwise. Tables are built once per tokenizer object and cached
(:func:`grammar_table`); building one for a 65k-token vocabulary takes well under a second, since only tokens
made of ``0-9``, ``-``, space and newline are simulated.
"""

from __future__ import annotations

import weakref

import numpy as np
import torch

from physics_llm.tokenization.codec import FORCED_END, LINE_END, MAX_DIGITS

_INF = 10 ** 4  # "cannot finish" in the distance tables (int32)


class PartGrammar:
    """DFA over characters for one predicted part ``-?D+ -?D+ -?D+\\n`` with canonical numbers.

    State ``field * width + sub`` with ``sub``: 0 start of a number, 1 after ``-``, 2 the number ``0``,
    ``2 + k`` a number of k digits not starting with 0 (k = 1..max_digits); ``done`` after the line end.
    """

    ALPHABET = frozenset("0123456789- " + LINE_END)

    def __init__(self, max_digits: int = MAX_DIGITS):
        if max_digits < 1:
            raise ValueError(f"max_digits must be >= 1, got {max_digits}")
        self.max_digits = max_digits
        self.width = max_digits + 3
        self.start = 0
        self.done = 3 * self.width
        self.num_states = self.done + 1
        self.max_chars = 3 * (1 + max_digits) + 3  # three signed numbers, two spaces, the line end

    def step(self, state: int, ch: str) -> int:
        """The state after ``ch``, or -1 if ``ch`` is refused."""
        if state == self.done or state < 0:
            return -1
        field, sub = divmod(state, self.width)
        base = field * self.width
        if ch.isdigit() and ch in self.ALPHABET:
            if sub == 0:
                return base + (2 if ch == "0" else 3)
            if sub == 1:
                return -1 if ch == "0" else base + 3  # no "-0", no leading zeros
            if sub >= 3 and sub - 2 < self.max_digits:
                return state + 1
            return -1  # after "0", or at the digit limit
        if ch == "-":
            return base + 1 if sub == 0 else -1
        if sub < 2:  # a number must have a digit before a separator
            return -1
        if ch == " ":
            return base + self.width if field < 2 else -1
        if ch == LINE_END:
            return self.done if field == 2 else -1
        return -1

    def run(self, text: str, state: int | None = None) -> int:
        """The state after the whole of ``text`` (-1 once refused)."""
        state = self.start if state is None else state
        for ch in text:
            state = self.step(state, ch)
            if state < 0:
                return -1
        return state

    def accepts(self, text: str) -> bool:
        return self.run(text) == self.done


def token_strings(tokenizer) -> list[str]:
    """The decoded text of every token id, read after the ``|`` anchor when that is a single token."""
    vocab = len(tokenizer)
    anchor = tokenizer(FORCED_END, add_special_tokens=False)["input_ids"]
    if len(anchor) == 1:
        head = tokenizer.decode(anchor, clean_up_tokenization_spaces=False)
        pairs = tokenizer.batch_decode([[anchor[0], i] for i in range(vocab)], clean_up_tokenization_spaces=False)
        if all(p.startswith(head) for p in pairs):
            return [p[len(head):] for p in pairs]
    return tokenizer.batch_decode([[i] for i in range(vocab)], clean_up_tokenization_spaces=False)


class GrammarTable:
    """The part grammar lifted to one tokenizer's ids (see the module docstring).

    ``next_state`` (num_states, vocab) int: state after each token, -1 refused. ``dist`` (num_states,): fewest
    tokens to ``done``. ``next_dist`` (num_states, vocab): ``dist`` of each token's next state (large if
    refused). ``min_tokens`` / ``max_tokens``: fewest / most tokens of a complete part.
    """

    def __init__(self, tokenizer, max_digits: int = MAX_DIGITS):
        self.grammar = g = PartGrammar(max_digits)
        self.texts = token_strings(tokenizer)
        self.vocab_size = len(self.texts)
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        by_text: dict[str, list[int]] = {}
        for i, text in enumerate(self.texts):
            if text and i not in special and set(text) <= PartGrammar.ALPHABET:
                by_text.setdefault(text, []).append(i)
        self.next_state = ns = self._simulate(by_text)
        # fewest tokens to done (Bellman-Ford over an acyclic graph: at most max_chars rounds)
        dist = np.full(g.num_states, _INF, dtype=np.int32)
        dist[g.done] = 0
        for _ in range(g.max_chars + 1):
            via = np.where(ns >= 0, dist[np.maximum(ns, 0)], _INF).min(axis=1) + 1
            new = np.minimum(dist, np.minimum(via, _INF))
            if np.array_equal(new, dist):
                break
            dist = new
        self.dist = dist
        self.next_dist = np.where(ns >= 0, dist[np.maximum(ns, 0)], _INF).astype(np.int32)
        self.min_tokens = int(dist[g.start])
        if self.min_tokens >= _INF:
            raise ValueError("the tokenizer cannot write a predicted part (no tokens for digits, space, '-' or "
                             "the line end)")
        # most tokens of a complete part: longest path through tokens that can still finish
        longest = np.full(g.num_states, -_INF, dtype=np.int64)
        longest[g.done] = 0
        ok = self.next_dist < _INF
        for _ in range(g.max_chars + 1):
            via = np.where(ok, longest[np.maximum(ns, 0)], -_INF).max(axis=1) + 1
            new = np.maximum(longest, via)
            new[g.done] = 0
            if np.array_equal(new, longest):
                break
            longest = new
        self.max_tokens = int(longest[g.start])
        self._check_concatenation(tokenizer)
        self._tensors: dict[tuple, torch.Tensor] = {}

    def _simulate(self, by_text: dict[str, list[int]]) -> np.ndarray:
        """(num_states, vocab) next states, every text run from every state at once: texts grouped by length,
        one table lookup per character position (numpy), so 65k tokens take a fraction of a second."""
        g = self.grammar
        alphabet = sorted(PartGrammar.ALPHABET)
        sink = g.num_states  # refused, absorbing
        step = np.full((g.num_states + 1, len(alphabet)), sink, dtype=np.int32)
        for s in range(g.num_states):
            for c, ch in enumerate(alphabet):
                nxt = g.step(s, ch)
                step[s, c] = sink if nxt < 0 else nxt
        code = {ch: c for c, ch in enumerate(alphabet)}
        ns = np.full((g.num_states, self.vocab_size), -1, dtype=np.int32)
        by_len: dict[int, list[str]] = {}
        for text in by_text:
            by_len.setdefault(len(text), []).append(text)
        for texts in by_len.values():
            chars = np.array([[code[ch] for ch in text] for text in texts], dtype=np.int64)  # (n, L)
            states = np.broadcast_to(np.arange(g.num_states)[:, None], (g.num_states, len(texts)))  # (S, n)
            for j in range(chars.shape[1]):
                states = step[states, chars[None, :, j]]
            states = np.where(states == sink, -1, states)
            cols = [i for text in texts for i in by_text[text]]
            reps = [len(by_text[text]) for text in texts]
            ns[:, cols] = np.repeat(states, reps, axis=1)
        return ns

    def _check_concatenation(self, tokenizer) -> None:
        from physics_llm.tokenization.windows import tokenize_segments

        samples = ["0 0 0\n", "-12 305 7\n", "1234 -1 -9999\n", "40 -2500 18\n"]
        for text, ids in zip(samples, tokenize_segments(tokenizer, samples)):
            joined = "".join(self.texts[i] for i in ids)
            if joined != text or self.grammar.run(joined) != self.grammar.done:
                raise ValueError(f"grammar table: the tokenizer's token strings do not concatenate to the text "
                                 f"(got {joined!r} for {text!r}); constrained decoding cannot track its state")

    def step(self, state: int, token: int) -> int:
        """The state after ``token`` (-1 refused)."""
        return int(self.next_state[state, token]) if 0 <= token < self.vocab_size else -1

    def allowed(self, state: int, remaining: int, vocab_size: int | None = None,
                device: torch.device | str = "cpu") -> torch.Tensor:
        """(vocab_size,) bool: the tokens allowed in ``state`` with ``remaining`` tokens of budget left (this one
        included). ``vocab_size`` may exceed the tokenizer's (a model's padded embedding): extra ids are refused."""
        vocab_size = vocab_size or self.vocab_size
        key = (str(device), vocab_size)
        table = self._tensors.get(key)
        if table is None:
            table = torch.full((self.grammar.num_states, vocab_size), _INF, dtype=torch.int32)
            cols = min(vocab_size, self.vocab_size)
            table[:, :cols] = torch.from_numpy(self.next_dist[:, :cols])
            table = self._tensors[key] = table.to(device)
        return table[state] <= remaining - 1


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def grammar_table(tokenizer, max_digits: int = MAX_DIGITS) -> GrammarTable:
    """The :class:`GrammarTable` of ``tokenizer``, built on first use and cached per tokenizer object."""
    per_tok = _CACHE.setdefault(tokenizer, {})
    if max_digits not in per_tok:
        per_tok[max_digits] = GrammarTable(tokenizer, max_digits)
    return per_tok[max_digits]
