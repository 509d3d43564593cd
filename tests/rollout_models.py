"""Small scenes and untrained models shared by the rollout tests (a plain module; fixtures stay per file)."""

import json

import torch

from physics_llm.finetune import build_tiny_lfm2
from physics_llm.generation import make_header, render_scene
from physics_llm.models import GPTForCausalLM, gpt_config_for_size
from physics_llm.scene_format import parse_frames
from physics_llm.tokenization.codec import quantize, render_frames, render_header


def make_scene(kind: str, index: int, frames: int = 12):
    text = render_scene(make_header(kind, index, 5, 1, frames))
    lines = text.splitlines()
    return quantize(parse_frames(json.loads(lines[0]), [json.loads(x) for x in lines[1:]]))


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


def tiny_lfm2(directory, scenes):
    """(noisy tiny LFM2, its BPE tokenizer trained on the scenes' text)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    texts = [render_header(q.header) + render_frames(q, 0, q.num_frames - 1) for q in scenes]
    path = build_tiny_lfm2(directory, texts, vocab_size=300)
    return noisy(AutoModelForCausalLM.from_pretrained(path)), AutoTokenizer.from_pretrained(path)
