"""Difficulty curriculum: which scenes each training stage uses, and which types a model saw.

Stage ``k`` (0-based) of ``N`` trains on every scene of difficulty <= ``ceil(5 (k + 1) / N)``:
with 5 stages, stage 0 is difficulty 1, stage 4 is everything. Cumulative rather than "exactly
difficulty k + 1", so later stages keep rehearsing easy physics (free fall, single contacts) while
adding harder scenes, and the last stage trains on the full distribution that evaluation samples.

Selection reads only the header line of each file. Held-out types are evaluation-only: found in a
training directory they are skipped with one warning, unless the caller asks to include them.
The types a model actually trained on are recorded next to its checkpoint
(``training_types.json``), and evaluation labels types seen / held-out from that record.
"""

from __future__ import annotations

import json
import logging
import math
import random
from dataclasses import dataclass
from pathlib import Path

from physics_llm.packing import is_packed_dir, packed_scene_records
from physics_llm.scenarios import HELD_OUT_TYPES
from physics_llm.validation import find_scene_files

log = logging.getLogger(__name__)

MAX_DIFFICULTY = 5
TRAINING_TYPES_FILE = "training_types.json"


@dataclass(frozen=True)
class SceneRecord:
    path: str
    scenario_type: str
    difficulty: int


def scan_headers(data_dir: str | Path) -> list[SceneRecord]:
    """One record per scene file under ``data_dir/<type>/``, from its header line only. Files whose
    header cannot be read are skipped with a warning (``validate_dataset.py`` says what is wrong).
    A packed directory (Parquet shards, :mod:`physics_llm.packing`) gives one record per row, whose
    ``path`` is a ``<shard>::<scene_id>`` reference that :func:`~physics_llm.packing.read_scene_ref` reads."""
    if is_packed_dir(data_dir):
        return [SceneRecord(*r) for r in packed_scene_records(data_dir)]
    files, _ = find_scene_files(Path(data_dir))
    records, bad = [], []
    for p in files:
        try:
            with open(p, encoding="utf-8") as f:
                header = json.loads(f.readline())
            records.append(SceneRecord(str(p), header["scenario_type"], int(header["difficulty"])))
        except (OSError, ValueError, KeyError, TypeError) as e:
            bad.append(f"{p} ({type(e).__name__})")
    if bad:
        log.warning("skipping %d scene files with an unreadable header: %s%s", len(bad), ", ".join(bad[:3]),
                    ", ..." if len(bad) > 3 else "")
    return records


def stage_max_difficulty(stage: int, num_stages: int) -> int:
    if not 1 <= num_stages <= MAX_DIFFICULTY:
        raise ValueError(f"--curriculum-stages must be 1..{MAX_DIFFICULTY}, got {num_stages}")
    if not 0 <= stage < num_stages:
        raise ValueError(f"stage must be 0..{num_stages - 1}, got {stage}")
    return math.ceil(MAX_DIFFICULTY * (stage + 1) / num_stages)


def drop_held_out(records: list[SceneRecord], include_held_out: bool = False,
                  flag: str = "--include-held-out") -> list[SceneRecord]:
    """Remove held-out types (one warning naming them and ``flag``), unless ``include_held_out``."""
    found = sorted({r.scenario_type for r in records} & set(HELD_OUT_TYPES))
    if not found or include_held_out:
        return records
    log.warning("skipping held-out scenario types %s (evaluation only); pass %s to train on them anyway",
                ", ".join(found), flag)
    return [r for r in records if r.scenario_type not in HELD_OUT_TYPES]


def select_stage(records: list[SceneRecord], stage: int, num_stages: int, max_examples: int | None = None,
                 seed: int = 0) -> list[SceneRecord]:
    """Scenes of stage ``stage``: difficulty <= the stage's ceiling; at most ``max_examples``,
    drawn with ``seed`` (the same subset every run)."""
    ceiling = stage_max_difficulty(stage, num_stages)
    chosen = [r for r in records if r.difficulty <= ceiling]
    if max_examples is not None and len(chosen) > max_examples:
        chosen = sorted(random.Random(seed * 1000 + stage).sample(chosen, max_examples), key=lambda r: r.path)
    return chosen


def record_training_types(output_dir: str | Path, records: list[SceneRecord]) -> Path:
    """Write the scenario types (and scene counts) a model trained on next to its checkpoint."""
    counts: dict[str, int] = {}
    for r in records:
        counts[r.scenario_type] = counts.get(r.scenario_type, 0) + 1
    path = Path(output_dir) / TRAINING_TYPES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"types": sorted(counts), "scenes_per_type": dict(sorted(counts.items()))},
                               indent=2) + "\n", encoding="utf-8")
    return path


def load_training_types(checkpoint_dir: str | Path) -> list[str]:
    path = Path(checkpoint_dir) / TRAINING_TYPES_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: cannot tell which types this checkpoint trained on")
    return json.loads(path.read_text(encoding="utf-8"))["types"]
