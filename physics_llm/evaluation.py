"""Rollout evaluation of a checkpoint against the three baselines (DESIGN.md §6).

:func:`evaluate` takes every scene under ``data_dir/<type>/`` (all types, held-out ones included), gives
the model ``context`` ground-truth frames and rolls it ``horizon`` frames forward
(:func:`physics_llm.rollout.rollout`), runs copy-last / constant velocity / constant acceleration on
the same scene (:func:`physics_llm.baselines.run_baselines`), scores everything with
:func:`physics_llm.metrics.score_rollout` and aggregates with :func:`physics_llm.metrics.aggregate`
(skill vs the constant-velocity records, seen / held-out from the checkpoint's own
``training_types.json``). Outputs in ``output_dir``:

- ``metrics.json``: ``checkpoint``, ``settings``, ``split`` (trained types and the label of every
  evaluated type), ``scenes`` (evaluated count and skipped files with reasons), ``model`` and
  ``baselines.<name>`` (each an :func:`~physics_llm.metrics.aggregate` result: ``overall``,
  ``per_type``, ``per_category``, ``seen_vs_held_out``, with per-step curves and bootstrap CIs), and
  ``per_scene`` (the per-scene records of the model and of each baseline).
- ``predictions/<type>/scene_XXXXXXXX.json``: predicted frames ``K .. K+H-1`` of the model and of each
  baseline, positions in px and angles in rad, plus the model's format failures (re-rendered by
  :func:`render_comparison_gifs` without the model).
- ``error_vs_horizon.png``: position RMSE per horizon step, model vs baselines, seen vs held-out.
- ``report.md``: tables generated from the ``metrics.json`` values only (:func:`write_report`).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import torch
from PIL import ImageDraw
from tqdm import tqdm

from physics_llm.baselines import BASELINES, run_baselines
from physics_llm.curriculum import load_training_types
from physics_llm.metrics import aggregate, score_rollout
from physics_llm.render import PALETTE, SceneRenderer, frame_step, plot_error_vs_horizon, save_gif, side_by_side
from physics_llm.rollout import rollout
from physics_llm.scene_format import read_scene
from physics_llm.tokenization.codec import ANGLE_SCALE, POS_SCALE, quantize
from physics_llm.validation import find_scene_files

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
PLOT_FILE = "error_vs_horizon.png"
PREDICTIONS_DIR = "predictions"
GIFS_DIR = "comparison_gifs"
SPLITS = ("seen", "held_out")


def load_model_for_eval(checkpoint_dir: str | Path, device: str | torch.device | None = None):
    """(model in eval mode, tokenizer) from a checkpoint directory: a LoRA adapter (a directory with
    ``adapter_config.json``, through :func:`physics_llm.finetune.load_finetuned`) or a full model such as
    the scratch GPT; the tokenizer is the one saved in the directory. ``device`` None: CPU."""
    import physics_llm.models  # noqa: F401  (registers the scratch GPT with the Auto classes)

    ckpt = Path(checkpoint_dir)
    if not ckpt.is_dir():
        raise FileNotFoundError(f"checkpoint directory {ckpt} not found")
    if (ckpt / "adapter_config.json").exists():
        from physics_llm.finetune import load_finetuned

        model, tokenizer = load_finetuned(ckpt)
    else:
        if not (ckpt / "config.json").exists():
            raise FileNotFoundError(f"{ckpt} holds neither config.json nor adapter_config.json: not a checkpoint "
                                    f"(pass a stage directory such as <output-dir>/stage0)")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(ckpt)
        tokenizer = AutoTokenizer.from_pretrained(ckpt)
    model.to(device or "cpu")
    return model.eval(), tokenizer


def _to_px(pos: np.ndarray) -> list:
    return (np.asarray(pos, np.float64) / POS_SCALE).round(1).tolist()


def _to_rad(angle: np.ndarray) -> list:
    return (np.asarray(angle, np.float64) / ANGLE_SCALE).round(3).tolist()


def _select_files(data_dir: Path, max_scenes_per_type: int | None) -> list[Path]:
    files, errors = find_scene_files(data_dir)
    for e in errors:
        log.warning("%s", e)
    if max_scenes_per_type is None:
        return files
    kept: dict[str, int] = {}
    out = []
    for p in files:  # sorted by type, then scene index: the first N of each type
        if kept.get(p.parent.name, 0) < max_scenes_per_type:
            kept[p.parent.name] = kept.get(p.parent.name, 0) + 1
            out.append(p)
    return out


def evaluate(checkpoint_dir: str | Path, data_dir: str | Path, output_dir: str | Path, context: int = 10,
             horizon: int = 20, max_scenes_per_type: int | None = None, tolerance_px: float = 5.0, seed: int = 0,
             progress: bool = True, device: str | None = None) -> dict:
    """Evaluate one checkpoint on every scene of ``data_dir`` and write the outputs (module docstring).
    Returns the ``metrics.json`` content. Scenes shorter than ``context + horizon`` frames, unreadable
    scene files and scenes the model cannot fit are skipped with a warning and listed under
    ``scenes.skipped``. Raises ``FileNotFoundError`` for a missing checkpoint / training record and
    ``ValueError`` when no scene can be evaluated."""
    ckpt, data, out = Path(checkpoint_dir), Path(data_dir), Path(output_dir)
    if context < 3:
        raise ValueError(f"context must be >= 3 frames (constant acceleration needs 3), got {context}")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    trained_types = load_training_types(ckpt)  # before the (slow) model load: fail early
    model, tokenizer = load_model_for_eval(ckpt, device)
    torch.manual_seed(seed)
    files = _select_files(data, max_scenes_per_type)
    if not files:
        raise ValueError(f"no scene files (<type>/scene_XXXXXXXX.jsonl) under {data}")

    records: dict[str, list[dict]] = {"model": [], **{name: [] for name in BASELINES}}
    skipped: list[dict] = []
    pred_dir = out / PREDICTIONS_DIR
    for path in tqdm(files, desc="evaluating scenes", unit="scene", disable=not progress):
        rel = f"{path.parent.name}/{path.name}"
        try:
            q = quantize(read_scene(path))
        except (ValueError, KeyError, TypeError, OSError) as e:
            log.warning("skipping %s: unreadable scene file (%s)", rel, e)
            skipped.append({"scene": rel, "reason": f"unreadable: {e}"})
            continue
        if q.num_frames < context + horizon:
            log.warning("skipping %s: %d frames < context %d + horizon %d", rel, q.num_frames, context, horizon)
            skipped.append({"scene": rel, "reason": f"too short: {q.num_frames} frames"})
            continue
        try:
            res = rollout(model, tokenizer, q, context, horizon, seed=seed)
        except ValueError as e:  # a scene whose header plus one frame exceeds the model's length
            log.warning("skipping %s: %s", rel, e)
            skipped.append({"scene": rel, "reason": str(e)})
            continue
        scene_id = f"{path.parent.name}/{path.stem}"
        stype = q.header["scenario_type"]
        preds = {"model": (res.pos, res.angle)} | run_baselines(q, context, horizon)
        for name, (pos, ang) in preds.items():
            fails = res.format_failures if name == "model" else 0
            records[name].append(score_rollout(q, pos, ang, context, scene_id=scene_id, format_failures=fails,
                                               tolerance_px=tolerance_px))
        doc = {"scene_id": scene_id, "scenario_type": stype, "scene_file": rel, "context_frames": context,
               "horizon": horizon, "frames": list(range(context, context + horizon)),
               "units": {"pos": "px", "angle": "rad"},
               "model": {"pos": _to_px(res.pos), "angle": _to_rad(res.angle),
                         "format_failures": res.format_failures, "generated_tokens": res.generated_tokens,
                         "window_slides": res.window_slides},
               "baselines": {name: {"pos": _to_px(p), "angle": _to_rad(a)}
                             for name, (p, a) in preds.items() if name != "model"}}
        target = pred_dir / path.parent.name / f"{path.stem}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(doc) + "\n", encoding="utf-8")

    if not records["model"]:
        raise ValueError(f"no scene under {data} could be evaluated ({len(skipped)} skipped; scenes need at least "
                         f"{context + horizon} frames)")
    cv = records["constant_velocity"]
    aggs = {name: aggregate(recs, cv_records=cv, trained_types=trained_types, seed=seed)
            for name, recs in records.items()}
    evaluated_types = sorted({r["scenario_type"] for r in records["model"]})
    trained = set(trained_types)
    metrics = {
        "checkpoint": str(ckpt.resolve()),
        "data_dir": str(data.resolve()),
        "settings": {"context_frames": context, "rollout_frames": horizon, "max_scenes_per_type": max_scenes_per_type,
                     "tolerance_px": tolerance_px, "seed": seed, "decode": "forced", "temperature": 0.0},
        "split": {"source": "training_types.json", "trained_types": sorted(trained),
                  "types": {t: "seen" if t in trained else "held_out" for t in evaluated_types}},
        "scenes": {"evaluated": len(records["model"]), "skipped": skipped},
        "model": aggs["model"],
        "baselines": {name: aggs[name] for name in BASELINES},
        "per_scene": records,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / METRICS_FILE).write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    plot_error_vs_horizon(horizon_panels(metrics), out / PLOT_FILE)
    write_report(metrics, out / REPORT_FILE)
    return metrics


# --------------------------------------------------------------------------- plot and report


def _results(metrics: dict) -> dict[str, dict]:
    """name -> aggregate, the model first."""
    return {"model": metrics["model"], **metrics["baselines"]}


def horizon_panels(metrics: dict) -> dict[str, dict[str, list]]:
    """Position RMSE per horizon step, one panel per split present (seen, held-out), one series per
    model / baseline (input of :func:`physics_llm.render.plot_error_vs_horizon`)."""
    panels = {}
    for split in SPLITS:
        if split not in metrics["model"]["seen_vs_held_out"]:
            continue
        n = metrics["model"]["seen_vs_held_out"][split]["num_scenes"]
        panels[f"{split.replace('_', '-')} types ({n} scenes)"] = {
            name: agg["seen_vs_held_out"][split]["per_step"]["rmse"] for name, agg in _results(metrics).items()}
    return panels


def _fmt(stat: dict | None, digits: int = 3, pct: bool = False) -> str:
    if not stat or stat.get("mean") is None:
        return "n/a"
    k = 100.0 if pct else 1.0
    s = f"{stat['mean'] * k:.{digits}g}{'%' if pct else ''}"
    ci = stat.get("ci95")
    if ci and None not in ci:
        s += f" [{ci[0] * k:.{digits}g}, {ci[1] * k:.{digits}g}]"
    return s


def _table_rows(metrics: dict, group: str, key: str | None) -> list[list[str]]:
    rows = []
    for name, agg in _results(metrics).items():
        s = agg[group] if key is None else agg[group].get(key)
        if s is None:
            continue
        rows.append([name, str(s["num_scenes"]), _fmt(s["rmse"]), _fmt(s["accuracy"], pct=True),
                     _fmt(s.get("skill_vs_cv")), _fmt(s["format_failure_rate"], pct=True)])
    return rows


TABLE_HEADER = ["", "scenes", "RMSE (px)", "accuracy", "skill vs CV", "format failures"]


def _md_table(rows: list[list[str]], header=TABLE_HEADER) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def write_report(metrics: dict, path: str | Path) -> Path:
    """A short Markdown report generated from ``metrics.json`` values only."""
    st = metrics["settings"]
    tol = st["tolerance_px"]
    lines = [
        "# Rollout evaluation", "",
        f"Checkpoint `{metrics['checkpoint']}`, data `{metrics['data_dir']}`: {metrics['scenes']['evaluated']} scenes "
        f"evaluated, {len(metrics['scenes']['skipped'])} skipped. {st['context_frames']} ground-truth context frames, "
        f"{st['rollout_frames']} predicted frames, accuracy = share of object positions within {tol:g} px, "
        "skill vs CV = 1 - MSE / MSE(constant velocity). Brackets: bootstrap 95% CI over scenes.", "",
        f"Trained types (from the checkpoint's training_types.json): {', '.join(metrics['split']['trained_types'])}.",
        "Evaluated types: " + ", ".join(f"{t} ({lab.replace('_', '-')})" for t, lab in metrics["split"]["types"].items())
        + ".", "",
        "## Overall", "", *_md_table(_table_rows(metrics, "overall", None)), "",
    ]
    for split in SPLITS:
        rows = _table_rows(metrics, "seen_vs_held_out", split)
        if rows:
            lines += [f"## {split.replace('_', '-').capitalize()} types", "", *_md_table(rows), ""]
    lines += ["## Per type", "", "Mean RMSE (px) / skill vs CV (scenes); CIs per type are in metrics.json.", ""]
    names = list(_results(metrics))
    rows = []
    for t, lab in metrics["split"]["types"].items():
        cells = []
        for agg in _results(metrics).values():
            s = agg["per_type"][t]
            skill = (s.get("skill_vs_cv") or {}).get("mean")
            cells.append(f"{_num(s['rmse']['mean'], '.3g')} / {_num(skill, '.3g')} ({s['num_scenes']})")
        rows.append([f"{t} ({lab.replace('_', '-')})"] + cells)
    lines += _md_table(rows, [""] + names) + ["", f"Error vs horizon: `{PLOT_FILE}`.", ""]
    path = Path(path)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def results_table(metrics: dict) -> str:
    """A compact plain-text table (model vs baselines, overall / seen / held-out) for the console."""
    groups = [("overall", None)] + [("seen_vs_held_out", s) for s in SPLITS
                                    if s in metrics["model"]["seen_vs_held_out"]]
    lines = [f"{'':24} {'scenes':>6} {'RMSE px':>9} {'acc':>7} {'skill':>9}"]
    for group, key in groups:
        lines.append(f"[{key or group}]")
        for name, agg in _results(metrics).items():
            s = agg[group] if key is None else agg[group][key]
            rmse, acc = s["rmse"]["mean"], s["accuracy"]["mean"]
            skill = (s.get("skill_vs_cv") or {}).get("mean")
            lines.append(f"  {name:22} {s['num_scenes']:>6} {_num(rmse, '9.3f')} {_num(acc, '7.1%')} "
                         f"{_num(skill, '9.3g')}")
    return "\n".join(lines)


def _num(x, spec: str) -> str:
    width = int(spec.split(".")[0] or 0)
    return format(x, spec) if x is not None else "n/a".rjust(width)


# --------------------------------------------------------------------------- comparison GIFs

_TEXT = list(PALETTE).index("text")


def _frames(renderer: SceneRenderer, pos: np.ndarray, angle: np.ndarray, style: str, label: str, context: int,
            step: int) -> list:
    out = []
    for t in range(0, pos.shape[0], step):
        im = renderer.canvas.new_image()
        renderer.draw(im, pos[t], angle[t], style)
        phase = "context" if t < context else "PREDICTION"
        ImageDraw.Draw(im).text((4, 3), f"{label}  t={t}  {phase}", fill=_TEXT)
        out.append(im)
    return out


def _pick_round_robin(files: list[Path], n: int | None) -> list[Path]:
    """Up to ``n`` files, alternating between types (first scene of each type, then the second, ...)."""
    by_type: dict[str, list[Path]] = {}
    for f in files:
        by_type.setdefault(f.parent.name, []).append(f)
    order = []
    for i in range(max((len(v) for v in by_type.values()), default=0)):
        order += [v[i] for _, v in sorted(by_type.items()) if i < len(v)]
    return order if n is None else order[:n]


def render_comparison_gifs(predictions_dir: str | Path, data_dir: str | Path, output_dir: str | Path,
                           num_gifs: int | None = None, fps: float = 15.0, scale: float = 0.5) -> list[Path]:
    """Side-by-side GIFs from saved predictions (no model needed): left the ground truth (green), right
    the model (blue), both over the context frames then the predicted frames, with a frame counter and
    the phase (context / PREDICTION). Written as ``output_dir/<type>_scene_XXXXXXXX_cmp.gif``; ``num_gifs``
    None: all, else that many, alternating between types. Returns the paths written."""
    pred_root, data = Path(predictions_dir), Path(data_dir)
    files = sorted(pred_root.glob("*/scene_*.json"))
    if not files:
        raise FileNotFoundError(f"no saved predictions (<type>/scene_XXXXXXXX.json) under {pred_root}")
    written = []
    for f in _pick_round_robin(files, num_gifs):
        doc = json.loads(f.read_text(encoding="utf-8"))
        scene = read_scene(data / doc["scene_file"])
        k, h = doc["context_frames"], doc["horizon"]
        if scene.num_frames < k + h:
            raise ValueError(f"{data / doc['scene_file']} has {scene.num_frames} frames; the predictions need {k + h}")
        true_pos, true_ang = scene.pos[:k + h], scene.angle[:k + h]
        pred_pos = np.concatenate([scene.pos[:k], np.asarray(doc["model"]["pos"], np.float64)])
        pred_ang = np.concatenate([scene.angle[:k], np.asarray(doc["model"]["angle"], np.float64)])
        renderer = SceneRenderer(scene.header, scale)
        step = frame_step(float(scene.header["dt"]), fps)
        frames = side_by_side(_frames(renderer, true_pos, true_ang, "truth", "truth", k, step),
                              _frames(renderer, pred_pos, pred_ang, "prediction", "model", k, step))
        path = Path(output_dir) / f"{f.parent.name}_{f.stem}_cmp.gif"
        save_gif(frames, path, fps)
        written.append(path)
    return written


def expected_gif_frames(context: int, horizon: int, dt: float, fps: float) -> int:
    """How many frames :func:`render_comparison_gifs` draws for one scene."""
    return math.ceil((context + horizon) / frame_step(dt, fps))
