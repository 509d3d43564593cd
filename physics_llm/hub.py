"""Push a packed dataset or a checkpoint to the Hugging Face Hub, with a card built from its real files.

:func:`stage_folder` copies (hard-links where it can) the files worth publishing into a staging folder
and writes ``README.md``: a dataset card from ``pack_info.json``, or a model card from the checkpoint's
``train_config.json``, ``training_types.json``, ``stage_complete.json`` and, when given, an evaluation
``metrics.json``. Every number in a card is read from one of those files; what is missing is said to
be missing. Only weights and text are published (``ALLOWED_SUFFIXES``): pickles (``*.bin``,
``*.pt``, ``*.pkl``, ``training_args.bin``), optimizer states and Trainer ``checkpoint-*/`` folders are
left out and listed. :func:`push` creates the repo and uploads the folder with ``HfApi``; the token is
huggingface_hub's own (``HF_TOKEN`` or a stored login) and never passes through this module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from huggingface_hub import HfApi, get_token

from physics_llm.packing import PACK_INFO, find_shards

KINDS = ("dataset", "model")
ALLOWED_SUFFIXES = (".safetensors", ".json", ".txt", ".md", ".parquet", ".jinja")
TOKENIZER_FILES = ("tokenizer.model", "spiece.model", "sentencepiece.bpe.model")  # sentencepiece vocabularies
CARD = "README.md"
TRAINER_CHECKPOINT = re.compile(r"checkpoint-\d+")


@dataclass
class Staged:
    kind: str
    folder: Path
    files: list[tuple[str, int]] = field(default_factory=list)  # (path in repo, bytes), the card included
    excluded: list[str] = field(default_factory=list)  # "path (reason)"

    @property
    def total_bytes(self) -> int:
        return sum(n for _, n in self.files)


def have_token() -> bool:
    """Whether huggingface_hub finds a token (``HF_TOKEN`` or a stored login); the value is not kept."""
    return get_token() is not None


def infer_kind(path: str | Path) -> str:
    path = Path(path)
    if (path / PACK_INFO).exists() or find_shards(path):
        return "dataset"
    if (path / "adapter_config.json").exists() or (path / "config.json").exists():
        return "model"
    raise ValueError(f"--path {path}: neither a packed dataset (pack_info.json, data/*.parquet) nor a checkpoint "
                     "(config.json or adapter_config.json; pass a stage directory such as <output-dir>/stage0)")


def select_files(src: Path) -> tuple[list[Path], list[str]]:
    """Files under ``src`` to publish, and the ones left out with the reason."""
    kept, excluded, checkpoints = [], [], set()
    for p in sorted(src.rglob("*")):
        rel = p.relative_to(src)
        if not p.is_file():
            continue
        inside = [i for i, part in enumerate(rel.parts[:-1]) if TRAINER_CHECKPOINT.fullmatch(part)]
        if inside:
            checkpoints.add("/".join(rel.parts[:inside[0] + 1]))
        elif any(part.startswith(".") for part in rel.parts):
            excluded.append(f"{rel.as_posix()} (hidden or temporary file)")
        elif rel.as_posix() == CARD:
            excluded.append(f"{CARD} (replaced by the generated card)")
        elif p.suffix in ALLOWED_SUFFIXES or p.name in TOKENIZER_FILES:
            kept.append(p)
        else:
            excluded.append(f"{rel.as_posix()} (not safetensors/json/txt/md/parquet/tokenizer: pickles and "
                            "optimizer states are never uploaded)")
    excluded += [f"{d}/ (Trainer checkpoint: optimizer state, RNG state, duplicate weights)" for d in sorted(checkpoints)]
    return kept, excluded


def stage_folder(src: str | Path, kind: str, staging: str | Path, repo_id: str, metrics: dict | None = None) -> Staged:
    """Fill the empty (or new) folder ``staging`` with the publishable files of ``src`` and the card."""
    src, staging = Path(src), Path(staging)
    if kind not in KINDS:
        raise ValueError(f"--kind must be one of {KINDS}, got {kind!r}")
    if staging.exists() and any(staging.iterdir()):
        raise ValueError(f"--staging-dir {staging} is not empty")
    card = dataset_card(src, repo_id) if kind == "dataset" else model_card(src, repo_id, metrics)
    kept, excluded = select_files(src)
    staged = Staged(kind, staging, excluded=excluded)
    for p in kept:
        dst = staging / p.relative_to(src)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(p, dst)  # no copy of large shards or weights when on the same file system
        except OSError:
            shutil.copy2(p, dst)
        staged.files.append((dst.relative_to(staging).as_posix(), dst.stat().st_size))
    staging.mkdir(parents=True, exist_ok=True)
    (staging / CARD).write_text(card, encoding="utf-8")
    staged.files.append((CARD, (staging / CARD).stat().st_size))
    return staged


def push(staged: Staged, repo_id: str, private: bool = False, api: HfApi | None = None) -> str:
    """Create the repo (if needed) and upload the staging folder in one commit; returns the commit URL."""
    api = api or HfApi()
    api.create_repo(repo_id, repo_type=staged.kind, private=private, exist_ok=True)
    info = api.upload_folder(repo_id=repo_id, folder_path=str(staged.folder), repo_type=staged.kind,
                             commit_message=f"Upload {staged.kind} with physics-llm ({len(staged.files)} files)")
    return str(getattr(info, "commit_url", info))


# --------------------------------------------------------------------------- cards


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _front_matter(meta: dict) -> str:
    return "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n\n"


def _table(header: list[str], rows: list[list]) -> list[str]:
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def _mb(n) -> str:
    return f"{n / 1e6:.1f} MB" if isinstance(n, (int, float)) else "n/a"


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def dataset_card(src: Path, repo_id: str) -> str:
    info = _read_json(src / PACK_INFO)
    if info is None:
        raise ValueError(f"--path {src}: no {PACK_INFO} (pack the dataset with scripts/pack_dataset.py)")
    splits = info.get("splits", {})
    total = sum(s.get("scenes", 0) for s in splits.values())
    meta = {"license": "mit", "task_categories": ["text-generation", "time-series-forecasting"],
            "tags": ["physics", "simulation", "pymunk", "2d-physics", "synthetic"], "pretty_name": repo_id.split("/")[-1],
            "size_categories": [_size_category(total)],
            "configs": [{"config_name": "default",
                         "data_files": [{"split": name, "path": f"data/{name}-*.parquet"} for name in splits]}]}
    lines = [f"# {repo_id}", "",
             "2D rigid-body physics scenes simulated with pymunk by physics-llm: one row per scene, holding the scene's exact JSONL text "
             f"(format `{info.get('scene_format', 'n/a')}`: a header that re-simulates the scene, then one line per "
             "frame) and columns for filtering. All figures below are read from `pack_info.json`.", ""]
    for name, s in splits.items():
        lines += [f"## Split `{name}`", "",
                  f"{s.get('scenes', 'n/a')} scenes in {len(s.get('shards', []))} shards; {_mb(s.get('bytes_in'))} of "
                  f"JSONL packed into {_mb(s.get('bytes_out'))} of Parquet (zstd); {s.get('skipped', 0)} source files "
                  "skipped for an unreadable header.", ""]
        lines += _table(["scenario type", "scenes"], sorted(s.get("scenes_per_type", {}).items())) + [""]
        lines += _table(["category", "scenes"], sorted(s.get("scenes_per_category", {}).items())) + [""]
        lines += _table(["difficulty", "scenes"], sorted(s.get("scenes_per_difficulty", {}).items())) + [""]
    gens = info.get("generation_config") or {}
    lines += ["## Generation", ""]
    if gens:
        for fname, g in gens.items():
            keys = ("seed", "num_scenes_per_type", "frames_per_scene", "difficulty_range", "engine", "format")
            lines += [f"`{fname}`: " + ", ".join(f"{k} = {g[k]}" for k in keys if k in g), ""]
    else:
        lines += ["No generation_config.json was found next to the scenes.", ""]
    cols = ", ".join(f"`{c}`" for c in info.get("columns", []))
    lines += ["## Use", "", f"Columns: {cols}. `text` is the scene file, byte for byte.", "", "```python",
              "from datasets import load_dataset", f'ds = load_dataset("{repo_id}", split="train")',
              'towers = ds.filter(lambda r: r["scenario_type"] == "tower")', "```", "",
              "Back to one JSONL file per scene: `python scripts/pack_dataset.py --unpack --data-dir <download dir> "
              "--output-dir scenes/`.", ""]
    return _front_matter(meta) + "\n".join(lines)


def _num(x) -> str:
    return f"{x:.4g}" if isinstance(x, float) else "n/a" if x is None else str(x)


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _stat(s: dict | None, key: str, pct: bool = False) -> str:
    mean = _get(s, key, "mean")
    if not isinstance(mean, (int, float)):
        return "n/a"
    k = 100.0 if pct else 1.0
    out = f"{mean * k:.3g}{'%' if pct else ''}"
    ci = _get(s, key, "ci95")
    if isinstance(ci, list) and len(ci) == 2 and all(isinstance(c, (int, float)) for c in ci):
        out += f" [{ci[0] * k:.3g}, {ci[1] * k:.3g}]"
    return out


def _metrics_rows(metrics: dict, *path: str) -> list[list[str]]:
    results = {"model": metrics.get("model"), **(metrics.get("baselines") or {})}
    rows = []
    for name, agg in results.items():
        s = _get(agg, *path)
        if s is None:
            continue
        rows.append([name, s.get("num_scenes", "n/a"), _stat(s, "rmse"), _stat(s, "accuracy", pct=True),
                     _stat(s, "skill_vs_cv")])
    return rows


def evaluation_section(metrics: dict | None) -> list[str]:
    lines = ["## Evaluation", ""]
    if not metrics:
        return lines + ["Not evaluated: no metrics.json was given when this card was made.", ""]
    st = metrics.get("settings") or {}
    lines += [f"Rollouts from `scripts/run_evaluation.py` (numbers from its metrics.json): "
              f"{_get(metrics, 'scenes', 'evaluated') or 'n/a'} scenes, {st.get('context_frames', 'n/a')} ground-truth "
              f"context frames, {st.get('rollout_frames', 'n/a')} predicted frames, accuracy = share of positions "
              f"within {st.get('tolerance_px', 'n/a')} px, skill = 1 - MSE / MSE(constant velocity). "
              "Brackets: bootstrap 95% CI over scenes.", ""]
    header = ["", "scenes", "RMSE (px)", "accuracy", "skill vs CV"]
    groups = [("Overall", ("overall",)), ("Seen types", ("seen_vs_held_out", "seen")),
              ("Held-out types", ("seen_vs_held_out", "held_out"))]
    for title, path in groups:
        rows = _metrics_rows(metrics, *path)
        lines += [f"### {title}", ""] + (_table(header, rows) if rows else ["not evaluated"]) + [""]
    return lines


def model_card(src: Path, repo_id: str, metrics: dict | None = None) -> str:
    adapter = _read_json(src / "adapter_config.json")
    config = _read_json(src / "config.json") or {}
    train = _read_json(src / "train_config.json")
    types = _read_json(src / "training_types.json")
    done = _read_json(src / "stage_complete.json")
    base = adapter.get("base_model_name_or_path") if adapter else None
    meta = {"license": "other" if adapter else "mit", "library_name": "peft" if adapter else "transformers",
            "pipeline_tag": "text-generation", "tags": ["physics", "physics-llm", "pymunk", "simulation"]}
    if base:
        meta["base_model"] = base
    what = (f"A LoRA adapter (rank {adapter.get('r', 'n/a')}) on `{base}`; it inherits the base model's license."
            if adapter else f"A full `{config.get('model_type', 'n/a')}` model (not an adapter).")
    lines = [f"# {repo_id}", "", f"{what} Trained with physics-llm to continue 2D rigid-body physics scenes "
             "written as text (scene header, then one line per frame).", "", "## Training", ""]
    if train:
        lines += ["From `train_config.json`:", ""] + _table(["option", "value"], [[k, f"`{v}`"] for k, v in train.items()])
    else:
        lines += ["No train_config.json in the checkpoint."]
    lines.append("")
    if types:
        lines += ["Scenario types trained on (`training_types.json`):", ""]
        lines += _table(["type", "scenes"], sorted((types.get("scenes_per_type") or {t: "n/a" for t in
                                                                                      types.get("types", [])}).items()))
        lines.append("")
    if done:
        lines += [f"This stage (`stage_complete.json`): {_num(done.get('steps'))} steps, mean training loss "
                  f"{_num(done.get('train_loss'))}, last logged loss {_num(done.get('final_loss'))}.", ""]
    lines += evaluation_section(metrics)
    lines += ["## Use", "", "```python", "from huggingface_hub import snapshot_download",
              "from physics_llm.evaluation import load_model_for_eval",
              f'model, tokenizer = load_model_for_eval(snapshot_download("{repo_id}"))', "```", ""]
    return _front_matter(meta) + "\n".join(lines)
