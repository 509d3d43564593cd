"""Did it learn gravity? Teacher-forced accuracy of a checkpoint per predicted field, split by object state.

Example:
    python scripts/teacher_forced_accuracy.py --checkpoint checkpoints/gpt-scratch-tiny \
        --val-dir data_scenarios/val --max-scenes-per-type 4 --output evaluation_results/teacher_forced.json

Every window of the first --max-scenes-per-type scenes of each type under --val-dir goes through the model once
(no generation); at each predicted token the argmax is compared with the truth. Object-frames are classed as
rest / free_flight / contact from the ground truth (physics_llm.probe.object_states), and the headline is the
gravity accuracy: the share of free-flight object-frames whose vertical field is exactly right. The text format
and the trained types (seen / held-out split) come from the checkpoint (text_format.json,
training_types.json). Writes the JSON (with the resolved settings) to --output, or prints it when not given,
then prints a short table. All options can come from --config (a YAML file); flags given override it.

Exit status: 0 on success, 2 on bad arguments or unusable input.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from physics_llm.config import ConfigError, config_parser, require, resolve_config, usage_error
from physics_llm.curriculum import TRAINING_TYPES_FILE, load_training_types
from physics_llm.evaluation import checkpoint_kind, load_model_for_eval, resolve_checkpoint, select_scene_files
from physics_llm.probe import accuracy_table, teacher_forced_accuracy
from physics_llm.rollout import model_max_length
from physics_llm.scenarios import resolve_scenario_types
from physics_llm.tokenization import load_format

log = logging.getLogger("teacher_forced_accuracy")


@dataclass
class ProbeConfig:
    checkpoint: str | None = None
    val_dir: str = "data_scenarios/val"
    max_scenes_per_type: int | None = 4
    scenario_types: list[str] | None = None  # None: every type under --val-dir
    max_seq_length: int | None = None  # None: the model's maximum
    output: str | None = None  # None: print the JSON
    device: str | None = None
    progress: bool = True

    def check(self) -> Path:
        """Raise ``ConfigError`` naming the offending flag; returns the checkpoint's stage directory."""
        require(self.checkpoint is not None, "--checkpoint is required")
        val = Path(self.val_dir)
        require(val.is_dir(), f"--val-dir: directory {val} not found")
        require(any(val.glob("*/scene_*.jsonl")), f"--val-dir: no scene files (<type>/scene_XXXXXXXX.jsonl) under {val}")
        require(self.max_scenes_per_type is None or self.max_scenes_per_type >= 1,
                f"--max-scenes-per-type must be >= 1, got {self.max_scenes_per_type}")
        require(self.max_seq_length is None or self.max_seq_length >= 2,
                f"--max-seq-length must be >= 2, got {self.max_seq_length}")
        if self.scenario_types is not None:
            require(isinstance(self.scenario_types, list), f"--scenario-types: expected a list of type names, "
                                                           f"got {self.scenario_types!r}")
            resolve_scenario_types(self.scenario_types)  # ValueError naming --scenario-types
        ckpt = resolve_checkpoint(self.checkpoint)
        try:
            checkpoint_kind(ckpt)
        except FileNotFoundError as e:
            raise ConfigError(f"--checkpoint: {e}") from None
        require((ckpt / TRAINING_TYPES_FILE).exists(),
                f"--checkpoint: {ckpt} has no {TRAINING_TYPES_FILE} (the record of the types it trained on)")
        return ckpt


HELP = {
    "checkpoint": "stage directory, or a training --output-dir (its last complete stage)",
    "val_dir": "scenes to probe: <type>/scene_*.jsonl, held-out types included",
    "max_scenes_per_type": "first N scenes of each type",
    "scenario_types": "only these types (None: every type under --val-dir)",
    "max_seq_length": "tokens per window (None: the model's maximum)",
    "output": "write the JSON here (None: print it)",
    "device": "torch device, e.g. cuda (None: cpu)",
    "progress": "progress bar (--no-progress: none)",
}


def build_parser() -> argparse.ArgumentParser:
    p = config_parser(ProbeConfig, __doc__, HELP)
    next(a for a in p._actions if a.dest == "scenario_types").nargs = "+"  # a list of names, as in other scripts
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    args = build_parser().parse_args(argv)
    try:
        cfg = resolve_config(ProbeConfig, args)
        ckpt = cfg.check()
        fmt = load_format(ckpt)
        trained = load_training_types(ckpt)
    except (ConfigError, ValueError, TypeError) as e:
        return usage_error(e)
    files = select_scene_files(Path(cfg.val_dir), cfg.max_scenes_per_type, cfg.scenario_types)
    if not files:
        return usage_error(f"--scenario-types: no scene files of types {cfg.scenario_types} under {cfg.val_dir}")
    try:
        model, tokenizer = load_model_for_eval(ckpt, cfg.device)
    except (OSError, ValueError) as e:
        return usage_error(f"--checkpoint: {e}")
    limit = model_max_length(model, tokenizer)
    max_len = cfg.max_seq_length or limit
    if max_len > limit:
        return usage_error(f"--max-seq-length {max_len} exceeds the model's maximum {limit}")
    result = teacher_forced_accuracy(model, tokenizer, fmt, files, max_len, trained_types=trained,
                                     progress=cfg.progress)
    if not result["scenes"]["evaluated"]:
        return usage_error(f"--val-dir / --max-seq-length: no scene could be probed ({result['scenes']['skipped']})")
    result["settings"] = {**dataclasses.asdict(cfg), "checkpoint_stage": str(ckpt), "max_seq_length": max_len,
                          "trained_types": trained}
    text = json.dumps(result, indent=2) + "\n"
    if cfg.output:
        out = Path(cfg.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        log.info("wrote %s", out)
    else:
        print(text)
    print(accuracy_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
