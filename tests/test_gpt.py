"""Scratch GPT: loss, padding, packed rows, KV cache, save/load, gradient checkpointing, sizes, overfitting."""

import math

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM

from conftest import generate
from physics_llm.models import MODEL_SIZES, GPTConfig, GPTForCausalLM, gpt_config_for_size, mup_param_groups
from physics_llm.models.sizes import parameter_counts
from physics_llm.tokenization import (DEFAULT_FORMAT, IGNORE_INDEX, build_physics_tokenizer, get_format, pack_windows,
                                      scene_windows)

V = 90


def make_model(seed=0, **overrides) -> GPTForCausalLM:
    """A small model in eval mode whose weights are all perturbed: muP zero-inits the queries (uniform attention,
    blind to positions and to the mask within the causal prefix) and norms start at 1, which would make some
    comparisons below trivially true."""
    torch.manual_seed(seed)
    cfg = dict(vocab_size=V, n_layer=2, n_head=2, n_embd=32, block_size=256, mup_base_width=16,
               mup_input_alpha=2.0, mup_output_alpha=0.5)
    model = GPTForCausalLM(GPTConfig(**{**cfg, **overrides}))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model.eval()


def tokens(*shape, seed=1):
    return torch.randint(3, V, shape, generator=torch.Generator().manual_seed(seed))


def test_forward_shapes_and_initial_loss():
    model = GPTForCausalLM(gpt_config_for_size("tiny", V))
    x = tokens(3, 17)
    out = model(x, labels=x)
    assert out.logits.shape == (3, 17, V)
    assert out.past_key_values is None
    assert abs(out.loss.item() - math.log(V)) < 0.5  # near-uniform prediction at step 0


def test_loss_is_shifted_and_ignores_masked_labels():
    model = make_model()
    x = tokens(2, 12)
    labels = x.clone()
    labels[:, :5] = IGNORE_INDEX
    labels[1, 9] = IGNORE_INDEX
    out = model(x, labels=labels)
    expected = F.cross_entropy(out.logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-6)
    # what Trainer passes under gradient accumulation: a sum over the batch divided by the global count
    n = int((labels[:, 1:] != IGNORE_INDEX).sum())
    out_n = model(x, labels=labels, num_items_in_batch=2 * n)
    assert out_n.loss.item() == pytest.approx(expected.item() / 2, rel=1e-6)
    # a fully masked row contributes nothing
    labels[1] = IGNORE_INDEX
    alone = model(x[:1], labels=labels[:1]).loss
    assert model(x, labels=labels).loss.item() == pytest.approx(alone.item(), rel=1e-6)


@pytest.mark.parametrize("side", ["right", "left"])
def test_padding_matches_unpadded(side):
    model = make_model()
    a, b = tokens(1, 10, seed=2), tokens(1, 6, seed=3)
    pad = torch.zeros(1, 4, dtype=torch.long)
    one, zero = torch.ones(1, 6, dtype=torch.long), torch.zeros(1, 4, dtype=torch.long)
    if side == "right":
        b_pad, b_mask, real = torch.cat([b, pad], 1), torch.cat([one, zero], 1), slice(0, 6)
    else:
        b_pad, b_mask, real = torch.cat([pad, b], 1), torch.cat([zero, one], 1), slice(4, 10)
    batch = torch.cat([a, b_pad])
    mask = torch.cat([torch.ones(1, 10, dtype=torch.long), b_mask])
    out = model(batch, attention_mask=mask).logits
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0], model(a).logits[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[1, real], model(b).logits[0], atol=1e-5, rtol=1e-5)


def test_packed_rows_equal_windows_alone():
    model = make_model()
    windows = [{"input_ids": tokens(n, seed=n).tolist(), "labels": tokens(n, seed=n).tolist()} for n in (9, 14, 5, 7)]
    rows, _ = pack_windows(windows, max_len=24, pad_id=0)
    assert any(sum(1 for p in r["position_ids"][1:] if p == 0) for r in rows)  # something really is packed
    batch = {k: torch.tensor([r[k] for r in rows]) for k in ("input_ids", "attention_mask", "position_ids", "labels")}
    out = model(**batch)
    assert torch.isfinite(out.logits).all()
    found = 0
    for r, row_logits in zip(rows, out.logits):
        starts = [i for i, p in enumerate(r["position_ids"]) if p == 0 and r["attention_mask"][i]]
        for s in starts:
            for w in windows:
                n = len(w["input_ids"])
                if r["input_ids"][s:s + n] == w["input_ids"] and r["position_ids"][s:s + n] == list(range(n)):
                    alone = model(torch.tensor([w["input_ids"]])).logits[0]
                    torch.testing.assert_close(row_logits[s:s + n], alone, atol=1e-5, rtol=1e-5)
                    found += 1
                    break
    assert found == len(windows)
    # without position_ids the windows would see each other: the packed mask is what makes the difference
    unmasked = model(batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert not torch.allclose(unmasked, out.logits, atol=1e-3)
    # the loss over packed rows equals the token-weighted loss over the windows alone (labels here are not
    # -100 at window starts, as real windows' are: the model never predicts across a window boundary anyway)
    nll, count = 0.0, 0
    for w in windows:
        x, y = torch.tensor([w["input_ids"]]), torch.tensor([w["labels"]])
        nll += model(x, labels=y, num_items_in_batch=1).loss.item()
        count += int((y[:, 1:] != IGNORE_INDEX).sum())
    assert out.loss.item() == pytest.approx(nll / count, rel=1e-5)


@pytest.mark.parametrize("chunk", [1, 5])
def test_kv_cache_incremental_decoding_matches_full(chunk):
    model = make_model()
    x = tokens(2, 31)
    full = model(x).logits
    out = model(x[:, :11], use_cache=True)
    logits, cache = [out.logits], out.past_key_values
    assert len(cache) == 2 and cache[0][0].shape == (2, 2, 11, 16)  # per layer (k, v): (B, nh, S, hs)
    for start in range(11, 31, chunk):
        out = model(x[:, start:start + chunk], past_key_values=cache, use_cache=True)
        logits.append(out.logits)
        cache = out.past_key_values
    assert cache[0][0].shape[2] == 31
    torch.testing.assert_close(torch.cat(logits, dim=1), full, atol=1e-5, rtol=1e-5)


def test_kv_cache_with_attention_mask_and_block_size():
    model = make_model()
    x = tokens(2, 12)
    full = model(x).logits
    out = model(x[:, :8], attention_mask=torch.ones(2, 8, dtype=torch.long), use_cache=True)
    step = model(x[:, 8:], attention_mask=torch.ones(2, 12, dtype=torch.long), past_key_values=out.past_key_values)
    torch.testing.assert_close(step.logits, full[:, 8:], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="attention_mask covers"):
        model(x[:, 8:], attention_mask=torch.ones(2, 4, dtype=torch.long), past_key_values=out.past_key_values)
    with pytest.raises(ValueError, match="block_size"):
        model(tokens(1, 257))


def test_save_load_roundtrip_identical_logits(tmp_path):
    import physics_llm.models  # noqa: F401  (registers physics_gpt with the Auto classes)

    model = make_model(pad_token_id=0, bos_token_id=1, eos_token_id=2)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists() and (tmp_path / "config.json").exists()
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, GPTForCausalLM)
    volatile = ("_name_or_path", "dtype")
    assert {k: v for k, v in loaded.config.to_dict().items() if k not in volatile} == \
        {k: v for k, v in model.config.to_dict().items() if k not in volatile}
    x = tokens(2, 20)
    assert torch.equal(model(x).logits, loaded(x).logits)
    mup_off = make_model(mup=False)
    mup_off.save_pretrained(tmp_path / "sp")
    assert torch.equal(mup_off(x).logits, AutoModelForCausalLM.from_pretrained(tmp_path / "sp").eval()(x).logits)


def test_gradient_checkpointing_same_loss_and_grads():
    x = tokens(2, 24)
    results = []
    for checkpointing in (False, True):
        model = make_model(dropout=0.0).train()
        if checkpointing:
            model.gradient_checkpointing_enable()
            assert model.is_gradient_checkpointing
        calls = []
        model.transformer.h[0].register_forward_pre_hook(lambda *args: calls.append(1))
        out = model(x, labels=x, use_cache=True)
        out.loss.backward()
        assert len(calls) == (2 if checkpointing else 1)  # checkpointed blocks run again in the backward pass
        assert (out.past_key_values is None) == checkpointing
        results.append((out.loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (loss_a, grads_a), (loss_b, grads_b) = results
    torch.testing.assert_close(loss_a, loss_b)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], atol=1e-6, rtol=1e-5, msg=name)


def test_sizes():
    with pytest.raises(ValueError, match="valid sizes: tiny, small, 125M, 350M, 760M"):
        gpt_config_for_size("1B", V)
    cfg = gpt_config_for_size("350M", V, block_size=4096, mup=False)
    assert (cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.block_size, cfg.mup) == (24, 1024, 16, 4096, False)
    for name in MODEL_SIZES:
        with torch.device("meta"):
            model = GPTForCausalLM(gpt_config_for_size(name, V))
        counts = parameter_counts(name, V)
        assert counts["total"] == sum(p.numel() for p in model.parameters())
        embed = model.transformer.wte.weight.numel() + model.lm_head.weight.numel()
        assert counts["non_embedding"] == counts["total"] - embed


def test_param_groups():
    model = make_model()  # n_embd 32, base 16: m = 2
    groups = {g["name"]: g for g in mup_param_groups(model, lr=1e-3, weight_decay=0.1)}
    assert set(groups) == {"hidden", "readout", "embedding", "norm"}
    assert groups["hidden"]["lr"] == pytest.approx(5e-4) and groups["hidden"]["weight_decay"] == 0.1
    assert groups["readout"]["lr"] == 1e-3 and groups["readout"]["weight_decay"] == 0.1
    assert groups["embedding"]["weight_decay"] == groups["norm"]["weight_decay"] == 0.0
    ids = [id(p) for g in groups.values() for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # each parameter exactly once
    sp = {g["name"]: g for g in mup_param_groups(make_model(mup=False), lr=1e-3, weight_decay=0.1)}
    assert {g["lr"] for g in sp.values()} == {1e-3}
    assert mup_param_groups(make_model(bias=True), 1e-3)[-1]["name"] == "bias"
    torch.optim.AdamW(mup_param_groups(model, 1e-3, 0.1))  # accepted as is
    assert [g["lr"] for g in model.mup_param_groups(1e-3, 0.1)] == [g["lr"] for g in groups.values()]


def test_tiny_model_overfits_one_window(tmp_path):
    generate(tmp_path, types=["pendulum"], n=1, frames=6)
    tok = build_physics_tokenizer()
    window = scene_windows(next(tmp_path.rglob("scene_*.jsonl")), tok, 1024, get_format(DEFAULT_FORMAT))[0]
    x, y = torch.tensor([window["input_ids"]]), torch.tensor([window["labels"]])
    torch.manual_seed(0)
    model = GPTForCausalLM(gpt_config_for_size("tiny", len(tok), pad_token_id=tok.pad_token_id,
                                               bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id))
    opt = torch.optim.AdamW(mup_param_groups(model, lr=1e-3, weight_decay=0.0))
    losses = []
    for _ in range(100):
        loss = model(x, labels=y).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0], losses[::10]
