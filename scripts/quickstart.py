"""The whole pipeline at CPU scale, one command: generate -> validate -> train (curriculum) -> evaluate
(rollouts vs baselines) -> comparison GIFs and report -> a results table.

Examples:
    python scripts/quickstart.py --config configs/quickstart.yaml            # tiny scratch GPT (muP)
    python scripts/quickstart.py --config configs/quickstart_lfm2.yaml       # tiny random LFM2 + LoRA

Every step runs one of the project's scripts with the flags printed before it, so the log doubles as a
recipe for a bigger run. Re-running resumes: complete scene files are kept, finished curriculum stages
are skipped (an interrupted stage continues from its last checkpoint), and the evaluation is reused
when its resolved options and the checkpoint are unchanged. Everything goes under --output-dir:
data/train (seen types only), data/val (every type, held-out ones included), checkpoint/,
evaluation/ (metrics.json, report.md, error_vs_horizon.png, predictions/, comparison_gifs/).

The "finetune" model is a tiny *random* LFM2 with a BPE tokenizer trained on the generated scenes
(scripts/make_tiny_lfm2.py): the real LoRA code path, not LiquidAI/LFM2-350M (no download here).

Exit status: 0 on success, 2 on bad arguments, 1 when a step fails.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from physics_llm.config import ConfigError, config_parser, require, resolve_config, usage_error
from physics_llm.evaluation import METRICS_FILE, REPORT_FILE, results_table
from physics_llm.scenarios import list_scenarios, seen_types
from physics_llm.tokenization.formats import DEFAULT_FORMAT, check_format_flag
from physics_llm.training import SCHEDULES

log = logging.getLogger("quickstart")
MODELS = ("scratch", "finetune")


@dataclass
class QuickstartConfig:
    output_dir: str = "quickstart"
    model: str = "scratch"
    train_scenes_per_type: int = 12
    val_scenes_per_type: int = 2
    max_difficulty: int = 3
    frames_per_scene: int = 200
    seed: int = 42
    val_seed: int = 1234
    num_workers: int = 2
    model_size: str = "tiny"
    max_steps: int = 330
    batch_size: int = 8
    lr: float = 3e-3
    max_seq_length: int = 2048
    curriculum_stages: int = 3
    context_frames: int = 10
    rollout_frames: int = 20
    eval_batch_size: int = 1
    text_format: str = DEFAULT_FORMAT
    schedule: str = "continuous"
    eval_steps: int = 110
    max_val_scenes: int = 2

    def check(self) -> None:
        check_format_flag(self.text_format)
        require(self.model in MODELS, f"--model must be one of {', '.join(MODELS)}, got {self.model!r}")
        for flag, value in (("--train-scenes-per-type", self.train_scenes_per_type),
                            ("--val-scenes-per-type", self.val_scenes_per_type), ("--max-steps", self.max_steps),
                            ("--num-workers", self.num_workers), ("--batch-size", self.batch_size)):
            require(value >= 1, f"{flag} must be >= 1, got {value}")
        require(self.schedule in SCHEDULES, f"--schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        require(1 <= self.max_difficulty <= 5, f"--max-difficulty must be 1..5, got {self.max_difficulty}")


HELP = {
    "output_dir": "everything goes here (data/, checkpoint/, evaluation/)",
    "model": "scratch (tiny muP GPT) or finetune (tiny random LFM2 + LoRA, built locally)",
    "train_scenes_per_type": "training scenes per seen type",
    "val_scenes_per_type": "validation scenes per type (all 35, held-out included)",
    "max_difficulty": "scenes of difficulty 1..this",
    "frames_per_scene": "frames per scene",
    "seed": "training-set seed (the model's seed too)",
    "val_seed": "validation-set seed",
    "num_workers": "processes for generation, validation and cutting training windows",
    "model_size": "scratch GPT size (see physics_llm/models/sizes.py)",
    "max_steps": "optimizer steps over all curriculum stages",
    "batch_size": "training windows per step",
    "lr": "peak learning rate",
    "max_seq_length": "tokens per training window",
    "curriculum_stages": "difficulty stages",
    "context_frames": "ground-truth context frames in the evaluation",
    "rollout_frames": "predicted frames in the evaluation",
    "eval_batch_size": "scenes rolled out together",
    "text_format": "text format the model trains on and is evaluated in (docs/text_format.md)",
    "schedule": "continuous (one warmup + cosine over all stages) or per_stage",
    "eval_steps": "steps between validation losses during training (seen-type validation scenes)",
    "max_val_scenes": "validation scenes in the training-time validation loss",
}


_SCRIPTS: dict = {}


def _script(name: str):
    """The module ``scripts/<name>.py`` (a sibling of this file), loaded from its path once."""
    if name not in _SCRIPTS:
        path = Path(__file__).with_name(f"{name}.py")
        spec = importlib.util.spec_from_file_location(f"physics_llm_script_{name}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        _SCRIPTS[name] = module
    return _SCRIPTS[name]


def _run(name: str, argv: list[str]) -> None:
    print(f"\n$ python scripts/{name}.py {shlex.join(argv)}", flush=True)
    t0 = time.perf_counter()
    rc = _script(name).main(argv)
    if rc != 0:
        raise RuntimeError(f"scripts/{name}.py exited with status {rc}")
    log.info("%s done in %.0f s", name, time.perf_counter() - t0)


def steps(cfg: QuickstartConfig) -> list[tuple[str, list[str]]]:
    """The pipeline as (script, argv) pairs, in order."""
    root = Path(cfg.output_dir)
    train, val, ckpt, evaluation = root / "data" / "train", root / "data" / "val", root / "checkpoint", root / "evaluation"
    seen = seen_types(list_scenarios())
    gen = ["--frames-per-scene", str(cfg.frames_per_scene), "--difficulty-range", "1", str(cfg.max_difficulty),
           "--num-workers", str(cfg.num_workers)]
    out = [
        ("generate_scenarios_dataset", ["--output-dir", str(train), "--num-scenes-per-type",
                                        str(cfg.train_scenes_per_type), "--scenario-types", *seen,
                                        "--seed", str(cfg.seed), *gen]),
        ("generate_scenarios_dataset", ["--output-dir", str(val), "--num-scenes-per-type", str(cfg.val_scenes_per_type),
                                        "--scenario-types", "all", "--seed", str(cfg.val_seed), *gen]),
        ("validate_dataset", ["--data-dir", str(train), "--check-physics", "--num-workers", str(cfg.num_workers)]),
        ("validate_dataset", ["--data-dir", str(val), "--check-physics", "--num-workers", str(cfg.num_workers)]),
    ]
    train_common = ["--data-dir", str(train), "--output-dir", str(ckpt), "--max-steps", str(cfg.max_steps),
                    "--batch-size", str(cfg.batch_size), "--grad-accum", "1", "--lr", str(cfg.lr),
                    "--max-seq-length", str(cfg.max_seq_length), "--curriculum-stages", str(cfg.curriculum_stages),
                    "--logging-steps", "25", "--save-steps", "100", "--seed", str(cfg.seed), "--resume",
                    "--num-workers", str(cfg.num_workers),
                    "--text-format", cfg.text_format, "--schedule", cfg.schedule, "--val-dir", str(val),
                    "--eval-steps", str(cfg.eval_steps), "--max-val-scenes", str(cfg.max_val_scenes)]
    if cfg.model == "scratch":
        out.append(("train_scratch", [*train_common, "--model-size", cfg.model_size, "--warmup-steps", "20"]))
    else:
        base = root / "tiny-lfm2"
        out.append(("make_tiny_lfm2", ["--output-dir", str(base), "--data-dir", str(train),
                                        "--text-format", cfg.text_format]))
        out.append(("train_finetune", [*train_common, "--base-model", str(base)]))
    out.append(("run_evaluation", ["--model", cfg.model, "--checkpoint", str(ckpt), "--val-dir", str(val),
                                   "--output-dir", str(evaluation), "--context-frames", str(cfg.context_frames),
                                   "--rollout-frames", str(cfg.rollout_frames), "--max-scenes-per-type",
                                   str(cfg.val_scenes_per_type), "--batch-size", str(cfg.eval_batch_size),
                                   "--seed", str(cfg.seed)]))
    return out


def _evaluation_is_current(argv: list[str], evaluation: Path, ckpt: Path) -> bool:
    """True when ``evaluation/`` holds results of these exact options for the current checkpoint."""
    from physics_llm.training import STAGE_DONE, last_complete_stage

    resolved, metrics = evaluation / "eval_config.json", evaluation / METRICS_FILE
    stage = last_complete_stage(ckpt)
    if not (resolved.exists() and metrics.exists() and stage is not None):
        return False
    if (stage / STAGE_DONE).stat().st_mtime > metrics.stat().st_mtime:
        return False
    args = _script("run_evaluation").build_parser().parse_args(argv)
    wanted = vars(args)
    saved = json.loads(resolved.read_text(encoding="utf-8"))
    return all(saved.get(k) == v for k, v in wanted.items() if k != "config")


def build_parser():
    return config_parser(QuickstartConfig, __doc__, HELP)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    args = build_parser().parse_args(argv)
    try:
        cfg = resolve_config(QuickstartConfig, args)
        cfg.check()
    except (ConfigError, ValueError, TypeError) as e:
        return usage_error(e)
    root = Path(cfg.output_dir)
    t0 = time.perf_counter()
    try:
        for name, script_argv in steps(cfg):
            if name == "run_evaluation" and _evaluation_is_current(script_argv, root / "evaluation", root / "checkpoint"):
                print(f"\n(evaluation in {root / 'evaluation'} is up to date with the checkpoint: reused)")
                continue
            if name == "make_tiny_lfm2" and (Path(script_argv[1]) / "config.json").exists():
                print(f"\n(tiny LFM2 in {script_argv[1]} exists: reused)")
                continue
            _run(name, script_argv)
    except RuntimeError as e:
        log.error("%s", e)
        return 1
    metrics = json.loads((root / "evaluation" / METRICS_FILE).read_text(encoding="utf-8"))
    print(f"\nquickstart finished in {time.perf_counter() - t0:.0f} s. Rollouts: {cfg.context_frames} context frames, "
          f"{cfg.rollout_frames} predicted; RMSE in px, acc = positions within 5 px, skill = 1 - MSE/MSE(const. vel.)")
    print(results_table(metrics))
    print(f"\nartifacts in {root}/:\n"
          f"  data/train, data/val             scenes (JSONL), validated with --check-physics\n"
          f"  checkpoint/stage*/              weights (safetensors), tokenizer, train_config.json, training_types.json,\n"
          f"                                  text_format.json\n"
          f"  checkpoint/train_log.jsonl      loss curve (training and validation, one global step)\n"
          f"  evaluation/{METRICS_FILE}        every number above, per type / category / horizon step\n"
          f"  evaluation/{REPORT_FILE}           tables: model vs baselines, seen vs held-out, per type\n"
          f"  evaluation/error_vs_horizon.png\n"
          f"  evaluation/comparison_gifs/     <type>_cmp.gif: ground truth (green) vs model (blue)\n"
          f"  evaluation/predictions/         the rollouts as text and JSON")
    return 0


if __name__ == "__main__":
    sys.exit(main())
