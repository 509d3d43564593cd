"""Small scenes and untrained models shared by the rollout tests (a plain module; fixtures stay per file)."""

import json
from functools import lru_cache

import torch

from physics_llm.finetune import build_tiny_lfm2
from physics_llm.generation import make_header, render_scene
from physics_llm.models import GPTForCausalLM, gpt_config_for_size
from physics_llm.scene_format import parse_frames
from physics_llm.tokenization.formats import DEFAULT_FORMAT, get_format


@lru_cache(maxsize=None)
def _simulated(kind: str, index: int, frames: int):
    """The simulated scene (once per kind, index and length: every format quantises the same one)."""
    lines = render_scene(make_header(kind, index, 5, 1, frames)).splitlines()
    return parse_frames(json.loads(lines[0]), [json.loads(x) for x in lines[1:]])


def make_scene(kind: str, index: int, frames: int = 12, fmt=None):
    """A generated scene quantised by ``fmt`` (None: the default format), as a rollout with that format needs."""
    return (fmt or get_format(DEFAULT_FORMAT)).quantize(_simulated(kind, index, frames))


def noisy(model, seed=0, std=0.2):
    """Random weights everywhere (the muP init zeroes the queries, making attention uniform)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * std)
    return model.eval()


def gpt(tok, block_size=4096, seed=0):
    torch.manual_seed(seed)
    return noisy(GPTForCausalLM(gpt_config_for_size("tiny", vocab_size=len(tok), block_size=block_size)), seed)


def tiny_lfm2(directory, scenes, fmt=None):
    """(noisy tiny LFM2, its BPE tokenizer trained on the scenes' text in ``fmt``, None: the default format;
    byte-level, so it also encodes any other format's text)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    fmt = fmt or get_format(DEFAULT_FORMAT)
    path = build_tiny_lfm2(directory, [fmt.scene_text(q) for q in scenes], vocab_size=300)
    return noisy(AutoModelForCausalLM.from_pretrained(path)), AutoTokenizer.from_pretrained(path)
