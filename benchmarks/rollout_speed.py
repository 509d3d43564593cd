"""Rollout speed: object-frames per second of the naive approach, the KV-cache engine and batched rollouts.

Same model and scenes, same run:

- ``naive``: for every predicted frame and object, the whole prompt text (header, frames so far, the
  object's forced prefix) is re-tokenized and re-encoded, then the predicted part is generated greedily
  (``model.generate`` when the model has it; the scratch GPT is no ``GenerationMixin``, so an equivalent loop:
  the prompt once, then one token at a time through the cache of that call), unconstrained, at most the
  engine's part budget (18 tokens for PhysicsTokenizer), stopping at the line end. Nothing is reused across
  parts. Run on the same scenes but only the first ``--naive-horizon`` frames (it is slow; its prompts are
  then shorter than the engine's on average, which favours it); rates are per object-frame.
- ``engine``: :func:`physics_llm.rollout.rollout`, one scene at a time, forced chunks through the KV cache
  (grammar-constrained, the default).
- ``batch_B``: :func:`physics_llm.rollout.rollout_batch` through ``rollout_many(batch_size=B)``.

The model is a freshly initialised scratch GPT of a named size (``--model-size``) or a checkpoint
(``--checkpoint``); scenes are generated in a temporary directory (or read from ``--data-dir``). Prints JSON:
rates, speedups over naive, generated tokens per object-frame, how many batched predictions equal the
one-scene ones (among scenes where neither slid its window: slides differ by design), the device, torch version, thread count and the machine's load average.

    python benchmarks/rollout_speed.py --model-size tiny
    python benchmarks/rollout_speed.py --checkpoint runs/tiny/checkpoint --data-dir data/val --batch-sizes 4 16
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from physics_llm.decoding import grammar_table
from physics_llm.generation import GenerationConfig, run_generation
from physics_llm.models import GPTForCausalLM, gpt_config_for_size
from physics_llm.rollout import model_max_length, rollout_many
from physics_llm.scene_format import read_scene
from physics_llm.tokenization import build_physics_tokenizer, resolve_format
from physics_llm.tokenization.codec import LINE_END

TYPES = ["billiards", "pendulum", "tower", "projectile"]


def load_scenes(data_dir: Path, count: int, frames: int, fmt) -> list:
    scenes = []
    for path in sorted(data_dir.rglob("scene_*.jsonl")):
        q = fmt.quantize(read_scene(path))
        if q.num_frames >= frames:
            scenes.append(q)
        if len(scenes) == count:
            break
    return scenes


def _greedy_part(model, ids: torch.Tensor, stop: list[int], budget: int) -> list[int]:
    if hasattr(model, "generate"):
        out = model.generate(ids, max_new_tokens=budget, do_sample=False, eos_token_id=stop,
                             pad_token_id=stop[0], attention_mask=torch.ones_like(ids))
        return out[0, ids.shape[1]:].tolist()
    gen, past, x = [], None, ids
    for _ in range(budget):
        out = model(input_ids=x, past_key_values=past, use_cache=True)
        past = out.past_key_values
        gen.append(int(out.logits[0, -1].argmax()))
        if gen[-1] in stop:
            break
        x = torch.tensor([[gen[-1]]], device=ids.device)
    return gen


def naive_rollout(model, tokenizer, q, fmt, context: int, horizon: int) -> tuple[int, int]:
    """The whole prompt re-tokenized and re-encoded for every object of every frame; returns (object-frames,
    generated tokens). When the prompt would not fit the model, the oldest whole frames are dropped (the
    header stays), as a naive loop with truncation would do."""
    budget, generated = grammar_table(tokenizer).max_tokens, 0
    device = next(model.parameters()).device
    max_len = model_max_length(model, tokenizer)
    stop = [t for t in (tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids(LINE_END)) if t is not None]
    header = fmt.header_text(q.header)
    frames = [fmt.render_frames(q, t, 1) for t in range(fmt.first_frame, context - 1)]
    first = 0  # oldest frame kept
    state = fmt.initial_state(q, context)
    n = q.num_objects
    for t in range(context - 1, context - 1 + horizon):
        forced = fmt.forced_texts(t, state)
        current = forced[0]
        predicted = np.zeros((n, 3), np.int64)
        for i in range(n):
            current += forced[1 + i]
            ids = tokenizer(header + "".join(frames[first:]) + current, return_tensors="pt").input_ids
            while ids.shape[1] + budget > max_len and first < len(frames):
                first += 1
                ids = tokenizer(header + "".join(frames[first:]) + current, return_tensors="pt").input_ids
            gen = _greedy_part(model, ids.to(device), stop, budget)
            generated += len(gen)
            part = tokenizer.decode(gen, skip_special_tokens=True)
            current += part if part.endswith(LINE_END) else part + LINE_END
            try:
                predicted[i] = fmt.parse_predicted(part)
            except ValueError:
                pass
        frames.append(current)
        state = fmt.step(state, predicted)
    return n * horizon, generated


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-size", default="tiny", help="scratch GPT size when no --checkpoint (tiny, small, 125M)")
    p.add_argument("--checkpoint", default=None, help="a saved model directory (model + tokenizer)")
    p.add_argument("--data-dir", default=None, help="scene files; default: generate --scenes in a temp dir")
    p.add_argument("--scenes", type=int, default=8)
    p.add_argument("--max-difficulty", type=int, default=3, help="of generated scenes (busier scenes: longer)")
    p.add_argument("--context", type=int, default=10)
    p.add_argument("--horizon", type=int, default=20)
    p.add_argument("--naive-horizon", type=int, default=2)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[4, 8])
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1 on shared 2-core machines)")
    p.add_argument("--text-format", default=None,
                   help="text format (default: the checkpoint's text_format.json, else the default format)")
    args = p.parse_args(argv)
    fmt = resolve_format(args.text_format, args.checkpoint)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    load_before = os.getloadavg()
    if args.checkpoint:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.checkpoint)
        model = AutoModelForCausalLM.from_pretrained(args.checkpoint)
        model_name = args.checkpoint
    else:
        tokenizer = build_physics_tokenizer()
        torch.manual_seed(0)
        model = GPTForCausalLM(gpt_config_for_size(args.model_size, vocab_size=len(tokenizer)))
        model_name = f"scratch GPT {args.model_size}, random init"
    model = model.to(device).eval()
    frames = args.context + args.horizon + 1
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data_dir) if args.data_dir else Path(tmp)
        if not args.data_dir:
            per_type = -(-args.scenes // len(TYPES))
            run_generation(GenerationConfig(output_dir=tmp, num_scenes_per_type=per_type, scenario_types=TYPES,
                                            seed=0, frames_per_scene=frames,
                                            difficulty_range=(1, args.max_difficulty)), progress=False)
        scenes = load_scenes(data, args.scenes, frames, fmt)
    if not scenes:
        raise SystemExit(f"error: no scene with {frames} frames under {data}")
    grammar_table(tokenizer)  # built once per tokenizer; not part of any timing
    object_frames = sum(q.pos.shape[1] for q in scenes) * args.horizon
    kw = dict(context=args.context, horizon=args.horizon, text_format=fmt)
    runs: dict[str, dict] = {}

    with torch.no_grad():
        counts, secs = _timed(lambda: [naive_rollout(model, tokenizer, q, fmt, args.context, args.naive_horizon)
                                       for q in scenes])
        done = sum(c[0] for c in counts)
        runs["naive"] = {"object_frames": done, "seconds": secs,
                         "generated_tokens_per_object_frame": round(sum(c[1] for c in counts) / done, 2)}
        single, secs = _timed(lambda: rollout_many(model, tokenizer, scenes, batch_size=1, **kw))
        runs["engine"] = {"object_frames": object_frames, "seconds": secs, "results": single}
        for b in args.batch_sizes:
            res, secs = _timed(lambda: rollout_many(model, tokenizer, scenes, batch_size=b, **kw))
            runs[f"batch_{b}"] = {"object_frames": object_frames, "seconds": secs, "results": res}

    naive_rate = runs["naive"]["object_frames"] / runs["naive"]["seconds"]
    report = {"model": model_name, "text_format": str(fmt), "parameters": sum(p.numel() for p in model.parameters()),
              "scenes": len(scenes), "objects_per_scene": [int(q.pos.shape[1]) for q in scenes],
              "context": args.context, "horizon": args.horizon,
              "naive_horizon": args.naive_horizon}
    for name, run in runs.items():
        rate = run["object_frames"] / run["seconds"]
        entry = {"object_frames": run["object_frames"], "seconds": round(run["seconds"], 2),
                 "object_frames_per_s": round(rate, 1), "speedup_vs_naive": round(rate / naive_rate, 1)}
        if "generated_tokens_per_object_frame" in run:
            entry["generated_tokens_per_object_frame"] = run["generated_tokens_per_object_frame"]
        if "results" in run:
            ok = [r for r in run["results"] if not isinstance(r, Exception)]
            entry["generated_tokens_per_object_frame"] = round(sum(r.generated_tokens for r in ok) / max(
                1, sum(r.pos.shape[0] * r.pos.shape[1] for r in ok)), 2)
            entry["format_failures"] = sum(r.format_failures for r in ok)
            entry["skipped"] = len(run["results"]) - len(ok)
            entry["window_slides"] = sum(r.window_slides for r in ok)
            if name != "engine":
                same = [np.array_equal(a.pos, b.pos) and np.array_equal(a.angle, b.angle)
                        for a, b in zip(run["results"], runs["engine"]["results"])
                        if not isinstance(a, Exception) and not isinstance(b, Exception)
                        and a.window_slides == b.window_slides == 0]
                entry["equals_engine_without_slides"] = f"{sum(same)}/{len(same)}"
        report[name] = entry
    report.update({"device": torch.cuda.get_device_name() if device.type == "cuda" else platform.processor()
                   or platform.machine(), "torch": torch.__version__, "threads": torch.get_num_threads(),
                   "cpu_count": os.cpu_count(), "load_average_before_after": [round(load_before[0], 2),
                                                                             round(os.getloadavg()[0], 2)]})
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
