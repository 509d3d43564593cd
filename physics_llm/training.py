"""What every training script shares: data, Trainer set-up, optimizers, logging, curriculum stages.

``train_scratch.py`` and ``train_finetune.py`` differ only in how they build the model and the
tokenizer; both call :func:`run_curriculum`, which for each stage selects scenes (headers only),
cuts windows with loss masks on predicted parts (:mod:`physics_llm.tokenization.windows`), trains
with Hugging Face ``Trainer`` (gradient accumulation, checkpointing, bf16 where the hardware has it)
and records the resolved config and the scenario types next to the weights.

Schedule (``--schedule``). ``continuous`` (the default with ``--max-steps``): one warmup + cosine over
all stages' steps and one AdamW state, carried from stage to stage (across processes too: a resumed run
reloads the optimizer state of the previous stage's last checkpoint), so the learning rate falls once
instead of restarting at every stage. ``per_stage``: every stage restarts warmup, cosine and AdamW (the
behaviour before the curriculum had one schedule; also what ``--max-steps -1`` gets, since the total is
not known in advance). ``train_log.jsonl`` counts one global ``step`` over all stages (``stage_step``
within a stage). With ``--val-dir``, a fixed set of validation windows (seen types only unless
``--include-held-out``) is scored every ``--eval-steps`` and logged as ``eval_loss``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from physics_llm.curriculum import (drop_held_out, record_training_types, scan_headers, select_stage,
                                    stage_max_difficulty)
from physics_llm.tokenization.formats import (DEFAULT_FORMAT, FORMAT_FILE, TextFormat, check_format_flag,
                                              load_format, save_format)
from physics_llm.tokenization.windows import IGNORE_INDEX, build_windows_dataset, pack_windows

log = logging.getLogger(__name__)

OPTIMIZERS = ("adamw_torch", "adamw_8bit")
SCHEDULES = ("continuous", "per_stage")
# --help text of the TrainConfig flags; each script adds or overrides its own.
TRAIN_HELP = {
    "data_dir": "training scenes (<type>/scene_*.jsonl, or Parquet shards from pack_dataset.py)",
    "batch_size": "windows per device per step",
    "grad_accum": "gradient accumulation steps",
    "lr": "peak learning rate",
    "max_steps": "optimizer steps over all stages (-1: --epochs-per-stage epochs per stage)",
    "max_seq_length": "tokens per window (header + whole frames)",
    "warmup_steps": "linear warmup steps, then cosine decay (over all stages with --schedule continuous)",
    "schedule": "continuous: one warmup + cosine and one AdamW state over all stages (needs --max-steps); "
                "per_stage: each stage restarts them",
    "val_dir": "validation scenes: a fixed set of their windows is scored every --eval-steps (eval_loss)",
    "eval_steps": "optimizer steps between validation losses (with --val-dir)",
    "max_val_scenes": "validation scenes scored (the first of each type, seen types only)",
    "curriculum_stages": "difficulty stages 1..5; stage k trains on difficulty <= ceil(5(k+1)/N)",
    "include_held_out": "train on held-out scenario types too (they are skipped by default)",
    "optimizer": "adamw_torch or adamw_8bit (bitsandbytes, CUDA)",
    "gradient_checkpointing": "recompute activations in the backward pass (less memory)",
    "pack": "pack several windows per row (attention kept apart by position ids)",
    "num_workers": "processes cutting windows (datasets.map num_proc)",
    "wandb_project": "log to this Weights & Biases project (offline fallback without key or network)",
    "resume": "continue an interrupted run in --output-dir",
    "text_format": "text format (docs/text_format.md), e.g. velocity_change, velocity_change:pos_scale=10, "
                   "displacement; recorded in every stage as text_format.json",
}
STAGE_DONE = "stage_complete.json"
RESOLVED_CONFIG = "train_config.json"


@dataclass
class TrainConfig:
    """Options both training scripts take (each script's own dataclass extends this one)."""

    data_dir: str
    output_dir: str
    batch_size: int = 8
    grad_accum: int = 1
    lr: float = 3e-4
    max_steps: int = -1  # total over all stages; -1: epochs_per_stage epochs per stage
    epochs_per_stage: float = 1.0
    max_seq_length: int = 8192
    warmup_steps: int = 0
    weight_decay: float = 0.0
    curriculum_stages: int = 1
    max_examples_per_stage: int | None = None
    include_held_out: bool = False
    optimizer: str = "adamw_torch"
    gradient_checkpointing: bool = False
    pack: bool = False
    num_workers: int = 1
    logging_steps: int = 10
    save_steps: int = 100
    wandb_project: str | None = None
    resume: bool = False
    text_format: str = DEFAULT_FORMAT
    schedule: str = "continuous"
    val_dir: str | None = None
    eval_steps: int = 50
    max_val_scenes: int = 32
    seed: int = 0

    def check(self) -> None:
        """Raise ``ValueError`` naming the offending flag."""
        check_format_flag(self.text_format)
        if self.schedule not in SCHEDULES:
            raise ValueError(f"--schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.val_dir is not None and not Path(self.val_dir).is_dir():
            raise ValueError(f"--val-dir {self.val_dir} is not a directory")
        if self.eval_steps < 1 or self.max_val_scenes < 1:
            raise ValueError(f"--eval-steps and --max-val-scenes must be >= 1, got {self.eval_steps}, "
                             f"{self.max_val_scenes}")
        if not Path(self.data_dir).is_dir():
            raise ValueError(f"--data-dir {self.data_dir} is not a directory")
        for flag, value in (("--batch-size", self.batch_size), ("--grad-accum", self.grad_accum),
                            ("--max-seq-length", self.max_seq_length), ("--num-workers", self.num_workers),
                            ("--logging-steps", self.logging_steps), ("--save-steps", self.save_steps)):
            if value < 1:
                raise ValueError(f"{flag} must be >= 1, got {value}")
        if not 1 <= self.curriculum_stages <= 5:
            raise ValueError(f"--curriculum-stages must be 1..5, got {self.curriculum_stages}")
        if self.lr <= 0:
            raise ValueError(f"--lr must be > 0, got {self.lr}")
        if self.max_steps == 0 or self.max_steps < -1:
            raise ValueError(f"--max-steps must be >= 1 (or -1 for epochs), got {self.max_steps}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"--optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")


# --------------------------------------------------------------------------- logging


def setup_file_logging(output_dir: str | Path, name: str = "train.log") -> Path:
    """Mirror this process's log records into ``output_dir/name`` (console logging is the script's)."""
    path = Path(output_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    return path


def wandb_report_to(project: str | None, probe_timeout: float = 3.0) -> list[str]:
    """``report_to`` for the Trainer. Without a project: local logs only. With one, W&B is used if it
    can be; otherwise one clear message and offline mode (never a 7 s failure or a 108 s hang)."""
    if not project:
        return []
    try:
        import wandb  # noqa: F401  (optional dependency)
    except ImportError:
        log.warning("--wandb-project given but wandb is not installed (pip install wandb); logging locally only")
        return []
    os.environ["WANDB_PROJECT"] = project
    reason = None
    if not os.environ.get("WANDB_API_KEY") and not (Path.home() / ".netrc").exists():
        reason = "no WANDB_API_KEY"
    else:
        try:
            socket.create_connection(("api.wandb.ai", 443), timeout=probe_timeout).close()
        except OSError as e:
            reason = f"api.wandb.ai unreachable ({e.__class__.__name__})"
    if reason and os.environ.get("WANDB_MODE") != "offline":
        log.warning("W&B: %s; logging offline to ./wandb (sync later with `wandb sync`)", reason)
        os.environ["WANDB_MODE"] = "offline"
    return ["wandb"]


class JsonlLogCallback(TrainerCallback):
    """Appends every Trainer log record (loss, eval_loss, learning rate, ...) to ``train_log.jsonl``, with the
    global ``step`` over all stages (``offset`` + the stage's own ``stage_step``)."""

    def __init__(self, path: Path, stage: int, offset: int = 0):
        self.path, self.stage, self.offset = path, stage, offset

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"stage": f"stage{self.stage}", "step": self.offset + state.global_step,
                                    "stage_step": state.global_step, **logs}) + "\n")


# --------------------------------------------------------------------------- data


class WindowCollator:
    """Right-pads windows to the longest in the batch (labels -100, attention mask 0); packed rows
    (with ``position_ids``) are already full length and pass through."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        n = max(len(r["input_ids"]) for r in rows)
        batch = {"input_ids": [], "labels": [], "attention_mask": []}
        packed = "position_ids" in rows[0]
        if packed:
            batch["position_ids"] = []
        for r in rows:
            pad = n - len(r["input_ids"])
            batch["input_ids"].append(list(r["input_ids"]) + [self.pad_id] * pad)
            batch["labels"].append(list(r["labels"]) + [IGNORE_INDEX] * pad)
            mask = r.get("attention_mask") or [1] * len(r["input_ids"])
            batch["attention_mask"].append(list(mask) + [0] * pad)
            if packed:
                batch["position_ids"].append(list(r["position_ids"]) + [0] * pad)
        return {k: torch.tensor(v, dtype=torch.long) for k, v in batch.items()}


def stage_dataset(paths: list[str], tokenizer, cfg: TrainConfig, cache_dir: Path, fmt: TextFormat):
    """Windows of the stage's scenes as a ``datasets.Dataset`` (packed rows when ``cfg.pack``)."""
    import datasets

    ds = build_windows_dataset(paths, tokenizer, fmt, cfg.max_seq_length, cfg.num_workers, cache_dir)
    if ds.num_rows == 0:
        return ds
    if not cfg.pack:
        return ds.select_columns(["input_ids", "labels"])
    rows, efficiency = pack_windows(ds.select_columns(["input_ids", "labels"]).to_list(), cfg.max_seq_length,
                                    tokenizer.pad_token_id)
    log.info("packed %d windows into %d rows of %d tokens (%.1f%% non-pad)", ds.num_rows, len(rows),
             cfg.max_seq_length, 100 * efficiency)
    return datasets.Dataset.from_list(rows)


# --------------------------------------------------------------------------- optimizer and Trainer


def _bf16_available() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def make_optimizer(model, cfg: TrainConfig):
    """AdamW over the model's parameter groups: muP groups when the model defines ``mup_param_groups``
    (the scratch GPT), else decay on matrices only. ``adamw_8bit`` needs bitsandbytes (a GPU extra)."""
    if hasattr(model, "mup_param_groups"):
        groups = model.mup_param_groups(cfg.lr, cfg.weight_decay)
    else:
        params = [p for p in model.parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.weight_decay},
                  {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
        groups = [g for g in groups if g["params"]]
    if cfg.optimizer == "adamw_8bit":
        try:
            import bitsandbytes as bnb
        except ImportError:
            raise RuntimeError("--optimizer adamw_8bit needs bitsandbytes: pip install -r requirements-gpu.txt "
                               "(CUDA only); or use --optimizer adamw_torch") from None
        return bnb.optim.AdamW8bit(groups, lr=cfg.lr)
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95))


class PhysicsTrainer(Trainer):
    """Trainer whose optimizer comes from :func:`make_optimizer` (muP learning rates per group)."""

    def __init__(self, *args, train_config: TrainConfig, **kwargs):
        self.train_config = train_config
        super().__init__(*args, **kwargs)

    def create_optimizer(self, model=None):
        if self.optimizer is None:
            self.optimizer = make_optimizer(model or self.model, self.train_config)
        return self.optimizer


def continuous_schedule(optimizer, total_steps: int, warmup_steps: int, offset: int):
    """Linear warmup then cosine decay to 0 over ``total_steps`` global steps, starting at global step
    ``offset`` (the steps of the stages before): one stage's view of the one schedule of the run."""
    from torch.optim.lr_scheduler import LambdaLR

    def factor(step: int) -> float:
        g = offset + step
        if g < warmup_steps:
            return (g + 1) / max(1, warmup_steps)
        progress = min(1.0, (g - warmup_steps) / max(1, total_steps - warmup_steps))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)


def _load_optimizer_state(optimizer, stage_dir: Path) -> bool:
    """Load the AdamW state of ``stage_dir``'s last Trainer checkpoint into ``optimizer``; False if none."""
    last = get_last_checkpoint(str(stage_dir)) if stage_dir.is_dir() else None
    path = Path(last) / "optimizer.pt" if last else None
    if path is None or not path.exists():
        return False
    optimizer.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return True


def validation_dataset(cfg: TrainConfig, tokenizer, fmt: TextFormat, trained_types: set[str], cache_dir: Path):
    """A fixed set of validation windows: the first scenes of each type the run trains on (so held-out types
    only with ``--include-held-out``), ``cfg.max_val_scenes`` in all, cut like training windows."""
    records = sorted((r for r in scan_headers(cfg.val_dir) if r.scenario_type in trained_types),
                     key=lambda r: (r.scenario_type, r.path))
    by_type: dict[str, list] = {}
    for r in records:
        by_type.setdefault(r.scenario_type, []).append(r)
    per_type = max(1, math.ceil(cfg.max_val_scenes / max(1, len(by_type))))
    chosen = [r for rs in by_type.values() for r in rs[:per_type]][:cfg.max_val_scenes]
    if not chosen:
        log.warning("--val-dir %s: no validation scene of a trained type; no validation loss", cfg.val_dir)
        return None
    ds = build_windows_dataset([r.path for r in chosen], tokenizer, fmt, cfg.max_seq_length, 1, cache_dir)
    log.info("validation: %d windows of %d scenes (%d types) every %d steps", ds.num_rows, len(chosen),
             len(by_type), cfg.eval_steps)
    return ds.select_columns(["input_ids", "labels"]) if ds.num_rows else None


def training_arguments(cfg: TrainConfig, stage_dir: Path, max_steps: int, report_to: list[str],
                       evaluate: bool = False) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(stage_dir),
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.lr,
        weight_decay=cfg.weight_decay,
        max_steps=max_steps,
        num_train_epochs=cfg.epochs_per_stage,
        warmup_steps=cfg.warmup_steps,
        lr_scheduler_type="cosine",
        logging_steps=cfg.logging_steps,
        save_steps=cfg.save_steps,
        eval_strategy="steps" if evaluate else "no",
        eval_steps=cfg.eval_steps if evaluate else None,
        per_device_eval_batch_size=cfg.batch_size,
        save_total_limit=2,
        seed=cfg.seed,
        data_seed=cfg.seed,
        bf16=_bf16_available(),
        use_cpu=not torch.cuda.is_available(),
        gradient_checkpointing=cfg.gradient_checkpointing,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        report_to=report_to,
        disable_tqdm=False,
    )


# --------------------------------------------------------------------------- the curriculum loop


def stage_steps(cfg: TrainConfig, stage: int) -> int:
    """Steps of one stage: ``--max-steps`` split evenly (the last stage takes the remainder), or -1."""
    if cfg.max_steps < 0:
        return -1
    base = cfg.max_steps // cfg.curriculum_stages
    return max(1, cfg.max_steps - base * (cfg.curriculum_stages - 1) if stage == cfg.curriculum_stages - 1 else base)


def save_resolved_config(cfg, path: Path, **extra) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**dataclasses.asdict(cfg), **extra}, indent=2) + "\n", encoding="utf-8")


def run_curriculum(cfg: TrainConfig, model, tokenizer, callbacks: list | None = None) -> list[dict]:
    """Train ``model`` stage by stage. Stage ``k`` writes ``<output_dir>/stage<k>/`` with Trainer
    checkpoints (``checkpoint-N/``), the final weights, the tokenizer, ``train_config.json``,
    ``training_types.json``, ``text_format.json`` and ``stage_complete.json``. With ``cfg.resume`` finished stages are
    skipped (their weights are loaded by the caller through ``stage_complete.json``) and the current
    stage continues from its last checkpoint. Returns one summary dict per stage."""
    cfg.check()
    out = Path(cfg.output_dir)
    records = drop_held_out(scan_headers(cfg.data_dir), cfg.include_held_out)
    if not records:
        raise ValueError(f"--data-dir {cfg.data_dir}: no training scenes (expected <type>/scene_*.jsonl or "
                         "Parquet shards; "
                         "held-out types are skipped unless --include-held-out)")
    fmt = check_format_flag(cfg.text_format)
    if (out / FORMAT_FILE).exists() and load_format(out) != fmt:
        raise ValueError(f"--text-format {fmt}: {out} holds a run in the {load_format(out)} format; use another "
                         "--output-dir (or the same format to resume)")
    save_format(out, fmt)
    log.info("text format: %s", fmt)
    report_to = wandb_report_to(cfg.wandb_project)
    plan = [select_stage(records, stage, cfg.curriculum_stages, cfg.max_examples_per_stage, cfg.seed)
            for stage in range(cfg.curriculum_stages)]
    for stage in range(1, cfg.curriculum_stages):
        if plan[stage] and {r.path for r in plan[stage]} == {r.path for r in plan[stage - 1]}:
            log.warning("stage%d selects the same %d scenes as stage%d (no scene of difficulty %d..%d in --data-dir): "
                        "it trains on them again", stage, len(plan[stage]), stage - 1,
                        stage_max_difficulty(stage - 1, cfg.curriculum_stages) + 1,
                        stage_max_difficulty(stage, cfg.curriculum_stages))
    continuous = cfg.schedule == "continuous" and cfg.max_steps > 0
    if cfg.schedule == "continuous" and not continuous:
        log.warning("--schedule continuous needs --max-steps (the total is unknown with epochs): every stage "
                    "restarts warmup, cosine and AdamW")
    offsets = [sum(stage_steps(cfg, j) for j in range(k)) for k in range(cfg.curriculum_stages)]
    optimizer = make_optimizer(model, cfg) if continuous else None
    val = None
    if cfg.val_dir is not None:
        val = validation_dataset(cfg, tokenizer, fmt, {r.scenario_type for r in records}, out / "cache")
    summaries = []
    for stage in range(cfg.curriculum_stages):
        name = f"stage{stage}"
        stage_dir = out / name
        done = stage_dir / STAGE_DONE
        if cfg.resume and done.exists():
            summaries.append(json.loads(done.read_text(encoding="utf-8")))
            log.info("%s already complete, skipping (resume)", name)
            continue
        chosen = plan[stage]
        ceiling = stage_max_difficulty(stage, cfg.curriculum_stages)
        if not chosen:
            raise ValueError(f"{name}: no scenes of difficulty <= {ceiling} in --data-dir {cfg.data_dir}")
        dataset = stage_dataset([r.path for r in chosen], tokenizer, cfg, out / "cache", fmt)
        if dataset.num_rows == 0:
            raise ValueError(f"{name}: no scene fits --max-seq-length {cfg.max_seq_length} with one frame")
        log.info("%s (%d of %d): difficulty <= %d, %d scenes of %d types, %d training rows", name, stage + 1,
                 cfg.curriculum_stages, ceiling, len(chosen), len({r.scenario_type for r in chosen}), dataset.num_rows)
        steps = stage_steps(cfg, stage)
        save_resolved_config(cfg, stage_dir / RESOLVED_CONFIG, stage=stage, max_difficulty=ceiling,
                             scenes=len(chosen), rows=dataset.num_rows, stage_max_steps=steps,
                             first_global_step=offsets[stage] if continuous else None)
        record_training_types(stage_dir, chosen)
        save_format(stage_dir, fmt)
        resume_from = get_last_checkpoint(str(stage_dir)) if cfg.resume and stage_dir.is_dir() else None
        optimizers = (None, None)
        if continuous:
            if stage > 0 and resume_from is None and not optimizer.state:  # a new process after a finished stage
                if _load_optimizer_state(optimizer, out / f"stage{stage - 1}"):
                    log.info("%s: AdamW state continues from stage%d's last checkpoint", name, stage - 1)
                else:
                    log.warning("%s: no optimizer state of stage%d found; AdamW restarts", name, stage - 1)
            optimizers = (optimizer, continuous_schedule(optimizer, cfg.max_steps, cfg.warmup_steps, offsets[stage]))
        trainer = PhysicsTrainer(model=model, args=training_arguments(cfg, stage_dir, steps, report_to, val is not None),
                                 train_dataset=dataset, eval_dataset=val,
                                 data_collator=WindowCollator(tokenizer.pad_token_id),
                                 processing_class=tokenizer, train_config=cfg, optimizers=optimizers,
                                 callbacks=[JsonlLogCallback(out / "train_log.jsonl", stage,
                                                             offsets[stage] if continuous else 0),
                                            *(callbacks or [])])
        if resume_from:
            log.info("resuming %s from %s", name, resume_from)
        result = trainer.train(resume_from_checkpoint=resume_from)
        check_ranks_agree(trainer)
        trainer.save_model(str(stage_dir))  # saves on the main process only
        if trainer.is_world_process_zero():
            tokenizer.save_pretrained(str(stage_dir))
        summary = {"stage": stage, "max_difficulty": ceiling, "scenes": len(chosen), "rows": dataset.num_rows,
                   "steps": result.global_step, "train_loss": result.training_loss,
                   "final_loss": _last_logged_loss(trainer), "final_eval_loss": _last_logged_loss(trainer, "eval_loss"),
                   "schedule": "continuous" if continuous else "per_stage"}
        if trainer.is_world_process_zero():
            done.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        log.info("%s (difficulty <= %d) done: %d steps, mean loss %.4f, last logged loss %s, eval loss %s", name,
                 ceiling, result.global_step, result.training_loss, summary["final_loss"], summary["final_eval_loss"])
        trainer.accelerator.wait_for_everyone()
        summaries.append(summary)
    return summaries


def check_ranks_agree(trainer) -> None:
    """Under DDP every rank must hold the same weights after a stage: compare parameter checksums."""
    acc = trainer.accelerator
    if acc.num_processes == 1:
        return
    model = acc.unwrap_model(trainer.model)
    checksum = torch.stack([p.detach().double().sum() for p in model.parameters()]).sum().reshape(1).to(acc.device)
    sums = acc.gather(checksum).cpu()
    if not torch.allclose(sums, sums[0].expand_as(sums), rtol=0, atol=1e-9):
        raise RuntimeError(f"ranks disagree on the trained parameters: checksums {sums.tolist()}")
    log.info("all %d ranks hold identical parameters (checksum %.9f)", acc.num_processes, sums[0].item())


def _last_logged_loss(trainer, key: str = "loss") -> float | None:
    losses = [h[key] for h in trainer.state.log_history if key in h]
    return losses[-1] if losses else None


def last_complete_stage(output_dir: str | Path) -> Path | None:
    """The directory of the last finished stage (for resuming or evaluating), or None."""
    stages = sorted(Path(output_dir).glob(f"stage*/{STAGE_DONE}"), key=lambda p: int(p.parent.name[5:]))
    return stages[-1].parent if stages else None
