"""Training throughput of the scratch GPT on this machine, padded vs packed batches.

Generates a small dataset in a temp dir, cuts windows (PhysicsTokenizer), then times --steps
optimizer steps of the chosen size with the shared collator and muP optimizer, once with padded
windows and once with packed rows. Prints JSON: tokens/s (non-pad tokens processed per second),
loss-masked token share, packing efficiency, peak RSS (and peak CUDA memory on a GPU).

    python benchmarks/train_throughput.py --model-size tiny --steps 20
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

from physics_llm.generation import GenerationConfig, run_generation
from physics_llm.models import GPTForCausalLM, gpt_config_for_size
from physics_llm.tokenization import IGNORE_INDEX, build_physics_tokenizer, pack_windows, scene_windows
from physics_llm.training import TrainConfig, WindowCollator, make_optimizer

TYPES = ["billiards", "tower", "pendulum", "projectile", "chain", "funnel"]


def time_steps(model, batches, cfg: TrainConfig, device) -> tuple[float, int]:
    optimizer = make_optimizer(model, cfg)
    model.train()
    tokens, start = 0, None
    for i, batch in enumerate(batches):
        if i == 1:  # the first step pays for allocation and kernel selection
            start, tokens = time.perf_counter(), 0
        batch = {k: v.to(device) for k, v in batch.items()}
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += int(batch["attention_mask"].sum())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return tokens / (time.perf_counter() - start), tokens


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-size", default="tiny")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-seq-length", type=int, default=2048)
    p.add_argument("--scenes-per-type", type=int, default=4)
    args = p.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = build_physics_tokenizer(model_max_length=args.max_seq_length)
    with tempfile.TemporaryDirectory() as tmp:
        run_generation(GenerationConfig(output_dir=tmp, num_scenes_per_type=args.scenes_per_type, scenario_types=TYPES,
                                        seed=0), progress=False)
        windows = [w for path in sorted(Path(tmp).rglob("scene_*.jsonl"))
                   for w in scene_windows(path, tokenizer, args.max_seq_length)]
    if not windows:
        sys.stderr.write("error: no window fits --max-seq-length\n")
        return 2
    total = sum(len(w["input_ids"]) for w in windows)
    masked = sum(sum(label != IGNORE_INDEX for label in w["labels"]) for w in windows)
    rows, efficiency = pack_windows(windows, args.max_seq_length, tokenizer.pad_token_id)
    collate = WindowCollator(tokenizer.pad_token_id)
    cfg = TrainConfig(data_dir=".", output_dir=".", lr=3e-3)
    results = {}
    for name, items in (("padded", windows), ("packed", rows)):
        torch.manual_seed(0)
        model = GPTForCausalLM(gpt_config_for_size(args.model_size, vocab_size=len(tokenizer),
                                                   block_size=args.max_seq_length,
                                                   pad_token_id=tokenizer.pad_token_id)).to(device)
        batches = [collate([items[(s * args.batch_size + j) % len(items)] for j in range(args.batch_size)])
                   for s in range(args.steps + 1)]
        pad_share = 1 - sum(int(b["attention_mask"].sum()) for b in batches) / sum(b["input_ids"].numel()
                                                                                   for b in batches)
        tokens_per_s, tokens = time_steps(model, batches, cfg, device)
        results[name] = {"tokens_per_s": round(tokens_per_s, 1), "tokens_timed": tokens,
                         "pad_share_of_batches": round(pad_share, 4)}
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "device": str(device), "torch_threads": torch.get_num_threads(), "model_size": args.model_size,
        "parameters": sum(p.numel() for p in model.parameters()), "batch_size": args.batch_size,
        "max_seq_length": args.max_seq_length, "steps_timed": args.steps, "windows": len(windows),
        "loss_masked_token_share": round(masked / total, 4), "packing_efficiency": round(efficiency, 4),
        **results, "peak_rss_mb": round(peak_rss_mb, 1),
        "peak_cuda_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if device.type == "cuda" else None,
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
