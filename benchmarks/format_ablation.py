"""Which text format can a model learn? One training run per format on the same data, model, steps and seed.

For each ``--formats`` entry: ``scripts/train_scratch.py`` (the quickstart's model, 450 steps in 3 stages unless
flags say otherwise) then ``scripts/run_evaluation.py`` on the same validation scenes, each as its own process
(clean state, honest wall time). Data: ``--data-dir`` / ``--val-dir``, or generated like the quickstart's (12 scenes per seen type,
2 per type for validation, difficulty 1-3, seeds 42 / 1234) under ``--work-dir``. Everything stays under
``--work-dir`` and a re-run resumes (finished trainings and evaluations are reused).

Printed as JSON, per format: tokens per object-frame of the validation scenes with PhysicsTokenizer, the share
of them whose header + 10 context frames + 1 predicted frame fits 8192 tokens and the model's window, the final
logged masked training loss, rollout position RMSE (px, bootstrap 95 % CI) seen / held-out for the model and
the three baselines (each in the format's own units, from the same ground truth), skill vs constant velocity
(1 - MSE / MSE(CV), with its paired bootstrap CI over scenes),
format failures, and wall times (of the run that trained / evaluated, kept in ``<work-dir>/<format>/timing.json``
so that a resumed run reports them too).

    python benchmarks/format_ablation.py                                  # the 3 default formats, ~30 min here
    python benchmarks/format_ablation.py --steps 2000 --model-size small --work-dir ablation_small
    python benchmarks/format_ablation.py --formats velocity_change velocity_change:shown_pos_scale=100
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from physics_llm.generation import GenerationConfig, run_generation
from physics_llm.scenarios import list_scenarios, seen_types
from physics_llm.scene_format import read_scene
from physics_llm.tokenization import build_physics_tokenizer, encode_scene
from physics_llm.tokenization.formats import check_format_flag

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FORMATS = ["displacement", "velocity_change:pos_scale=10,shown_pos_scale=10", "velocity_change"]
MORE_FORMATS = ["velocity_change:shown_pos_scale=100", "velocity_next"]  # measured too: benchmarks/README.md
CONTEXT, HORIZON = 10, 20


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--formats", nargs="+", default=DEFAULT_FORMATS, metavar="FORMAT",
                   help=f"text formats to compare (default: {' '.join(DEFAULT_FORMATS)})")
    p.add_argument("--work-dir", default="format_ablation", help="data, checkpoints and evaluations go here")
    p.add_argument("--data-dir", default=None, help="training scenes (default: generate under --work-dir)")
    p.add_argument("--val-dir", default=None, help="validation scenes (default: generate under --work-dir)")
    p.add_argument("--train-scenes-per-type", type=int, default=12, help="generated training scenes per seen type")
    p.add_argument("--val-scenes-per-type", type=int, default=2, help="generated validation scenes per type")
    p.add_argument("--model-size", default="tiny")
    p.add_argument("--steps", type=int, default=450, help="optimizer steps over all curriculum stages")
    p.add_argument("--curriculum-stages", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--max-seq-length", type=int, default=2048)
    p.add_argument("--schedule", default="continuous", choices=["continuous", "per_stage"],
                   help="training schedule over the curriculum stages (train_scratch.py --schedule)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--num-workers", type=int, default=2, help="processes for data generation")
    return p


def _run(argv: list[str], log: Path) -> float:
    """Run a project script as its own process (output to ``log``); its wall time in seconds."""
    t0 = time.perf_counter()
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"$ python {' '.join(argv)}\n")
        f.flush()
        rc = subprocess.run([sys.executable, *argv], cwd=ROOT, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise SystemExit(f"error: {argv[0]} exited with {rc}; see {log}")
    return time.perf_counter() - t0


def token_figures(val_dir: Path, fmt, max_seq_length: int) -> dict:
    """Tokens per object-frame over the validation scenes, and the share whose bos + header + the worst
    ``CONTEXT + 1`` consecutive frames + eos fit 8192 tokens and the model's window."""
    tok = build_physics_tokenizer()
    tokens = object_frames = 0
    fits = {8192: 0, max_seq_length: 0}
    paths = sorted(val_dir.glob("*/scene_*.jsonl"))
    for path in paths:
        q = fmt.quantize(read_scene(path))
        enc = encode_scene(tok, q, fmt)
        lens = np.array([len(f) for f in enc.frame_ids])
        tokens += int(lens.sum())
        object_frames += q.num_objects * len(lens)
        csum = np.concatenate([[0], np.cumsum(lens)])
        worst = int((csum[CONTEXT + 1:] - csum[:-(CONTEXT + 1)]).max())
        for limit in fits:
            fits[limit] += 2 + len(enc.header_ids) + worst <= limit
    return {"tokens_per_object_frame": round(tokens / object_frames, 2),
            **{f"fit_{limit}": round(n / len(paths), 3) for limit, n in fits.items()}}


def _split(agg: dict, split: str) -> dict | None:
    s = agg["seen_vs_held_out"].get(split)
    if s is None:
        return None
    ci = s["rmse"]["ci95"]  # None with a single scene
    out = {"rmse": round(s["rmse"]["mean"], 3), "rmse_ci95": [round(x, 3) for x in ci] if ci else None}
    skill = s.get("skill_vs_cv")
    if skill is not None and skill.get("mean") is not None:
        out["skill_vs_cv"] = round(skill["mean"], 4)
        if skill.get("ci95"):  # paired over scenes: a tie with constant velocity is 0 inside it
            out["skill_vs_cv_ci95"] = [round(x, 4) for x in skill["ci95"]]
    return out


def summarize(metrics: dict) -> dict:
    aggs = {"model": metrics["model"], **metrics["baselines"]}
    return {split: {name: _split(agg, split) for name, agg in aggs.items()} for split in ("seen", "held_out")}


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    try:
        formats = [check_format_flag(f, "--formats") for f in args.formats]
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    work = Path(args.work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "ablation.log"
    t_start = time.perf_counter()
    train = Path(args.data_dir) if args.data_dir else work / "data" / "train"
    val = Path(args.val_dir) if args.val_dir else work / "data" / "val"
    gen = dict(frames_per_scene=200, difficulty_range=(1, 3), num_workers=args.num_workers)
    if args.data_dir is None:
        run_generation(GenerationConfig(output_dir=str(train), num_scenes_per_type=args.train_scenes_per_type,
                                        scenario_types=seen_types(list_scenarios()), seed=args.seed, **gen),
                       progress=False)
    if args.val_dir is None:
        run_generation(GenerationConfig(output_dir=str(val), num_scenes_per_type=args.val_scenes_per_type,
                                        scenario_types=list_scenarios(), seed=1234, **gen), progress=False)
    report = {"settings": {k: v for k, v in vars(args).items() if k != "formats"}, "formats": {}}
    for fmt in formats:
        name = str(fmt).replace(":", "_").replace(",", "_").replace("=", "")
        ckpt, evaluation = work / name / "checkpoint", work / name / "evaluation"
        train_s = _run(["scripts/train_scratch.py", "--data-dir", str(train), "--output-dir", str(ckpt),
                        "--model-size", args.model_size, "--max-steps", str(args.steps), "--batch-size",
                        str(args.batch_size), "--lr", str(args.lr), "--max-seq-length", str(args.max_seq_length),
                        "--curriculum-stages", str(args.curriculum_stages), "--warmup-steps", "20",
                        "--logging-steps", "25", "--save-steps", "100", "--seed", str(args.seed), "--resume",
                        "--text-format", str(fmt), "--schedule", args.schedule], log)
        metrics_file = evaluation / "metrics.json"
        timing_file = work / name / "timing.json"
        timing = json.loads(timing_file.read_text(encoding="utf-8")) if timing_file.exists() else {}
        timing.setdefault("train_seconds", round(train_s, 1))  # a resumed run keeps the first run's figure
        eval_s = timing.get("eval_seconds", 0.0)
        if not metrics_file.exists():
            eval_s = _run(["scripts/run_evaluation.py", "--model", "scratch", "--checkpoint", str(ckpt),
                           "--val-dir", str(val), "--output-dir", str(evaluation), "--context-frames", str(CONTEXT),
                           "--rollout-frames", str(HORIZON), "--max-scenes-per-type", str(args.val_scenes_per_type),
                           "--seed", str(args.seed), "--no-render", "--no-progress"], log)
        timing["eval_seconds"] = round(eval_s, 1)
        timing_file.write_text(json.dumps(timing) + "\n", encoding="utf-8")
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        stages = sorted(ckpt.glob("stage*/stage_complete.json"), key=lambda p: int(p.parent.name[5:]))
        final_loss = json.loads(stages[-1].read_text(encoding="utf-8"))["final_loss"] if stages else None
        report["formats"][str(fmt)] = {
            **token_figures(val, fmt, args.max_seq_length),
            "final_masked_loss": final_loss,
            "scenes_evaluated": metrics["scenes"]["evaluated"], "scenes_skipped": len(metrics["scenes"]["skipped"]),
            "format_failures": metrics["decoding"]["format_failures"],
            "rollout": summarize(metrics),
            **timing,
        }
        print(f"{fmt}: {json.dumps(report['formats'][str(fmt)]['rollout'])}", file=sys.stderr, flush=True)
    report["seconds"] = round(time.perf_counter() - t_start, 1)
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
