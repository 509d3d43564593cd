"""Rollout engine, one scene: KV-cache decoding equals full recompute (scratch GPT and LFM2), a perfect oracle
reproduces ground truth, garbage is counted not fatal, prompt ids equal training ids, sliding window, seeded
sampling; the predicted-part grammar and constrained decoding; free decoding. The main cases run in both the
legacy ``displacement`` and the default ``velocity_change`` text format. Batches: test_rollout_batch.py."""


import numpy as np
import pytest
import torch
from types import SimpleNamespace

from physics_llm.tokenization import PromptBuilder, State, build_physics_tokenizer
from physics_llm.decoding import MAX_DIGITS, GrammarTable, PartGrammar, grammar_table
from physics_llm.rollout import rollout
from physics_llm.tokenization.codec import ANGLE_PERIOD, LINE_END, QuantizedScene
from physics_llm.tokenization.formats import DEFAULT_FORMAT, get_format
from physics_llm.tokenization.windows import encode_scene
from rollout_models import gpt, make_scene, tiny_lfm2

K, H = 4, 2
FORMATS = {name: get_format(name) for name in ("displacement", "velocity_change")}
both_formats = pytest.mark.parametrize("fmt", list(FORMATS.values()), ids=list(FORMATS))


@pytest.fixture(scope="module")
def scene_sets():
    """The test scenes quantised by each format (keyed by format name)."""
    return {name: [make_scene("pendulum", 0, fmt=f), make_scene("billiards", 1, fmt=f)]
            for name, f in FORMATS.items()}


@pytest.fixture(scope="module")
def scenes(scene_sets):
    """The test scenes in the default format."""
    return scene_sets[DEFAULT_FORMAT]


@pytest.fixture(scope="module")
def tok():
    return build_physics_tokenizer()


@pytest.fixture(scope="module")
def lfm2(tmp_path_factory, scenes):
    return tiny_lfm2(tmp_path_factory.mktemp("lfm2"), scenes)


def context_prompt(tok, q, fmt, context=K):
    """[bos] header + the context frames shown whole (``fmt.first_frame .. context - 2``), as training writes them."""
    b = PromptBuilder(tok, q.header, fmt)
    for t in range(fmt.first_frame, context - 1):
        b.add_context_frame(q, t)
    return b


def training_ids(tok, q, fmt):
    """[bos] header + every frame the format writes: the ids a training window of the whole scene holds."""
    enc = encode_scene(tok, q, fmt)
    return [tok.bos_token_id] + enc.header_ids + [i for f in enc.frame_ids for i in f]


def slow_rollout(model, tok, q, fmt, context, horizon, max_new=16, constrained=False):
    """Reference: greedy, re-encodes the whole sequence for every generated token, no cache; with
    ``constrained``, only the tokens the grammar table allows. The format writes the forced parts, parses the
    predicted ones and integrates the state."""
    table = grammar_table(tok, fmt.max_digits) if constrained else None
    b = context_prompt(tok, q, fmt, context)
    state = fmt.initial_state(q, context)
    n = q.num_objects
    out_pos, out_ang, failures = [], [], 0
    with torch.no_grad():
        for t in range(context - 1, context - 1 + horizon):
            marker, *forced = fmt.forced_texts(t, state)
            b.add_forced(marker)
            predicted = np.zeros((n, 3), np.int64)  # a failed part predicts zeros
            for i in range(n):
                b.add_forced(forced[i])
                gen, g = [], table.grammar.start if table is not None else None
                while len(gen) < max_new:
                    logits = model(torch.tensor([b.ids + gen])).logits[0, -1]
                    if table is not None:
                        logits = logits.masked_fill(~table.allowed(g, max_new - len(gen), logits.shape[-1]), -1e9)
                    gen.append(int(logits.argmax()))
                    if table is not None:
                        g = table.step(g, gen[-1])
                    if gen[-1] == tok.eos_token_id or LINE_END in tok.decode(gen):
                        break
                b.add_generated(gen)
                try:
                    assert gen[-1] != tok.eos_token_id
                    predicted[i] = fmt.parse_predicted(tok.decode(gen))
                except (ValueError, AssertionError):
                    failures += 1
            state = fmt.step(state, predicted)
            out_pos.append(state.pos)
            out_ang.append(state.angle)
    return np.array(out_pos), np.array(out_ang), failures, b.ids


def check_equal_to_reference(model, tok, q, fmt, max_new=16, constrained=False):
    res = rollout(model, tok, q, context=K, horizon=H, max_new_tokens_per_object=max_new, constrained=constrained,
                  text_format=fmt)
    ref_pos, ref_ang, ref_fail, ref_ids = slow_rollout(model, tok, q, fmt, K, H, max_new, constrained)
    assert res.ids == ref_ids
    np.testing.assert_array_equal(res.pos, ref_pos)
    np.testing.assert_array_equal(res.angle, ref_ang)
    assert res.format_failures == ref_fail
    assert res.forward_tokens < len(res.ids)  # incremental: every token fed once (the last one never)
    return res


@both_formats
def test_kv_cache_rollout_equals_recompute_scratch_gpt(fmt, tok, scene_sets):
    model = gpt(tok)
    for q in scene_sets[fmt.name]:
        check_equal_to_reference(model, tok, q, fmt, max_new=8, constrained=True)
        res = check_equal_to_reference(model, tok, q, fmt, max_new=8)
        assert res.pos.shape == (H, q.num_objects, 2) and res.pos.dtype == np.int64
        assert res.angle.shape == (H, q.num_objects) and res.angle.dtype == np.int64


@both_formats
def test_kv_cache_rollout_equals_recompute_lfm2(fmt, lfm2, scene_sets):
    model, ltok = lfm2
    for q in scene_sets[fmt.name]:
        check_equal_to_reference(model, ltok, q, fmt, max_new=6, constrained=True)
        res = check_equal_to_reference(model, ltok, q, fmt, max_new=6)  # asserts ids, positions, failures equal
        assert res.pos.shape == (H, q.num_objects, 2)


def test_default_format_and_scene_units(tok, scenes, scene_sets):
    model = gpt(tok)
    q = scenes[0]
    default = rollout(model, tok, q, context=K, horizon=1, max_new_tokens_per_object=8)
    explicit = rollout(model, tok, q, context=K, horizon=1, max_new_tokens_per_object=8,
                       text_format=get_format(DEFAULT_FORMAT))
    assert default.ids == explicit.ids
    np.testing.assert_array_equal(default.pos, explicit.pos)
    # a scene quantised by another format (other position units) is refused, not silently misread
    with pytest.raises(ValueError, match="quanti"):
        rollout(model, tok, scene_sets["displacement"][0], context=K, horizon=1)
    with pytest.raises(ValueError, match="quanti"):
        rollout(model, tok, q, context=K, horizon=1, text_format=FORMATS["displacement"])


def test_garbage_is_counted_never_fatal(tok, scenes):
    model = gpt(tok, seed=1)
    for q in scenes:
        res = rollout(model, tok, q, context=K, horizon=3, max_new_tokens_per_object=5, constrained=False)
        n = q.num_objects
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


@both_formats
def test_prompt_ids_equal_training_ids_and_oracle_reproduces_ground_truth(fmt, tok, scene_sets):
    for q in scene_sets[fmt.name]:
        horizon = q.num_frames - K
        target = training_ids(tok, q, fmt)
        oracle = Oracle(target, len(tok))
        res = rollout(oracle, tok, q, context=K, horizon=horizon, text_format=fmt)
        # prompt: [bos] header + frames first_frame..K-2, as PromptBuilder and the training windows build it
        b = context_prompt(tok, q, fmt)
        assert res.ids[:res.prompt_tokens] == b.ids == target[:res.prompt_tokens]
        assert oracle.inputs[0][:res.prompt_tokens] == b.ids  # the model saw these ids, once
        assert res.ids == target[:len(res.ids)]
        assert res.format_failures == 0
        np.testing.assert_array_equal(res.pos, q.pos[K:K + horizon])  # exact, in the format's units
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
    assert res.pos.shape == (12, q.num_objects, 2)
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


@both_formats
@pytest.mark.parametrize("which", ["gpt", "lfm2"])
def test_constrained_decoding_random_model_zero_failures(which, fmt, tok, scene_sets, lfm2):
    model, mtok = (gpt(tok, seed=1), tok) if which == "gpt" else lfm2
    grammar = PartGrammar(fmt.max_digits)
    for q in scene_sets[fmt.name]:
        n = q.num_objects
        res = rollout(model, mtok, q, context=K, horizon=3, text_format=fmt)
        assert res.format_failures == 0
        text = mtok.decode(res.ids[res.prompt_tokens:])
        ts, _, predicted = fmt.parse_frames(text, n, fmt.angle_mask(q.header))  # complete frames, well formed
        assert ts == list(range(K - 1, K + 2))
        parts = [line.split("|", 1)[1] + "\n" for line in text.split("\n") if "|" in line]
        assert len(parts) == 3 * n and all(grammar.accepts(p) for p in parts), parts
        # the harness wrote the forced parts of its state and integrated what the model wrote
        state, expect = fmt.initial_state(q, K), ""
        for h, t in enumerate(ts):
            marker, *forced = fmt.forced_texts(t, state)
            expect += marker + "".join(f + fmt.predicted_text(p) for f, p in zip(forced, predicted[h]))
            state = fmt.step(state, predicted[h])
            np.testing.assert_array_equal(res.pos[h], state.pos)
            np.testing.assert_array_equal(res.angle[h], state.angle)
        assert text == expect
        unconstrained = rollout(model, mtok, q, context=K, horizon=3, constrained=False, text_format=fmt)
        assert unconstrained.format_failures > 0  # the same model, free to write garbage, does


def test_constrained_budget_too_small_is_refused(tok, scenes):
    with pytest.raises(ValueError, match="max_new_tokens_per_object"):
        rollout(gpt(tok), tok, scenes[0], context=K, horizon=1, max_new_tokens_per_object=5)
    res = rollout(gpt(tok), tok, scenes[0], context=K, horizon=2, max_new_tokens_per_object=6)
    assert res.format_failures == 0  # a tight budget still completes every part ("0 0 0\n" is 6 tokens)


# --------------------------------------------------------------------------- free decoding


def turned(q, turns):
    """``q`` with every angle ``turns`` mrad further (the same scene in the same units)."""
    return QuantizedScene(q.header, q.pos, q.angle + turns, q.pos_scale)


def written_position(fmt, pos):
    """A state position as free decoding reads it back: shown (rounded to the format's shown unit), in state units."""
    ratio = fmt.pos_scale // (fmt.shown_pos_scale or fmt.pos_scale)
    return np.vectorize(fmt.shown_position)(pos) * ratio


@both_formats
def test_free_mode_oracle_reproduces_ground_truth_across_turns(fmt, tok, scene_sets):
    for q in scene_sets[fmt.name]:
        # angles three turns and a bit away from zero: the written (wrapped) angle must unwrap next to the state
        q = turned(q, 3 * ANGLE_PERIOD + 3000)
        horizon = q.num_frames - K
        target = training_ids(tok, q, fmt)
        res = rollout(Oracle(target, len(tok)), tok, q, context=K, horizon=horizon, decode="free", text_format=fmt)
        assert res.decode == "free" and res.format_failures == 0
        assert res.ids == target  # whole frames, exactly as written
        assert res.forward_tokens == len(target) - 1  # every token fed once, the last one never
        # the next state is the written position plus the written velocity update: ground truth, except that a
        # format showing positions coarser than its state unit loses the sub-unit part of the written one
        prev, nxt = q.pos[K - 1:K - 1 + horizon], q.pos[K:K + horizon]
        np.testing.assert_array_equal(res.pos, written_position(fmt, prev) + (nxt - prev))
        if fmt.name == "displacement":
            np.testing.assert_array_equal(res.pos, nxt)
        assert np.abs(res.pos - nxt).max() <= fmt.pos_scale // (2 * (fmt.shown_pos_scale or fmt.pos_scale))
        np.testing.assert_array_equal(res.angle, q.angle[K:K + horizon])


@both_formats
def test_free_mode_parses_leniently(fmt, tok, scene_sets):
    q = turned(scene_sets[fmt.name][1], 2 * ANGLE_PERIOD)  # the model writes the angle wrapped, the harness unwraps
    n = q.num_objects  # four objects: a frame is 5 lines
    assert n == 4
    s = fmt.state_at(q, K - 1)
    # object 1's line written from a state whose velocity is not the harness's: a format showing velocities
    # must integrate the written one (displacement shows none: the same line either way)
    w = s.copy()
    w.vel[1] += (30, -40)
    w.angvel[1] += 2
    zero = State(np.zeros_like(s.pos), np.zeros_like(s.angle), np.zeros_like(s.vel), np.zeros_like(s.angvel))
    lines = [fmt.forced_texts(K - 1, s)[0],  # the marker
             fmt.forced_text(1, s) + "4 5" + LINE_END,  # malformed
             "7" + fmt.forced_text(1, s)[1:] + fmt.predicted_text((4, 5, 6)),  # unknown id
             fmt.forced_text(1, w) + fmt.predicted_text((5, -5, 7)),  # object 1
             fmt.forced_text(1, zero) + fmt.predicted_text((0, 0, 0)),  # object 1 again (ignored)
             fmt.forced_text(0, s) + fmt.predicted_text((1, 1, 1))]  # object 0, past the frame's n + 1 lines: cut
    b = context_prompt(tok, q, fmt)
    target = b.ids + tok("".join(lines), add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    res = rollout(Oracle(target, len(tok)), tok, q, context=K, horizon=1, decode="free", text_format=fmt)
    assert res.format_failures == n - 1  # objects 0, 2, 3: no well-formed line in the first five lines
    expect_pos, expect_ang = s.pos.copy(), s.angle.copy()  # failed objects keep their state
    vel, angvel = (5, -5), 7
    if fmt.target == "change":
        vel, angvel = w.vel[1] + vel, w.angvel[1] + angvel
    expect_pos[1] = written_position(fmt, s.pos[1]) + vel
    expect_ang[1] = s.angle[1] + angvel
    np.testing.assert_array_equal(res.pos[0], expect_pos)
    np.testing.assert_array_equal(res.angle[0], expect_ang)


@pytest.mark.parametrize("which", ["gpt", "lfm2"])
def test_free_mode_random_model_counts_failures(which, tok, scenes, lfm2):
    model, mtok = (gpt(tok, seed=3), tok) if which == "gpt" else lfm2
    q = scenes[0]
    n = q.num_objects
    res = rollout(model, mtok, q, context=K, horizon=2, decode="free", max_new_tokens_per_object=12)
    assert res.pos.shape == (2, n, 2) and res.angle.shape == (2, n)
    assert 0 < res.format_failures <= 2 * n
    assert 0 < res.generated_tokens <= 2 * (n + 1) * 12
    np.testing.assert_array_equal(res.pos[0], q.pos[K - 1])  # garbage: every object keeps its state
