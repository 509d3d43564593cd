"""Rollout evaluation of a checkpoint against the three baselines (DESIGN.md §6).

:func:`evaluate` takes the scenes under ``val_dir/<type>/`` (all types, held-out ones included), gives
the model ``context`` ground-truth frames and rolls it ``horizon`` frames forward
(:func:`physics_llm.rollout.rollout_many`: forced-structure decoding through the KV cache, batched
across scenes with ``batch_size`` > 1, or the "free" mode), runs copy-last / constant velocity /
constant acceleration on the same scenes (:func:`physics_llm.baselines.run_baselines`), scores
everything with :func:`physics_llm.metrics.score_rollout` and aggregates with
:func:`physics_llm.metrics.aggregate` (skill vs the constant-velocity records; seen / held-out from
the checkpoint's own ``training_types.json``). With ``checkpoint=None`` only the baselines are scored
and the split falls back to ``HELD_OUT_TYPES``. Outputs in ``output_dir``:

- ``metrics.json``: ``model_kind``, ``checkpoint``, ``val_dir``, ``text_format`` (the checkpoint's record:
  the units of every rollout and baseline), ``settings``, ``split`` (trained
  types and the label of every evaluated type), ``scenes`` (evaluated count and skipped files with
  reasons), ``decoding`` (format failures, generated tokens, window slides), ``model`` (null for
  baselines only) and ``baselines.<name>`` (each an :func:`~physics_llm.metrics.aggregate` result:
  ``overall``, ``per_type``, ``per_category``, ``per_difficulty``, ``seen_vs_held_out``, with per-step curves and
  bootstrap CIs), and ``per_scene`` (the per-scene records of the model and of each baseline).
- ``predictions/<type>_scene_XXXXXXXX.txt``: the text of the rollout as the model saw and wrote it,
  from the first predicted frame's marker on (forced parts written by the harness, predicted parts by
  the model); ``predictions/<type>_scene_XXXXXXXX.json``: the predicted frames ``K .. K+H-1`` of the
  model and of each baseline, positions in px and angles in rad, plus the model's format failures
  (what :func:`render_comparison_gifs` re-renders without the model).
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
from physics_llm.curriculum import TRAINING_TYPES_FILE, load_training_types
from physics_llm.metrics import aggregate, score_rollout
from physics_llm.render import PALETTE, SceneRenderer, frame_step, plot_error_vs_horizon, save_gif, side_by_side
from physics_llm.rollout import DECODE_MODES, rollout_many, scene_seed
from physics_llm.scene_format import read_scene
from physics_llm.tokenization.codec import ANGLE_SCALE
from physics_llm.tokenization.formats import TextFormat, resolve_format
from physics_llm.validation import find_scene_files

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
PLOT_FILE = "error_vs_horizon.png"
PREDICTIONS_DIR = "predictions"
GIFS_DIR = "comparison_gifs"
SPLITS = ("seen", "held_out")
MODEL_KINDS = ("scratch", "finetune", "baseline")


def checkpoint_kind(checkpoint_dir: str | Path) -> str:
    """``"finetune"`` for a LoRA adapter directory (``adapter_config.json``), ``"scratch"`` for a full
    model directory (``config.json``). Raises ``FileNotFoundError`` for anything else."""
    ckpt = Path(checkpoint_dir)
    if not ckpt.is_dir():
        raise FileNotFoundError(f"checkpoint directory {ckpt} not found")
    if (ckpt / "adapter_config.json").exists():
        return "finetune"
    if (ckpt / "config.json").exists():
        return "scratch"
    raise FileNotFoundError(f"{ckpt} holds neither config.json nor adapter_config.json: not a checkpoint "
                            "(pass a stage directory such as <output-dir>/stage4, or the training output directory)")


def resolve_checkpoint(path: str | Path) -> Path:
    """A stage directory as given, or a training output directory -> its last complete stage."""
    from physics_llm.training import last_complete_stage

    p = Path(path)
    if p.is_dir() and not (p / TRAINING_TYPES_FILE).exists():
        stage = last_complete_stage(p)
        if stage is not None:
            return stage
    return p


def load_model_for_eval(checkpoint_dir: str | Path, device: str | torch.device | None = None):
    """(model in eval mode, tokenizer) from a checkpoint directory: a LoRA adapter (a directory with
    ``adapter_config.json``, through :func:`physics_llm.finetune.load_finetuned`) or a full model such as
    the scratch GPT; the tokenizer is the one saved in the directory. ``device`` None: CPU. Raises
    ``ValueError`` when the tokenizer cannot belong to the model (more tokens than embedding rows)."""
    import physics_llm.models  # noqa: F401  (registers the scratch GPT with the Auto classes)

    ckpt = Path(checkpoint_dir)
    if checkpoint_kind(ckpt) == "finetune":
        from physics_llm.finetune import load_finetuned

        model, tokenizer = load_finetuned(ckpt)
    else:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(ckpt)
        tokenizer = AutoTokenizer.from_pretrained(ckpt)
    rows = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > rows:
        raise ValueError(f"{ckpt}: the tokenizer has {len(tokenizer)} tokens but the model's embedding has {rows} "
                         "rows: the checkpoint's tokenizer does not match its model")
    model.to(device or "cpu")
    return model.eval(), tokenizer


def _to_px(pos: np.ndarray, pos_scale: int) -> list:
    return (np.asarray(pos, np.float64) / pos_scale).round(2).tolist()


def _to_rad(angle: np.ndarray) -> list:
    return (np.asarray(angle, np.float64) / ANGLE_SCALE).round(3).tolist()


def select_scene_files(val_dir: Path, max_scenes_per_type: int | None,
                       scenario_types: list[str] | None = None) -> list[Path]:
    """Scene files under ``val_dir``, sorted by type then index: the first ``max_scenes_per_type`` of
    each type (all when None), only ``scenario_types`` when given."""
    files, errors = find_scene_files(val_dir)
    for e in errors:
        log.warning("%s", e)
    if scenario_types is not None:
        files = [p for p in files if p.parent.name in set(scenario_types)]
    if max_scenes_per_type is None:
        return files
    kept: dict[str, int] = {}
    out = []
    for p in files:
        if kept.get(p.parent.name, 0) < max_scenes_per_type:
            kept[p.parent.name] = kept.get(p.parent.name, 0) + 1
            out.append(p)
    return out


def prediction_stem(path: Path) -> str:
    """``<type>_scene_XXXXXXXX``: the name of a scene's prediction files."""
    return f"{path.parent.name}_{path.stem}"


def _load_scenes(files: list[Path], fmt: TextFormat, context: int, horizon: int,
                 skipped: list[dict]) -> list[tuple[Path, object]]:
    scenes = []
    for path in files:
        rel = f"{path.parent.name}/{path.name}"
        try:
            q = fmt.quantize(read_scene(path))
        except (ValueError, KeyError, TypeError, OSError) as e:
            log.warning("skipping %s: unreadable scene file (%s)", rel, e)
            skipped.append({"scene": rel, "reason": f"unreadable: {e}"})
            continue
        if q.num_frames < context + horizon:
            log.warning("skipping %s: %d frames < context %d + horizon %d", rel, q.num_frames, context, horizon)
            skipped.append({"scene": rel, "reason": f"too short: {q.num_frames} frames"})
            continue
        scenes.append((path, q))
    return scenes


def evaluate(checkpoint_dir: str | Path | None, val_dir: str | Path, output_dir: str | Path, context: int = 10,
             horizon: int = 20, max_scenes_per_type: int | None = None, tolerance_px: float = 5.0, seed: int = 0,
             progress: bool = True, device: str | None = None, batch_size: int = 1, decode: str = "forced",
             constrained: bool = True, temperature: float = 0.0, top_p: float = 1.0,
             scenario_types: list[str] | None = None, text_format: str | TextFormat | None = None) -> dict:
    """Evaluate one checkpoint (``None``: the baselines only) on the scenes of ``val_dir`` and write the
    outputs (module docstring). Returns the ``metrics.json`` content. The text format (and so the units of the
    rollout and of the baselines) is the checkpoint's record (``text_format.json``); ``text_format``, when
    given, must agree with it (``ValueError`` otherwise); without a checkpoint it sets the baselines' units. Scenes shorter than ``context +
    horizon`` frames, unreadable scene files and scenes the model cannot fit are skipped with a warning
    and listed under ``scenes.skipped``. Raises ``FileNotFoundError`` for a missing checkpoint /
    training record and ``ValueError`` for bad settings or when no scene can be evaluated."""
    data, out = Path(val_dir), Path(output_dir)
    if context < 3:
        raise ValueError(f"context must be >= 3 frames (constant acceleration needs 3), got {context}")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    if decode not in DECODE_MODES:
        raise ValueError(f"decode must be one of {DECODE_MODES}, got {decode!r}")
    model = tokenizer = trained_types = None
    kind = "baseline"
    ckpt = None
    if checkpoint_dir is not None:
        ckpt = Path(checkpoint_dir)
        kind = checkpoint_kind(ckpt)
    fmt = resolve_format(text_format, ckpt)  # before the (slow) model load: fail early
    if ckpt is not None:
        trained_types = load_training_types(ckpt)
        model, tokenizer = load_model_for_eval(ckpt, device)
    torch.manual_seed(seed)
    files = select_scene_files(data, max_scenes_per_type, scenario_types)
    if not files:
        raise ValueError(f"no scene files (<type>/scene_XXXXXXXX.jsonl) under {data}"
                         + (f" of types {scenario_types}" if scenario_types else ""))

    names = (["model"] if model is not None else []) + list(BASELINES)
    records: dict[str, list[dict]] = {name: [] for name in names}
    skipped: list[dict] = []
    decoding = {"format_failures": 0, "object_frames": 0, "generated_tokens": 0, "window_slides": 0}
    pred_dir = out / PREDICTIONS_DIR
    pred_dir.mkdir(parents=True, exist_ok=True)
    scenes = _load_scenes(files, fmt, context, horizon, skipped)
    chunk = batch_size if model is not None else len(scenes) or 1
    bar = tqdm(total=len(scenes), desc="evaluating scenes", unit="scene", disable=not progress)
    for lo in range(0, len(scenes), chunk):
        part = scenes[lo:lo + chunk]
        results = [None] * len(part)
        if model is not None:
            results = rollout_many(model, tokenizer, [q for _, q in part], context=context, horizon=horizon,
                                   batch_size=batch_size, decode=decode, constrained=constrained,
                                   temperature=temperature, top_p=top_p, text_format=fmt,
                                   seed=[scene_seed(seed, lo + j) for j in range(len(part))])
        for (path, q), res in zip(part, results):
            rel = f"{path.parent.name}/{path.name}"
            if isinstance(res, Exception):  # e.g. a header plus one frame longer than the model's maximum
                log.warning("skipping %s: %s", rel, res)
                skipped.append({"scene": rel, "reason": str(res)})
                continue
            _score_scene(path, q, res, context, horizon, tolerance_px, records, decoding, pred_dir, tokenizer)
        bar.update(len(part))
    bar.close()

    if not records[names[0]]:
        raise ValueError(f"no scene under {data} could be evaluated ({len(skipped)} skipped; scenes need at least "
                         f"{context + horizon} frames)")
    cv = records["constant_velocity"]
    aggs = {name: aggregate(recs, cv_records=cv, trained_types=trained_types, seed=seed)
            for name, recs in records.items()}
    evaluated_types = sorted({r["scenario_type"] for r in records[names[0]]})
    split = aggs[names[0]]["split"]
    is_seen = (lambda t: t in set(trained_types)) if trained_types is not None else \
        (lambda t: t not in split["held_out_types"])
    if decoding["object_frames"]:
        decoding["format_failure_rate"] = decoding["format_failures"] / decoding["object_frames"]
    metrics = {
        "model_kind": kind,
        "checkpoint": str(ckpt.resolve()) if ckpt is not None else None,
        "val_dir": str(data.resolve()),
        "text_format": fmt.spec(),
        "settings": {"context_frames": context, "rollout_frames": horizon, "max_scenes_per_type": max_scenes_per_type,
                     "scenario_types": scenario_types, "tolerance_px": tolerance_px, "seed": seed,
                     "decode": decode if model is not None else None,
                     "constrained": constrained if model is not None and decode == "forced" else None,
                     "temperature": temperature, "top_p": top_p, "batch_size": batch_size},
        "split": {"source": TRAINING_TYPES_FILE if trained_types is not None else "HELD_OUT_TYPES",
                  "trained_types": sorted(trained_types) if trained_types is not None else None,
                  "types": {t: "seen" if is_seen(t) else "held_out" for t in evaluated_types}},
        "scenes": {"evaluated": len(records[names[0]]), "skipped": skipped},
        "decoding": decoding if model is not None else None,
        "model": aggs.get("model"),
        "baselines": {name: aggs[name] for name in BASELINES},
        "per_scene": records,
    }
    (out / METRICS_FILE).write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    plot_error_vs_horizon(horizon_panels(metrics), out / PLOT_FILE)
    write_report(metrics, out / REPORT_FILE)
    return metrics


def _score_scene(path: Path, q, res, context: int, horizon: int, tolerance_px: float, records: dict,
                 decoding: dict, pred_dir: Path, tokenizer) -> None:
    """Score one scene (model result ``res`` or None, and the baselines) and write its prediction files."""
    scene_id = f"{path.parent.name}/{path.stem}"
    preds = run_baselines(q, context, horizon)
    if res is not None:
        preds = {"model": (res.pos, res.angle)} | preds
    for name, (pos, ang) in preds.items():
        fails = res.format_failures if name == "model" else 0
        records[name].append(score_rollout(q, pos, ang, context, scene_id=scene_id, format_failures=fails,
                                           tolerance_px=tolerance_px))
    doc = {"scene_id": scene_id, "scenario_type": q.header["scenario_type"],
           "scene_file": f"{path.parent.name}/{path.name}", "context_frames": context, "horizon": horizon,
           "frames": list(range(context, context + horizon)), "units": {"pos": "px", "angle": "rad"},
           "baselines": {name: {"pos": _to_px(p, q.pos_scale), "angle": _to_rad(a)}
                         for name, (p, a) in preds.items() if name != "model"}}
    stem = prediction_stem(path)
    if res is not None:
        doc["model"] = {"pos": _to_px(res.pos, q.pos_scale), "angle": _to_rad(res.angle), "format_failures": res.format_failures,
                        "generated_tokens": res.generated_tokens, "window_slides": res.window_slides}
        decoding["format_failures"] += res.format_failures
        decoding["object_frames"] += horizon * q.pos.shape[1]
        decoding["generated_tokens"] += res.generated_tokens
        decoding["window_slides"] += res.window_slides
        text = tokenizer.decode(res.ids[res.prompt_tokens:], skip_special_tokens=False)
        (pred_dir / f"{stem}.txt").write_text(text, encoding="utf-8")
    (pred_dir / f"{stem}.json").write_text(json.dumps(doc) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- plot and report


def _results(metrics: dict) -> dict[str, dict]:
    """name -> aggregate, the model first (when there is one)."""
    model = {"model": metrics["model"]} if metrics.get("model") is not None else {}
    return {**model, **metrics["baselines"]}


def _first(metrics: dict) -> dict:
    return next(iter(_results(metrics).values()))


def horizon_panels(metrics: dict) -> dict[str, dict[str, list]]:
    """Position RMSE per horizon step, one panel per split present (seen, held-out), one series per
    model / baseline (input of :func:`physics_llm.render.plot_error_vs_horizon`)."""
    panels = {}
    for split in SPLITS:
        if split not in _first(metrics)["seen_vs_held_out"]:
            continue
        n = _first(metrics)["seen_vs_held_out"][split]["num_scenes"]
        panels[f"{split.replace('_', '-')} types ({n} scenes)"] = {
            name: agg["seen_vs_held_out"][split]["per_step"]["rmse"] for name, agg in _results(metrics).items()}
    return panels


def _fmt(stat: dict | None, digits: int = 3, pct: bool = False) -> str:
    if not stat or stat.get("mean") is None:
        return "n/a"
    k = 100.0 if pct else 1.0
    ci = _ci(stat.get("ci95"), f".{digits}g", k)
    return f"{stat['mean'] * k:.{digits}g}{'%' if pct else ''}" + (f" {ci}" if ci else "")


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
    tf = metrics.get("text_format") or {}
    tf_text = tf.get("name", "?") + "".join(f" {k}={v}" for k, v in tf.get("params", {}).items())
    what = (f"Checkpoint `{metrics['checkpoint']}` ({metrics['model_kind']}, text format {tf_text}, {st['decode']} "
            "decoding" + (", grammar-constrained" if st.get("constrained") else "") + ")"
            if metrics.get("checkpoint") else "Baselines only (no checkpoint)")
    trained = metrics["split"]["trained_types"]
    lines = [
        "# Rollout evaluation", "",
        f"{what}, scenes `{metrics['val_dir']}`: {metrics['scenes']['evaluated']} scenes "
        f"evaluated, {len(metrics['scenes']['skipped'])} skipped. {st['context_frames']} ground-truth context frames, "
        f"{st['rollout_frames']} predicted frames, accuracy = share of object positions within {tol:g} px, "
        "skill vs CV = 1 - MSE / MSE(constant velocity). Brackets: bootstrap 95% CI over scenes.", "",
        (f"Trained types (from the checkpoint's training_types.json): {', '.join(trained)}." if trained is not None
         else "Seen / held-out from the project's split (HELD_OUT_TYPES): no checkpoint record."),
        "Evaluated types: " + ", ".join(f"{t} ({lab.replace('_', '-')})" for t, lab in metrics["split"]["types"].items())
        + ".", "",
        *_decoding_lines(metrics),
        "## Overall", "", *_md_table(_table_rows(metrics, "overall", None)), "",
    ]
    for split in SPLITS:
        rows = _table_rows(metrics, "seen_vs_held_out", split)
        if rows:
            lines += [f"## {split.replace('_', '-').capitalize()} types", "", *_md_table(rows), ""]
    for d in sorted(_first(metrics).get("per_difficulty", {}), key=int):
        lines += [f"## Difficulty {d}", "", *_md_table(_table_rows(metrics, "per_difficulty", d)), ""]
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


def _decoding_lines(metrics: dict) -> list[str]:
    d = metrics.get("decoding")
    if not d:
        return []
    rate = d.get("format_failure_rate")
    return [f"Decoding: {d['format_failures']} format failures in {d['object_frames']} predicted object-frames"
            + (f" ({rate:.1%})" if rate is not None else "") + f", {d['generated_tokens']} generated tokens, "
            f"{d['window_slides']} sliding-window re-encodes.", ""]


def results_table(metrics: dict) -> str:
    """A compact plain-text table (model vs baselines, overall / seen / held-out) for the console, with the
    bootstrap 95 % CIs over scenes of the RMSE and of the skill (paired: a tie with constant velocity is 0
    inside the skill's CI)."""
    groups = [("overall", None)] + [("seen_vs_held_out", s) for s in SPLITS
                                    if s in _first(metrics)["seen_vs_held_out"]]
    lines = [f"{'':24} {'scenes':>6} {'RMSE px':>9} {'95% CI':>17} {'acc':>7} {'skill':>9} {'95% CI':>19}"]
    for group, key in groups:
        lines.append(f"[{key or group}]")
        for name, agg in _results(metrics).items():
            s = agg[group] if key is None else agg[group][key]
            rmse, acc = s["rmse"]["mean"], s["accuracy"]["mean"]
            skill = s.get("skill_vs_cv") or {}
            lines.append(f"  {name:22} {s['num_scenes']:>6} {_num(rmse, '9.3f')} {_ci(s['rmse'].get('ci95'), '.2f'):>17} "
                         f"{_num(acc, '7.1%')} {_num(skill.get('mean'), '9.3g')} {_ci(skill.get('ci95'), '.3g'):>19}")
    return "\n".join(lines)


def _ci(ci, spec: str, scale: float = 1.0) -> str:
    """``"[lo, hi]"`` of a CI (times ``scale``), or ``""`` without one."""
    return f"[{format(ci[0] * scale, spec)}, {format(ci[1] * scale, spec)}]" if ci and None not in ci else ""


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


def gif_name(prediction_file: Path, first_of_type: bool) -> str:
    """``<type>_cmp.gif`` for the first scene of a type, ``<type>_scene_XXXXXXXX_cmp.gif`` for the others."""
    stype, _, scene = prediction_file.stem.partition("_scene_")
    return f"{stype}_cmp.gif" if first_of_type else f"{stype}_scene_{scene}_cmp.gif"


def render_comparison_gifs(predictions_dir: str | Path, val_dir: str | Path, output_dir: str | Path,
                           scenario_types: list[str] | None = None, num_scenes: int | None = 1, fps: float = 15.0,
                           scale: float = 0.5) -> list[Path]:
    """Side-by-side GIFs from saved predictions (no model needed): left the ground truth (green), right
    the model (blue), both over the context frames then the predicted frames, with a frame counter and
    the phase (context / PREDICTION). ``num_scenes`` per type (None: all), only ``scenario_types`` when
    given; the first scene of each type is written as ``<type>_cmp.gif``, further ones as
    ``<type>_scene_XXXXXXXX_cmp.gif`` (:func:`gif_name`). Returns the paths written."""
    pred_root, data = Path(predictions_dir), Path(val_dir)
    files = sorted(pred_root.glob("*_scene_*.json"))
    if scenario_types is not None:
        files = [f for f in files if f.stem.partition("_scene_")[0] in set(scenario_types)]
    if not files:
        raise FileNotFoundError(f"no saved predictions (<type>_scene_XXXXXXXX.json) under {pred_root}"
                                + (f" of types {scenario_types}" if scenario_types else ""))
    written = []
    per_type: dict[str, int] = {}
    for f in files:
        doc = json.loads(f.read_text(encoding="utf-8"))
        if "model" not in doc:
            raise ValueError(f"{f} holds baseline predictions only (evaluated without a checkpoint): nothing to "
                             "compare")
        stype = doc["scenario_type"]
        if num_scenes is not None and per_type.get(stype, 0) >= num_scenes:
            continue
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
        path = Path(output_dir) / gif_name(f, stype not in per_type)
        save_gif(frames, path, fps)
        per_type[stype] = per_type.get(stype, 0) + 1
        written.append(path)
    return written


def expected_gif_frames(context: int, horizon: int, dt: float, fps: float) -> int:
    """How many frames :func:`render_comparison_gifs` draws for one scene."""
    return math.ceil((context + horizon) / frame_step(dt, fps))
