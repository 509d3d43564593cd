"""PhysicsTokenizer: the scratch model's tokenizer, a Hugging Face fast tokenizer.

Digit-level numbers (every digit its own token), one token per codec keyword and per scenario
type name, single tokens for space, newline, minus and the forced/predicted separator ``|``, and
special tokens ``<pad> <bos> <eos> <unk>``. It saves and loads with ``save_pretrained`` /
``AutoTokenizer.from_pretrained`` (a ``tokenizer.json``), so training and rollout code treat it
exactly like LFM2's tokenizer. Built from the scenario registry: adding a scenario type means
building (and training with) a new tokenizer.
"""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from physics_llm.scenarios import list_scenarios
from physics_llm.tokenization.codec import FORCED_END, KEYWORDS, LINE_END

SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>"}
SYMBOLS = (" ", LINE_END, "-", FORCED_END)
DIGITS = tuple("0123456789")
# words (whole), single digits, and any other single character
PRE_TOKENIZE = r"[A-Za-z_]+|[0-9]|\s|."


def physics_vocab(scenario_types: list[str] | None = None) -> list[str]:
    """Vocabulary in id order: specials, symbols, digits, codec keywords, scenario names."""
    names = list_scenarios() if scenario_types is None else scenario_types
    vocab = [*SPECIAL_TOKENS.values(), *SYMBOLS, *DIGITS]
    for word in (*KEYWORDS, *names):
        if word not in vocab:
            vocab.append(word)
    return vocab


def build_physics_tokenizer(scenario_types: list[str] | None = None, model_max_length: int = 8192
                            ) -> PreTrainedTokenizerFast:
    vocab = {tok: i for i, tok in enumerate(physics_vocab(scenario_types))}
    core = Tokenizer(models.WordLevel(vocab, unk_token=SPECIAL_TOKENS["unk_token"]))
    core.pre_tokenizer = pre_tokenizers.Split(Regex(PRE_TOKENIZE), behavior="isolated")
    core.decoder = decoders.Fuse()  # tokens are concatenated back exactly, no added spaces
    return PreTrainedTokenizerFast(tokenizer_object=core, model_max_length=model_max_length,
                                   clean_up_tokenization_spaces=False, **SPECIAL_TOKENS)
