"""Rollout engine: KV-cache decoding equals full recompute (scratch GPT and LFM2), a perfect oracle reproduces
ground truth, garbage is counted not fatal, prompt ids equal training ids, sliding window, seeded sampling."""

import json

import numpy as np
import pytest
import torch
from types import SimpleNamespace

from physics_llm.finetune import build_tiny_lfm2
from physics_llm.generation import make_header, render_scene
from physics_llm.models import GPTForCausalLM, gpt_config_for_size
from physics_llm.rollout import rollout
from physics_llm.scene_format import parse_frames
from physics_llm.tokenization import PromptBuilder, build_physics_tokenizer
from physics_llm.tokenization.codec import (LINE_END, forced_prefix, frame_marker, integrate, parse_predicted, quantize,
                                            render_frames, render_header)
from physics_llm.tokenization.windows import encode_scene

K, H = 4, 2


def make_scene(kind: str, index: int, frames: int = 12):
    text = render_scene(make_header(kind, index, 5, 1, frames))
    lines = text.splitlines()
    return quantize(parse_frames(json.loads(lines[0]), [json.loads(x) for x in lines[1:]]))


@pytest.fixture(scope="module")
def scenes():
    return [make_scene("pendulum", 0), make_scene("billiards", 1)]


@pytest.fixture(scope="module")
def tok():
    return build_physics_tokenizer()


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


@pytest.fixture(scope="module")
def lfm2(tmp_path_factory, scenes):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    texts = [render_header(q.header) + render_frames(q, 0, q.num_frames - 1) for q in scenes]
    path = build_tiny_lfm2(tmp_path_factory.mktemp("lfm2"), texts, vocab_size=300)
    return noisy(AutoModelForCausalLM.from_pretrained(path)), AutoTokenizer.from_pretrained(path)


def slow_rollout(model, tok, q, context, horizon, max_new=16):
    """Reference: greedy, re-encodes the whole sequence for every generated token, no cache."""
    b = PromptBuilder(tok, q.header)
    for t in range(context - 1):
        b.add_context_frame(q, t)
    pos, ang = q.pos[context - 1].copy(), q.angle[context - 1].copy()
    n = pos.shape[0]
    out_pos, out_ang, failures = [], [], 0
    with torch.no_grad():
        for t in range(context - 1, context - 1 + horizon):
            b.add_forced(frame_marker(t))
            dpos, dang = np.zeros((n, 2), np.int64), np.zeros(n, np.int64)
            for i in range(n):
                b.add_forced(forced_prefix(i, pos[i], ang[i]))
                gen = []
                while len(gen) < max_new:
                    gen.append(int(model(torch.tensor([b.ids + gen])).logits[0, -1].argmax()))
                    if gen[-1] == tok.eos_token_id or LINE_END in tok.decode(gen):
                        break
                b.add_generated(gen)
                try:
                    assert gen[-1] != tok.eos_token_id
                    dx, dy, da = parse_predicted(tok.decode(gen))
                    dpos[i], dang[i] = (dx, dy), da
                except (ValueError, AssertionError):
                    failures += 1
            pos, ang = integrate(pos, ang, dpos, dang)
            out_pos.append(pos)
            out_ang.append(ang)
    return np.array(out_pos), np.array(out_ang), failures, b.ids


def check_equal_to_reference(model, tok, q, max_new=16):
    res = rollout(model, tok, q, context=K, horizon=H, max_new_tokens_per_object=max_new)
    ref_pos, ref_ang, ref_fail, ref_ids = slow_rollout(model, tok, q, K, H, max_new)
    assert res.ids == ref_ids
    np.testing.assert_array_equal(res.pos, ref_pos)
    np.testing.assert_array_equal(res.angle, ref_ang)
    assert res.format_failures == ref_fail
    assert res.forward_tokens < len(res.ids)  # incremental: every token fed once (the last one never)
    return res


def test_kv_cache_rollout_equals_recompute_scratch_gpt(tok, scenes):
    model = gpt(tok)
    for q in scenes:
        res = check_equal_to_reference(model, tok, q, max_new=8)
        assert res.pos.shape == (H, q.pos.shape[1], 2) and res.pos.dtype == np.int64
        assert res.angle.shape == (H, q.pos.shape[1]) and res.angle.dtype == np.int64


def test_kv_cache_rollout_equals_recompute_lfm2(lfm2, scenes):
    model, ltok = lfm2
    for q in scenes:
        res = check_equal_to_reference(model, ltok, q, max_new=6)  # asserts ids, positions, failures equal
        assert res.pos.shape == (H, q.pos.shape[1], 2)


def test_garbage_is_counted_never_fatal(tok, scenes):
    model = gpt(tok, seed=1)
    for q in scenes:
        res = rollout(model, tok, q, context=K, horizon=3, max_new_tokens_per_object=5)
        n = q.pos.shape[1]
        assert res.pos.shape == (3, n, 2) and res.angle.shape == (3, n)
        assert 0 < res.format_failures <= 3 * n  # an untrained model writes garbage
        assert 0 < res.generated_tokens <= 3 * n * 5


class Oracle:
    """A fake causal LM that always predicts the next token of a fixed sequence (the training ids of the
    ground truth); its cache is a tensor whose length is the number of tokens seen."""

    def __init__(self, target, vocab):
        self.target, self.vocab = target, vocab
        self.config = SimpleNamespace(max_position_embeddings=10 ** 6)
        self.training = False
        self.inputs = []

    def eval(self):
        return self

    def __call__(self, input_ids, past_key_values=None, use_cache=True):
        self.inputs.append(input_ids[0].tolist())
        start = 0 if past_key_values is None else past_key_values.shape[0]
        end = start + input_ids.shape[1]
        assert input_ids[0].tolist() == self.target[start:end]  # the harness fed exactly the training ids
        logits = torch.zeros(1, input_ids.shape[1], self.vocab)
        logits[0, -1, self.target[end]] = 1.0
        return SimpleNamespace(logits=logits, past_key_values=torch.zeros(end))


def test_prompt_ids_equal_training_ids_and_oracle_reproduces_ground_truth(tok, scenes):
    for q in scenes:
        horizon = q.num_frames - K
        enc = encode_scene(tok, q)
        target = [tok.bos_token_id] + enc.header_ids + [i for f in enc.frame_ids for i in f]
        oracle = Oracle(target, len(tok))
        res = rollout(oracle, tok, q, context=K, horizon=horizon)
        # prompt: [bos] header + frames 0..K-2, as PromptBuilder and the training windows build it
        b = PromptBuilder(tok, q.header)
        for t in range(K - 1):
            b.add_context_frame(q, t)
        assert res.ids[:res.prompt_tokens] == b.ids == target[:res.prompt_tokens]
        assert oracle.inputs[0][:res.prompt_tokens] == b.ids  # the model saw these ids, once
        assert res.ids == target[:len(res.ids)]
        assert res.format_failures == 0
        np.testing.assert_array_equal(res.pos, q.pos[K:K + horizon])
        np.testing.assert_array_equal(res.angle, q.angle[K:K + horizon])


def test_sliding_window_respects_block_size(tok, scenes):
    q = make_scene("billiards", 1, frames=30)
    block = 600
    model = gpt(tok, block_size=block)
    longest = []

    def hook(module, args, kwargs):
        past = kwargs.get("past_key_values")
        longest.append((0 if past is None else past[0][0].size(2)) + kwargs["input_ids"].shape[1])

    handle = model.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        res = rollout(model, tok, q, context=10, horizon=12, max_new_tokens_per_object=8)
    finally:
        handle.remove()
    assert res.window_slides >= 1 and max(longest) <= block
    assert res.pos.shape == (12, q.pos.shape[1], 2)
    assert len(res.ids) > block
    with pytest.raises(ValueError, match="maximum length"):  # header + one frame cannot fit
        rollout(gpt(tok, block_size=150), tok, q, context=2, horizon=1)


def test_seeded_sampling_is_deterministic(tok, scenes):
    model = gpt(tok, seed=2)
    q = scenes[1]
    runs = [rollout(model, tok, q, context=K, horizon=2, max_new_tokens_per_object=6, temperature=1.0,
                    top_p=0.9, seed=s) for s in (3, 3, 4)]
    assert runs[0].ids == runs[1].ids
    np.testing.assert_array_equal(runs[0].pos, runs[1].pos)
    assert runs[0].ids != runs[2].ids  # another seed, another sample
