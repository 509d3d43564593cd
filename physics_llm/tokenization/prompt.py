"""Incremental prompt building, the way the rollout harness does it.

The harness appends forced segments it knows (header, frame markers, each object's id and
integrated position) and the ids the model generated for each predicted part. Segments are
tokenized one by one with :func:`~physics_llm.tokenization.windows.tokenize_segments`, the same
function that builds training windows, so a perfect model rolled out over ground-truth frames
reproduces the training ids exactly (tested).
"""

from __future__ import annotations

from physics_llm.tokenization.codec import QuantizedScene
from physics_llm.tokenization.formats import TextFormat
from physics_llm.tokenization.windows import tokenize_segments


class PromptBuilder:
    def __init__(self, tokenizer, header: dict, fmt: TextFormat):
        self.tokenizer, self.fmt = tokenizer, fmt
        bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
        self.ids: list[int] = bos + tokenize_segments(tokenizer, [fmt.header_text(header)])[0]

    def add_forced(self, text: str) -> list[int]:
        """Append a forced segment (frame marker or an object's forced prefix); returns its ids."""
        ids = tokenize_segments(self.tokenizer, [text])[0]
        self.ids += ids
        return ids

    def add_generated(self, ids: list[int]) -> None:
        """Append ids the model produced for one predicted part (up to and including its line end)."""
        self.ids += list(ids)

    def add_context_frame(self, q: QuantizedScene, t: int) -> None:
        """Append ground-truth frame ``t`` whole (forced and predicted parts)."""
        texts = [text for pair in self.fmt.frame_segments(q, t) for text in pair]
        for ids in tokenize_segments(self.tokenizer, texts):
            self.ids += ids
