"""Batched rollouts: rollout_batch equals one-scene rollouts (scratch GPT and LFM2, constrained or not, forced
and free) for scenes of different object counts and prompt lengths; the shared cache stays within the model's
maximum length through re-encodes; scenes too long come back as exceptions in place; rollout_many keeps the
input order and its sampling seeds whatever the batch size. Batched == single runs in the legacy ``displacement``
and the default ``velocity_change`` text format."""


import numpy as np
import pytest

from physics_llm.tokenization import DEFAULT_FORMAT, build_physics_tokenizer, get_format
from physics_llm.rollout import SceneTooLongError, rollout, rollout_batch, rollout_many, scene_seed
from rollout_models import gpt, make_scene, tiny_lfm2

K, H = 4, 3
FORMATS = {name: get_format(name) for name in ("displacement", "velocity_change")}
both_formats = pytest.mark.parametrize("fmt", list(FORMATS.values()), ids=list(FORMATS))


@pytest.fixture(scope="module")
def scene_sets():
    """2, 4 and 6 objects: different prompt lengths, so the batch is left-padded and rows finish apart; quantised
    by each format (keyed by format name)."""
    return {name: [make_scene("pendulum", 0, fmt=f), make_scene("billiards", 1, fmt=f),
                   make_scene("tower", 2, frames=10, fmt=f)] for name, f in FORMATS.items()}


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


def assert_same(a, b):
    np.testing.assert_array_equal(a.pos, b.pos)
    np.testing.assert_array_equal(a.angle, b.angle)
    assert a.format_failures == b.format_failures
    assert a.generated_tokens == b.generated_tokens and a.prompt_tokens == b.prompt_tokens
    assert a.ids == b.ids


@both_formats
@pytest.mark.parametrize("which", ["gpt", "lfm2"])
@pytest.mark.parametrize("constrained", [True, False])
def test_batched_forced_equals_single_scene(which, constrained, fmt, tok, scene_sets, lfm2):
    model, mtok = (gpt(tok), tok) if which == "gpt" else lfm2
    scenes = scene_sets[fmt.name]
    budget = None if constrained else 8
    batch = rollout_batch(model, mtok, scenes, context=K, horizon=H, constrained=constrained,
                          max_new_tokens_per_object=budget, text_format=fmt)
    for q, b in zip(scenes, batch):
        single = rollout(model, mtok, q, context=K, horizon=H, constrained=constrained,
                         max_new_tokens_per_object=budget, text_format=fmt)
        assert_same(b, single)
        assert b.forward_tokens == single.forward_tokens and b.window_slides == 0
        assert b.pos.shape == (H, q.num_objects, 2)
        if constrained:
            assert b.format_failures == 0


@pytest.mark.parametrize("which", ["gpt", "lfm2"])
def test_chunked_prefill_equals_single_scene(which, tok, scenes, lfm2, monkeypatch):
    """Prompts fed 16 tokens at a time through the cache (rows all padding in the first chunks)."""
    import physics_llm.rollout.batched as ro

    monkeypatch.setattr(ro, "_PREFILL_ELEMENTS", 1)
    model, mtok = (gpt(tok), tok) if which == "gpt" else lfm2
    batch = rollout_batch(model, mtok, scenes, context=K, horizon=2)
    for q, b in zip(scenes, batch):
        assert_same(b, rollout(model, mtok, q, context=K, horizon=2))


@both_formats
def test_batched_free_equals_single_scene(fmt, tok, scene_sets):
    model = gpt(tok, seed=3)
    kw = dict(context=K, horizon=2, decode="free", max_new_tokens_per_object=10, text_format=fmt)
    batch = rollout_batch(model, tok, scene_sets[fmt.name], **kw)
    for q, b in zip(scene_sets[fmt.name], batch):
        assert_same(b, rollout(model, tok, q, **kw))
        assert b.decode == "free" and 0 < b.format_failures <= 2 * q.num_objects


def test_batched_sliding_window_stays_within_block_size(tok, scenes):
    block = 700
    model = gpt(tok, block_size=block)
    longest = []

    def hook(module, args, kwargs):
        past = kwargs.get("past_key_values")
        longest.append((0 if past is None else past[0][0].size(2)) + kwargs["input_ids"].shape[1])

    long_scene = make_scene("billiards", 1, frames=30)
    handle = model.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        res = rollout_batch(model, tok, [long_scene, scenes[0], scenes[2]], context=8, horizon=8,
                            max_new_tokens_per_object=8, constrained=False)
    finally:
        handle.remove()
    assert max(longest) <= block
    for q, r in zip([long_scene, scenes[0], scenes[2]], res):
        assert r.pos.shape == (8, q.num_objects, 2)
        assert r.window_slides >= 1 and len(r.ids) > block
    # a scene whose header plus one frame cannot fit comes back as its exception; the others complete
    small = gpt(tok, block_size=420)
    res = rollout_batch(small, tok, [scenes[0], scenes[2]], context=2, horizon=2)
    assert res[0].pos.shape == (2, 2, 2) and res[0].format_failures == 0
    assert isinstance(res[1], SceneTooLongError) and "maximum length" in str(res[1])
    with pytest.raises(SceneTooLongError):
        rollout(small, tok, scenes[2], context=2, horizon=2)


def test_batched_sliding_window_lfm2(lfm2, scenes, monkeypatch):
    """LFM2's hybrid cache through re-encodes: the limit comes from the tokenizer's model_max_length here."""
    model, ltok = lfm2
    block = 560
    monkeypatch.setattr(ltok, "model_max_length", block)
    longest = []

    def hook(module, args, kwargs):
        past = kwargs.get("past_key_values")
        longest.append((0 if past is None else past.get_seq_length()) + kwargs["input_ids"].shape[1])

    batch = [make_scene("billiards", 1, frames=30), scenes[0], scenes[2]]
    handle = model.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        res = rollout_batch(model, ltok, batch, context=6, horizon=8)
    finally:
        handle.remove()
    assert max(longest) <= block
    for q, r in zip(batch, res):
        assert r.pos.shape == (8, q.num_objects, 2) and r.format_failures == 0
    assert sum(r.window_slides for r in res) >= 2


def test_rollout_many_keeps_order_and_seeds(tok, scenes):
    model = gpt(tok, seed=2)
    order = [scenes[2], scenes[0], scenes[1], scenes[0]]
    kw = dict(context=K, horizon=2, temperature=1.0, top_p=0.9, seed=5, max_new_tokens_per_object=18)
    one = rollout_many(model, tok, order, batch_size=1, **kw)
    many = rollout_many(model, tok, order, batch_size=3, **kw)  # sorted by object count inside, then put back
    for j, (q, a, b) in enumerate(zip(order, one, many)):
        assert a.pos.shape == (2, q.num_objects, 2)
        assert_same(a, b)
        assert_same(a, rollout(model, tok, q, context=K, horizon=2, temperature=1.0, top_p=0.9,
                               seed=scene_seed(5, j), max_new_tokens_per_object=18))
    assert one[1].ids != one[3].ids  # the same scene at another index samples with another seed
    # explicit per-scene seeds: feeding the scenes in chunks gives the same rollouts as one call
    seeds = [scene_seed(5, j) for j in range(len(order))]
    chunked = [r for lo in (0, 2) for r in rollout_many(model, tok, order[lo:lo + 2], batch_size=2,
                                                        **{**kw, "seed": seeds[lo:lo + 2]})]
    for a, b in zip(one, chunked):
        assert_same(a, b)
    with pytest.raises(ValueError, match="seeds"):
        rollout_many(model, tok, order, **{**kw, "seed": seeds[:2]})
    small = gpt(tok, block_size=420)
    res = rollout_many(small, tok, [scenes[2], scenes[0]], context=2, horizon=1)
    assert isinstance(res[0], SceneTooLongError) and res[1].pos.shape == (1, 2, 2)
