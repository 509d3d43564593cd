"""Learning-rate transfer across widths: muP against the standard parametrization (SP).

Trains 2-layer scratch GPTs at three widths over a grid of Adam learning rates on a synthetic task and prints
JSON: the final eval loss per (parametrization, width, lr) and the best lr per width. With muP the best lr
should stay put as the width grows; with SP it should drift down (wider models need smaller lrs).

Task: rows of arithmetic progressions ``x_t = (a + b t) mod V`` with random a, b per row (vocabulary V = 90);
predicting the next token needs b, read off the context by attention. Loss on a fixed held-out batch after
``--steps`` AdamW steps (groups from ``mup_param_groups``, base width = the smallest width, 5 warmup steps).

    python benchmarks/mup_lr_transfer.py                       # ~1 min on this project's 2-vCPU machine
    python benchmarks/mup_lr_transfer.py --widths 64 128 256 512 --steps 100
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from physics_llm.models import GPTConfig, GPTForCausalLM, mup_param_groups

VOCAB = 90


def progressions(n: int, length: int, generator: torch.Generator) -> torch.Tensor:
    a = torch.randint(0, VOCAB, (n, 1), generator=generator)
    b = torch.randint(1, 12, (n, 1), generator=generator)
    return (a + b * torch.arange(length)) % VOCAB  # (n, length)


def final_loss(width: int, base: int, mup: bool, lr: float, steps: int, seed: int = 0) -> float:
    torch.manual_seed(seed)
    config = GPTConfig(vocab_size=VOCAB, n_layer=2, n_head=4, n_embd=width, block_size=64, mup=mup,
                       mup_base_width=base)
    model = GPTForCausalLM(config).train()
    opt = torch.optim.AdamW(mup_param_groups(model, lr, weight_decay=0.0), betas=(0.9, 0.95))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / 5))
    data = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = progressions(16, 48, data)
        loss = model(x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    x = progressions(64, 48, torch.Generator().manual_seed(1234))
    with torch.no_grad():
        loss = model.eval()(x, labels=x).loss.item()
    return loss if loss == loss else float("inf")  # NaN (diverged) -> inf


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2, 3e-2])
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args(argv)

    start = time.time()
    result: dict = {"steps": args.steps, "base_width": min(args.widths), "loss": {}, "best_lr": {}}
    for name, mup in (("mup", True), ("sp", False)):
        losses = {w: {lr: final_loss(w, min(args.widths), mup, lr, args.steps) for lr in args.lrs}
                  for w in args.widths}
        result["loss"][name] = {str(w): {f"{lr:g}": round(v, 4) for lr, v in row.items()} for w, row in losses.items()}
        result["best_lr"][name] = {str(w): min(row, key=row.get) for w, row in losses.items()}
    result["seconds"] = round(time.time() - start, 1)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
