"""Token budget of the text formats with PhysicsTokenizer, on a generated sample of every scenario type.

Every figure below is measured per text format (``--text-formats``, default: every registered format), on the
same scenes; the JSON has one report per format under ``formats``.

Scenes are generated in memory (no files), ``--per-cell`` per (type, difficulty 1..5), each
simulated and rounded exactly as the dataset generator writes it. Printed as JSON on stdout
(progress on stderr):

  * compact: tokens per object-frame of the format's frame text (header excluded, every frame the format
    can write: frames with a successor, and a predecessor when velocities are shown), mean and p95 over
    scenes, overall and per type; ``<unk>`` count;
  * verbose: the same frames in the *verbose reference rendering* below, tokenized by the same
    tokenizer, and the ratio verbose / compact (total tokens over total tokens, same frames);
  * fit_8192: share of scenes whose ``bos + header + 10 context frames + 1 predicted frame + eos``
    fits 8192 tokens, taking each scene's *worst* 11 consecutive frames; per difficulty, per type, and
    the (type, difficulty) cells that do not fit, with object counts and how many context frames would;
  * loss_mask: share of tokens with a label (not -100) in the windows ``cut_windows`` makes at 8192,
    and the share spent on bos + the header that every window repeats;
  * packing: non-pad share of ``pack_windows`` over all windows of the sample, at 8192 and at 2048
    (windows cut at 2048, then packed);
  * goals and whether each is met.

Verbose reference rendering (the style of the earlier attempt, DESIGN.md section 1): per frame a
line ``frame T``, then per object a line
``object 3: pos=(412.3456, 233.1234), vel=(12.3456, -45.6789), angle=0.1234, angvel=-0.0123``
with 4 decimals, from the scene's float arrays (px, px/s, rad, rad/s). PhysicsTokenizer knows none
of its words or punctuation: its pre-tokenizer makes each word one piece and every other character
(digit, ``.``, ``(``, ``=``, ...) its own piece, and each unknown piece becomes one ``<unk>`` token.
So every character is in exactly one token, an unknown word costs one token (as a common word does
in a BPE vocabulary), punctuation one token per character (a BPE may merge ``=(`` or ``, ``), and
``verbose.unk_tokens`` says how many ``<unk>`` there were. Coverage (the token offsets tile the text)
is checked on the first and last frame of every scene.

    python benchmarks/token_budget.py --per-cell 1     # 175 scenes (35 types), every format
    python benchmarks/token_budget.py --per-cell 2 --text-formats velocity_change displacement

(measured on this project's 2-vCPU machine; up to ~2.5x longer while other jobs load it. Most of the
time goes to tokenizing the verbose text, simulating, encoding the compact text and pack_windows.)
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import defaultdict

import numpy as np
from tqdm import tqdm

from physics_llm.generation import make_header, render_scene
from physics_llm.config import require, usage_error
from physics_llm.scenarios import resolve_scenario_types
from physics_llm.scene_format import Scene, parse_frames
from physics_llm.tokenization import (
    IGNORE_INDEX,
    build_physics_tokenizer,
    cut_windows,
    encode_scene,
    list_formats,
    pack_windows,
)
from physics_llm.tokenization.formats import check_format_flag

log = logging.getLogger("token_budget")

MAX_LEN = 8192
SHORT_LEN = 2048
CONTEXT_FRAMES = 10
PREDICTED_FRAMES = 1
DIFFICULTIES = range(1, 6)
GOALS = {"verbose_over_compact_min": 2.5, "fit_rate_difficulty_1_3": 1.0, "packing_efficiency_min": 0.95,
         "compact_tokens_per_object_frame_max": 32.0}  # the last: DESIGN.md 5.4, under half of ~64


def simulate_scene(scenario_type: str, index: int, seed: int, difficulty: int, frames: int) -> Scene:
    """A scene as the generator would write it (same rounding), parsed back, without touching disk."""
    lines = render_scene(make_header(scenario_type, index, seed, difficulty, frames)).splitlines()
    return parse_frames(json.loads(lines[0]), [json.loads(line) for line in lines[1:]])


def verbose_frame(scene: Scene, t: int) -> str:
    """Frame ``t`` in the verbose reference rendering (see the module docstring)."""
    rows = [f"frame {t}"]
    for i in range(scene.num_objects):
        (x, y), (vx, vy) = scene.pos[t, i], scene.vel[t, i]
        rows.append(f"object {i}: pos=({x:.4f}, {y:.4f}), vel=({vx:.4f}, {vy:.4f}), "
                    f"angle={scene.angle[t, i]:.4f}, angvel={scene.angvel[t, i]:.4f}")
    return "\n".join(rows) + "\n"


def covers_every_char(encoding, text: str) -> bool:
    """True if the token offsets tile ``text``: no character is dropped or shared."""
    pos = 0
    for start, end in encoding.offsets:
        if start != pos or end <= start:
            return False
        pos = end
    return pos == len(text)


def measure_verbose(tokenizer, scene: Scene, first: int, n_frames: int) -> dict:
    """Tokens of frames ``first .. first + n_frames - 1`` in the verbose reference rendering."""
    unk = tokenizer.unk_token_id
    texts = [verbose_frame(scene, t) for t in range(first, first + n_frames)]
    backend = tokenizer.backend_tokenizer
    verbose = backend.encode_batch_fast(texts, add_special_tokens=False)  # ids only, no offsets: faster
    checked = {0, n_frames - 1}
    covered = all(covers_every_char(backend.encode(texts[t], add_special_tokens=False), texts[t]) for t in checked)
    return {"verbose_tokens": sum(len(e.ids) for e in verbose), "verbose_unk": sum(e.ids.count(unk) for e in verbose),
            "verbose_chars_checked": sum(len(texts[t]) for t in checked), "verbose_covered": covered}


def measure_scene(tokenizer, scene: Scene, fmt, verbose: dict | None = None) -> dict:
    """Token counts of one scene in ``fmt``, its windows at both lengths and its fit for the 10+1 frame
    prompt; ``verbose``: :func:`measure_verbose` of the same frames (computed when None)."""
    q = fmt.quantize(scene)
    enc = encode_scene(tokenizer, q, fmt)  # segment by segment, as training does
    frame_lens = np.array([len(ids) for ids in enc.frame_ids])
    n_obj, n_frames = scene.num_objects, len(frame_lens)
    unk = tokenizer.unk_token_id
    compact_unk = enc.header_ids.count(unk) + sum(ids.count(unk) for ids in enc.frame_ids)
    verbose = verbose if verbose is not None else measure_verbose(tokenizer, scene, enc.first_frame, n_frames)

    specials = 2  # bos + eos
    fixed = specials + len(enc.header_ids)
    csum = np.concatenate([[0], np.cumsum(frame_lens)])

    def worst(k: int) -> int:  # the most tokens any k consecutive frames take
        return int((csum[k:] - csum[:-k]).max())

    span = CONTEXT_FRAMES + PREDICTED_FRAMES
    needed = fixed + worst(span)
    max_context = next((c for c in range(CONTEXT_FRAMES, -1, -1) if fixed + worst(c + PREDICTED_FRAMES) <= MAX_LEN),
                       None)
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    return {
        "objects": n_obj, "object_frames": n_obj * n_frames,
        "compact_tokens": int(frame_lens.sum()), "compact_unk": compact_unk, "header_tokens": len(enc.header_ids),
        **verbose,
        "prompt_tokens": needed, "fits": needed <= MAX_LEN, "max_context_frames": max_context,
        "windows": cut_windows(enc, MAX_LEN, bos, eos), "short_windows": cut_windows(enc, SHORT_LEN, bos, eos),
    }


def _stats(values: list[float]) -> dict:
    a = np.asarray(values, dtype=np.float64)
    return {"mean": round(float(a.mean()), 3), "p95": round(float(np.percentile(a, 95)), 3)}


def _share(num: int, den: int) -> float:
    return round(num / den, 4) if den else 0.0


def _packing(windows: list[dict], max_len: int, pad_id: int) -> dict:
    rows, efficiency = pack_windows(windows, max_len, pad_id)
    return {"max_len": max_len, "windows": len(windows), "rows": len(rows), "efficiency": round(efficiency, 4)}


def summarize(records: list[dict], pad_id: int) -> dict:
    """The JSON report from per-scene records (each with type, difficulty and ``measure_scene``'s keys)."""
    by_type = defaultdict(list)
    for r in records:
        by_type[r["type"]].append(r)
    tpof = lambda r, key: r[key] / r["object_frames"]  # noqa: E731 - tokens per object-frame of one scene
    compact_total = sum(r["compact_tokens"] for r in records)
    verbose_total = sum(r["verbose_tokens"] for r in records)
    object_frames = sum(r["object_frames"] for r in records)

    compact = {"tokens_per_object_frame": {**_stats([tpof(r, "compact_tokens") for r in records]),
                                           "pooled": round(compact_total / object_frames, 3)},
               "header_tokens": _stats([r["header_tokens"] for r in records]),
               "unk_tokens": sum(r["compact_unk"] for r in records),
               "per_type": {t: _stats([tpof(r, "compact_tokens") for r in rs]) for t, rs in by_type.items()}}
    verbose_unk = sum(r["verbose_unk"] for r in records)
    verbose = {"tokens_per_object_frame": {**_stats([tpof(r, "verbose_tokens") for r in records]),
                                           "pooled": round(verbose_total / object_frames, 3)},
               "unk_tokens": verbose_unk, "unk_share": _share(verbose_unk, verbose_total),
               "coverage": {"chars_checked": sum(r["verbose_chars_checked"] for r in records),
                            "every_char_in_a_token": all(r["verbose_covered"] for r in records)},
               "per_type": {t: _stats([tpof(r, "verbose_tokens") for r in rs]) for t, rs in by_type.items()}}
    ratio = {"pooled": round(verbose_total / compact_total, 3),
             "per_type": {t: round(sum(r["verbose_tokens"] for r in rs) / sum(r["compact_tokens"] for r in rs), 3)
                          for t, rs in by_type.items()}}
    ratio["min_per_type"] = min(ratio["per_type"].values())

    not_fitting = defaultdict(dict)
    for r in records:
        if not r["fits"]:
            cell = not_fitting[r["type"]].setdefault(str(r["difficulty"]), {
                "objects": [], "prompt_tokens": [], "max_context_frames": []})
            cell["objects"].append(r["objects"])
            cell["prompt_tokens"].append(r["prompt_tokens"])
            cell["max_context_frames"].append(r["max_context_frames"])
    fit = {"rule": f"bos + header + worst {CONTEXT_FRAMES} context + {PREDICTED_FRAMES} predicted frames + eos "
                   f"<= {MAX_LEN}",
           "overall": _share(sum(r["fits"] for r in records), len(records)),
           "per_difficulty": {str(d): _share(sum(r["fits"] for r in records if r["difficulty"] == d),
                                             sum(r["difficulty"] == d for r in records))
                              for d in sorted({r["difficulty"] for r in records})},
           "per_type": {t: _share(sum(r["fits"] for r in rs), len(rs)) for t, rs in by_type.items()},
           "max_prompt_tokens": max(r["prompt_tokens"] for r in records),
           "not_fitting": dict(not_fitting)}

    windows = [w for r in records for w in r["windows"]]
    short = [w for r in records for w in r["short_windows"]]
    labelled = sum(sum(lab != IGNORE_INDEX for lab in w["labels"]) for w in windows)
    window_tokens = sum(len(w["labels"]) for w in windows)
    header_tokens = sum(1 + r["header_tokens"] for r in records for _ in r["windows"])  # bos + header, per window
    loss_mask = {"max_len": MAX_LEN, "windows": len(windows),
                 "trained_token_share": _share(labelled, window_tokens),
                 "header_token_share": _share(header_tokens, window_tokens),
                 "scenes_without_window": sum(not r["windows"] for r in records)}
    packing = {str(MAX_LEN): _packing(windows, MAX_LEN, pad_id),
               str(SHORT_LEN): {**_packing(short, SHORT_LEN, pad_id),
                                "scenes_without_window": sum(not r["short_windows"] for r in records)}}

    low = [d for d in fit["per_difficulty"] if int(d) <= 3]
    met = {"verbose_over_compact": ratio["pooled"] >= GOALS["verbose_over_compact_min"],
           "fit_rate_difficulty_1_3": all(fit["per_difficulty"][d] >= GOALS["fit_rate_difficulty_1_3"] for d in low),
           f"packing_efficiency_{MAX_LEN}": packing[str(MAX_LEN)]["efficiency"] >= GOALS["packing_efficiency_min"],
           f"packing_efficiency_{SHORT_LEN}": packing[str(SHORT_LEN)]["efficiency"] >= GOALS["packing_efficiency_min"],
           "compact_tokens_per_object_frame": (compact["tokens_per_object_frame"]["mean"]
                                               <= GOALS["compact_tokens_per_object_frame_max"])}
    return {"compact": compact, "verbose": verbose, "verbose_over_compact": ratio, "fit_8192": fit,
            "loss_mask": loss_mask, "packing": packing, "goals": GOALS, "goals_met": met}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-cell", type=int, default=2, help="scenes per (type, difficulty) (default: 2)")
    p.add_argument("--seed", type=int, default=42, help="run seed (default: 42)")
    p.add_argument("--frames", type=int, default=200, help="frames per scene (default: 200)")
    p.add_argument("--scenario-types", nargs="+", default=None, metavar="TYPE",
                   help="types to sample (default: all registered)")
    p.add_argument("--text-formats", nargs="+", default=None, metavar="FORMAT",
                   help="text formats to measure, e.g. velocity_change displacement:pos_scale=10 (default: every "
                        "registered format with its default parameters)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = build_parser().parse_args(argv)
    need = CONTEXT_FRAMES + PREDICTED_FRAMES + 1
    try:
        types = resolve_scenario_types(args.scenario_types)
        require(args.per_cell >= 1, f"--per-cell must be >= 1, got {args.per_cell}")
        require(args.frames >= need, f"--frames must be >= {need} (10 context + 1 predicted + its successor), "
                                     f"got {args.frames}")
        formats = [check_format_flag(f, "--text-formats") for f in (args.text_formats or list_formats())]
    except ValueError as e:
        return usage_error(e)

    start = time.perf_counter()
    tokenizer = build_physics_tokenizer()
    # index = (difficulty - 1) + 5 k: the indices the dataset generator gives these difficulties
    cells = [(name, d, (d - 1) + 5 * k) for name in types for d in DIFFICULTIES for k in range(args.per_cell)]
    records, errors = {str(f): [] for f in formats}, []
    for name, d, index in tqdm(cells, desc="scenes", unit="scene", disable=args.quiet):
        try:
            scene = simulate_scene(name, index, args.seed, d, args.frames)
        except Exception as e:  # a generator bug: name the scene, report it, measure the rest
            log.warning("%s difficulty %d index %d: %s: %s", name, d, index, type(e).__name__, e)
            errors.append({"type": name, "difficulty": d, "index": index, "error": f"{type(e).__name__}: {e}"})
            continue
        # the verbose rendering of frames 1 .. T-2 (the frames every format writes): one reference for all
        verbose = measure_verbose(tokenizer, scene, 1, scene.num_frames - 2)
        for fmt in formats:
            enc_first = fmt.first_frame
            v = verbose if enc_first == 1 else measure_verbose(tokenizer, scene, 0, scene.num_frames - 1)
            records[str(fmt)].append({"type": name, "difficulty": d, **measure_scene(tokenizer, scene, fmt, v)})
    if not any(records.values()):
        sys.stderr.write("error: no scene could be generated\n")
        return 1
    log.info("packing windows ...")
    first = next(iter(records.values()))
    report = {"sample": {"scenario_types": len(types), "difficulties": list(DIFFICULTIES), "per_cell": args.per_cell,
                         "seed": args.seed, "frames_per_scene": args.frames, "scenes": len(first),
                         "object_frames": sum(r["object_frames"] for r in first), "generation_errors": errors},
              "tokenizer": {"name": "PhysicsTokenizer", "vocab_size": len(tokenizer)},
              "formats": {name: summarize(recs, tokenizer.pad_token_id) for name, recs in records.items()}}
    report["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
