"""Rollout engine, one scene: KV-cache decoding equals full recompute (scratch GPT and LFM2), a perfect oracle
reproduces ground truth, garbage is counted not fatal, prompt ids equal training ids, sliding window, seeded
sampling; the predicted-part grammar and constrained decoding; free decoding. Batches: test_rollout_batch.py."""


import numpy as np
import pytest
import torch
from types import SimpleNamespace

from physics_llm.decoding import MAX_DIGITS, GrammarTable, PartGrammar, grammar_table
from physics_llm.rollout import rollout
from physics_llm.tokenization import PromptBuilder, build_physics_tokenizer
from physics_llm.tokenization.codec import (ANGLE_PERIOD, LINE_END, QuantizedScene, forced_prefix, frame_marker,
                                            integrate, parse_predicted, wrap_angle)
from physics_llm.tokenization.windows import encode_scene
from rollout_models import gpt, make_scene, tiny_lfm2

K, H = 4, 2


@pytest.fixture(scope="module")
def scenes():
    return [make_scene("pendulum", 0), make_scene("billiards", 1)]


@pytest.fixture(scope="module")
def tok():
    return build_physics_tokenizer()


@pytest.fixture(scope="module")
def lfm2(tmp_path_factory, scenes):
    return tiny_lfm2(tmp_path_factory.mktemp("lfm2"), scenes)


def slow_rollout(model, tok, q, context, horizon, max_new=16, constrained=False):
    """Reference: greedy, re-encodes the whole sequence for every generated token, no cache; with
    ``constrained``, only the tokens the grammar table allows."""
    table = grammar_table(tok) if constrained else None
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
                gen, state = [], 0
                while len(gen) < max_new:
                    logits = model(torch.tensor([b.ids + gen])).logits[0, -1]
                    if table is not None:
                        logits = logits.masked_fill(~table.allowed(state, max_new - len(gen), logits.shape[-1]), -1e9)
                    gen.append(int(logits.argmax()))
                    state = table.step(state, gen[-1]) if table is not None else 0
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


def check_equal_to_reference(model, tok, q, max_new=16, constrained=False):
    res = rollout(model, tok, q, context=K, horizon=H, max_new_tokens_per_object=max_new, constrained=constrained)
    ref_pos, ref_ang, ref_fail, ref_ids = slow_rollout(model, tok, q, K, H, max_new, constrained)
    assert res.ids == ref_ids
    np.testing.assert_array_equal(res.pos, ref_pos)
    np.testing.assert_array_equal(res.angle, ref_ang)
    assert res.format_failures == ref_fail
    assert res.forward_tokens < len(res.ids)  # incremental: every token fed once (the last one never)
    return res


def test_kv_cache_rollout_equals_recompute_scratch_gpt(tok, scenes):
    model = gpt(tok)
    for q in scenes:
        check_equal_to_reference(model, tok, q, max_new=8, constrained=True)
        res = check_equal_to_reference(model, tok, q, max_new=8)
        assert res.pos.shape == (H, q.pos.shape[1], 2) and res.pos.dtype == np.int64
        assert res.angle.shape == (H, q.pos.shape[1]) and res.angle.dtype == np.int64


def test_kv_cache_rollout_equals_recompute_lfm2(lfm2, scenes):
    model, ltok = lfm2
    for q in scenes:
        check_equal_to_reference(model, ltok, q, max_new=6, constrained=True)
        res = check_equal_to_reference(model, ltok, q, max_new=6)  # asserts ids, positions, failures equal
        assert res.pos.shape == (H, q.pos.shape[1], 2)


def test_garbage_is_counted_never_fatal(tok, scenes):
    model = gpt(tok, seed=1)
    for q in scenes:
        res = rollout(model, tok, q, context=K, horizon=3, max_new_tokens_per_object=5, constrained=False)
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


# --------------------------------------------------------------------------- grammar-constrained decoding


def test_part_grammar_dfa():
    g = PartGrammar()
    for text in ["0 0 0\n", "-12 305 7\n", "9999 -9999 1\n", "1 -1 0\n"]:
        assert g.accepts(text), text
    for text in ["-0 0 0\n", "01 0 0\n", "1 2\n", "1 2 3", "1 2 3 \n", "1 2 3\n4", "12345 0 0\n", "- 1 2 3\n",
                 "1  2 3\n", " 1 2 3\n", "1 2 3 4\n", "+1 2 3\n", "1\n"]:
        assert not g.accepts(text), text
    assert g.max_chars == 3 * (1 + MAX_DIGITS) + 3


def gpt2_byte_chars():
    """GPT-2's map from each byte to the printable character byte-level BPE vocabularies spell it with."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return {**{b: chr(b) for b in printable}, **{b: chr(256 + k) for k, b in enumerate(others)}}


def hand_made_tokenizer(tokens):
    """A byte-level BPE tokenizer whose vocabulary is exactly <pad> <s> </s> then ``tokens`` (no merges: each
    token is looked up whole)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    byte = gpt2_byte_chars()
    vocab = {w: i for i, w in enumerate(["<pad>", "<s>", "</s>"])}
    for t in tokens:
        vocab.setdefault("".join(byte[b] for b in t.encode()), len(vocab))
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", bos_token="<s>", eos_token="</s>")


def test_grammar_table_on_hand_made_tokens():
    singles = list("0123456789- \n|")
    multi = ["12", " -", "0\n", "-0", "\n1", "1 2 3\n", "1234", "x", " 0 0\n"]
    htok = hand_made_tokenizer(singles + multi)
    table = GrammarTable(htok)
    g = table.grammar
    idx = {t: 3 + k for k, t in enumerate(singles + multi)}
    assert all(htok.decode([idx[t]]) == t for t in singles + multi)
    assert table.texts[idx["12"]] == "12" and table.texts[idx[" -"]] == " -"
    # the vectorised table equals running the DFA on every token from every state
    for s in range(g.num_states):
        for i, text in enumerate(table.texts):
            want = -1 if (i in htok.all_special_ids or not text or s == g.done) else g.run(text, s)
            assert table.next_state[s, i] == want, (s, text)
    start = g.start
    assert table.step(start, idx["-0"]) == -1  # "-0" refused
    assert table.step(table.step(start, idx["-"]), idx["0"]) == -1
    assert table.step(start, idx["x"]) == -1 and table.step(start, idx["\n1"]) == -1
    for special in (htok.eos_token_id, htok.bos_token_id, htok.pad_token_id):
        assert all(table.next_state[s, special] == -1 for s in range(g.num_states))
    # digit limit: MAX_DIGITS (4) digits, then no fifth
    full = table.step(start, idx["1234"])
    assert MAX_DIGITS == 4 and full >= 0 and table.step(full, idx["1"]) == -1 and table.step(full, idx["12"]) == -1
    assert table.step(full, idx[" -"]) >= 0
    # the line end only after three numbers, and a multi-char token may carry it
    one = table.step(start, idx["1"])
    assert table.step(one, idx["\n"]) == -1 and table.step(one, idx["0\n"]) == -1
    two = table.step(table.step(one, idx[" "]), idx["1"])
    assert table.step(two, idx["\n"]) == -1
    three = table.step(table.step(two, idx[" -"]), idx["12"])
    assert table.step(three, idx["\n"]) == g.done
    assert table.step(table.step(two, idx[" "]), idx["0\n"]) == g.done
    assert table.step(two, idx[" 0 0\n"]) == -1  # would make four numbers
    assert table.step(start, idx["1 2 3\n"]) == g.done
    assert table.min_tokens == 1 and table.max_tokens == g.max_chars  # single characters: the worst case
    # with r tokens left, only tokens that can still finish in r - 1 are allowed
    allowed = table.allowed(two, 1)
    assert allowed.sum() == 0  # "1 1" needs at least two more tokens (" 0\n" is no single token here)
    allowed = table.allowed(two, 2)  # " " then "0\n"; not " -" (then a digit and the line end)
    assert allowed[idx[" "]] and not allowed[idx[" -"]] and not allowed[idx["1"]]
    allowed = table.allowed(two, 3)
    assert allowed[idx[" "]] and allowed[idx[" -"]] and allowed[idx["1"]] and not allowed[idx["\n"]]
    assert grammar_table(htok) is grammar_table(htok)  # cached per tokenizer


@pytest.mark.parametrize("which", ["gpt", "lfm2"])
def test_constrained_decoding_random_model_zero_failures(which, tok, scenes, lfm2):
    from physics_llm.tokenization.codec import parse_frames as parse_text_frames

    model, mtok = (gpt(tok, seed=1), tok) if which == "gpt" else lfm2
    grammar = PartGrammar()
    for q in scenes:
        n = q.pos.shape[1]
        res = rollout(model, mtok, q, context=K, horizon=3)
        assert res.format_failures == 0
        text = mtok.decode(res.ids[res.prompt_tokens:])
        ts, pos, ang, dpos, dang = parse_text_frames(text, n)  # complete frames, every line well formed
        assert ts == list(range(K - 1, K + 2))
        parts = [line.split("|", 1)[1] + "\n" for line in text.split("\n") if "|" in line]
        assert len(parts) == 3 * n and all(grammar.accepts(p) for p in parts), parts
        np.testing.assert_array_equal(res.pos, pos + dpos)  # the harness integrated what the model wrote
        unconstrained = rollout(model, mtok, q, context=K, horizon=3, constrained=False)
        assert unconstrained.format_failures > 0  # the same model, free to write garbage, does


def test_constrained_budget_too_small_is_refused(tok, scenes):
    with pytest.raises(ValueError, match="max_new_tokens_per_object"):
        rollout(gpt(tok), tok, scenes[0], context=K, horizon=1, max_new_tokens_per_object=5)
    res = rollout(gpt(tok), tok, scenes[0], context=K, horizon=2, max_new_tokens_per_object=6)
    assert res.format_failures == 0  # a tight budget still completes every part ("0 0 0\n" is 6 tokens)


# --------------------------------------------------------------------------- free decoding


def test_free_mode_oracle_reproduces_ground_truth_across_turns(tok, scenes):
    for q in scenes:
        # angles three turns and a bit away from zero: the written (wrapped) angle must unwrap next to the state
        q = QuantizedScene(q.header, q.pos, q.angle + 3 * ANGLE_PERIOD + 3000)
        horizon = q.num_frames - K
        enc = encode_scene(tok, q)
        target = [tok.bos_token_id] + enc.header_ids + [i for f in enc.frame_ids for i in f]
        res = rollout(Oracle(target, len(tok)), tok, q, context=K, horizon=horizon, decode="free")
        assert res.decode == "free" and res.format_failures == 0
        assert res.ids == target  # whole frames, exactly as written
        assert res.forward_tokens == len(target) - 1  # every token fed once, the last one never
        np.testing.assert_array_equal(res.pos, q.pos[K:K + horizon])
        np.testing.assert_array_equal(res.angle, q.angle[K:K + horizon])


def test_free_mode_parses_leniently(tok, scenes):
    q = scenes[1]  # four objects: a frame is 5 lines
    n = q.pos.shape[1]
    assert n == 4
    x, y = q.pos[K - 1, 1]
    a = int(q.angle[K - 1, 1]) + 2 * ANGLE_PERIOD  # the model writes the angle wrapped, as the codec does
    q = QuantizedScene(q.header, q.pos, q.angle + 2 * ANGLE_PERIOD)
    frame = (f"{frame_marker(K - 1)}1 2 3|4 5\n7 1 2 3|4 5 6\n1 {x} {y} {wrap_angle(a)}|5 -5 7\n1 0 0 0|0 0 0\n"
             f"0 1 1 1|1 1 1\n")  # marker, malformed, unknown id, object 1, object 1 again (ignored); then cut
    b = PromptBuilder(tok, q.header)
    for t in range(K - 1):
        b.add_context_frame(q, t)
    target = b.ids + tok(frame, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    res = rollout(Oracle(target, len(tok)), tok, q, context=K, horizon=1, decode="free")
    assert res.format_failures == n - 1  # objects 0, 2, 3: no well-formed line in the first five lines
    expect_pos, expect_ang = q.pos[K - 1].copy(), q.angle[K - 1].copy()
    expect_pos[1] = (x + 5, y - 5)
    expect_ang[1] = a + 7
    np.testing.assert_array_equal(res.pos[0], expect_pos)
    np.testing.assert_array_equal(res.angle[0], expect_ang)


@pytest.mark.parametrize("which", ["gpt", "lfm2"])
def test_free_mode_random_model_counts_failures(which, tok, scenes, lfm2):
    model, mtok = (gpt(tok, seed=3), tok) if which == "gpt" else lfm2
    q = scenes[0]
    n = q.pos.shape[1]
    res = rollout(model, mtok, q, context=K, horizon=2, decode="free", max_new_tokens_per_object=12)
    assert res.pos.shape == (2, n, 2) and res.angle.shape == (2, n)
    assert 0 < res.format_failures <= 2 * n
    assert 0 < res.generated_tokens <= 2 * (n + 1) * 12
    np.testing.assert_array_equal(res.pos[0], q.pos[K - 1])  # garbage: every object keeps its state
