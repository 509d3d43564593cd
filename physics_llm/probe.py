"""Teacher-forced accuracy per predicted field, split by object state: "did it learn gravity?" as one number.

Every validation window (:func:`~physics_llm.tokenization.windows.scene_windows`) goes through the model once;
at every labelled position (the predicted parts) the argmax of the logits one position earlier is compared with
the true token. Tokens are mapped back to (frame, object, field): a field is *exactly right* when every token of
it (its sign and digits and the separator after it; the line end belongs to the last field) is. Object-frames
are classed by their ground-truth motion (:func:`object_states`), and the headline ``gravity_accuracy`` is the
share of free-flight object-frames (in scenes with gravity) whose vertical field is exactly right: in
``velocity_change`` that is the model writing the true change, ``-25`` (gravity at 0.01 px) give or take the
rounding of the stored positions (``-24 .. -26``), for an object nothing touches.

Rollout metrics (:mod:`physics_llm.evaluation`) mix everything a model can get wrong over a horizon; this probe
asks one frame at a time, with the true history, which kinds of motion the model has learned.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from physics_llm.packing import read_scene_ref
from physics_llm.tokenization.codec import QuantizedScene
from physics_llm.tokenization.formats import TextFormat
from physics_llm.tokenization.windows import IGNORE_INDEX, scene_windows, tokenize_segments

log = logging.getLogger(__name__)

STATES = ("rest", "free_flight", "contact")
REST, FREE_FLIGHT, CONTACT = range(3)
SPLITS = ("seen", "held_out")
ROUNDING_SLACK = 2  # state units: a change of three rounded positions is off the true change by less than 2
UNAFFECTED_FORCES = ("conveyor",)  # surface velocities act through contact only


def gravity_per_frame(header: dict, fmt: TextFormat) -> np.ndarray:
    """(2,) float: the header's gravity (px/s^2) as a velocity change per frame in the format's units."""
    return np.asarray(header["gravity"], np.float64) * fmt.pos_scale * float(header["dt"]) ** 2


def force_field_mask(header: dict) -> np.ndarray:
    """(N,) bool: objects a force field acts on (a force with ``objects`` None acts on all; conveyors, which
    act through contact with a static surface, are not counted)."""
    mask = np.zeros(len(header["objects"]), bool)
    for f in header.get("forces") or []:
        if f["type"] in UNAFFECTED_FORCES:
            continue
        if f.get("objects") is None:
            mask[:] = True
        else:
            mask[list(f["objects"])] = True
    return mask


def object_states(q: QuantizedScene, fmt: TextFormat) -> np.ndarray:
    """(T - 1, N) int: the state (index into :data:`STATES`) of every object in frames ``0 .. T-2``.

    From the ground truth in the format's integer units (``fmt.quantize``), with ``x`` the position and the
    unwrapped angle (mrad), ``v_t = x_t - x_{t-1}``, ``v_{t+1} = x_{t+1} - x_t`` and the change
    ``a = v_{t+1} - v_t`` (3 components: x, y, angle):

    - ``rest``: ``v_t`` and ``v_{t+1}`` are zero (both coordinates and the angle);
    - ``free_flight``: not at rest, every component of ``a`` within rounding of free flight,
      ``|a - (g_x, g_y, 0)| < 2`` units (:data:`ROUNDING_SLACK`), and no force field acts on the object
      (:func:`force_field_mask`). ``g`` is the header gravity per frame (:func:`gravity_per_frame`: -900 px/s^2
      at dt = 1/60 is -25 units at 0.01 px, -2.5 at 0.1 px). A change of three rounded positions is off the true
      change by less than 2 units: +-1 around an integer (``-24 .. -26`` at 0.01 px, a spinning body's angle
      ``-1 .. 1`` mrad), ``-1 .. -4`` around -2.5 at 0.1 px. Space damping below 1 slows a fast object by more
      than that (it counts as contact), and at 0.1 px a pendulum's small constraint force can hide in the slack;
    - ``contact``: everything else (collisions, resting contact that moves, constraints, force fields).

    Frame 0 (written only by formats without a shown velocity) has no ``v_0``: it takes frame 1's state
    (with only two frames, ``v_0`` reads as zero)."""
    fmt.check_scene(q)
    x = np.concatenate([q.pos, q.angle[..., None]], axis=-1).astype(np.int64)  # (T, N, 3)
    v = np.diff(x, axis=0)  # (T-1, N, 3): v[t-1] = x_t - x_{t-1}
    v_now = np.concatenate([np.zeros_like(v[:1]), v[:-1]], axis=0)  # (T-1, N, 3): v_t, zero at t = 0
    v_next = v  # (T-1, N, 3): v_{t+1}
    a = v_next - v_now
    g = np.round(gravity_per_frame(q.header, fmt), 6)  # -900 * 100 / 3600 is -25.000000000000004 in floats
    expected = np.array([g[0], g[1], 0.0])
    rest = ~(v_now.any(axis=-1) | v_next.any(axis=-1))
    free = (np.abs(a - expected) < ROUNDING_SLACK).all(axis=-1) & ~force_field_mask(q.header)[None, :]
    states = np.where(rest, REST, np.where(free, FREE_FLIGHT, CONTACT))
    if len(states) >= 2:
        states[0] = states[1]
    return states


def token_fields(tokenizer, ids: list[int]) -> list[tuple[int, int]]:
    """The fields (first, last; 0..2) each token of a predicted part's ``ids`` touches, from the decoded text:
    a character's field is the number of spaces before it (a space closes its field; the line end, after the
    second space, is the last field's). Single-character tokens touch one field; a BPE token such as ``" -2"``
    touches two. Raises ValueError if the ids do not decode back to a predicted part."""
    spans, prev = [], ""
    for j in range(len(ids)):
        text = tokenizer.decode(ids[:j + 1], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if not text.startswith(prev):
            raise ValueError(f"tokenizer decodes {ids} inconsistently: {prev!r} then {text!r}")
        piece, first = text[len(prev):], prev.count(" ")
        spans.append((min(first, 2), min(first + piece[:-1].count(" "), 2)))
        prev = text
    if prev.count(" ") != 2:
        raise ValueError(f"not a predicted part: {prev!r} (ids {ids})")
    return spans


class _Counts:
    """Object-frames, and how many of them had each field / the whole part exactly right."""

    def __init__(self):
        self.n, self.fields, self.parts = 0, np.zeros(3, np.int64), 0

    def add(self, ok: np.ndarray) -> None:
        self.n += 1
        self.fields += ok
        self.parts += bool(ok.all())

    def summary(self, names) -> dict:
        def share(k):
            return float(k) / self.n if self.n else None

        return {"object_frames": self.n, "field_accuracy": {f: share(k) for f, k in zip(names, self.fields)},
                "part_accuracy": share(self.parts)}


def _model_device(model) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def teacher_forced_accuracy(model, tokenizer, fmt: TextFormat, scene_paths: list[str | Path], max_len: int,
                            trained_types: list[str] | None = None, progress: bool = False) -> dict:
    """Per-field teacher-forced accuracy of ``model`` on the windows of ``scene_paths`` (module docstring).

    One forward pass per window (at most ``max_len`` tokens; no grad, eval mode, the model's device; the
    model returns ``.logits`` (1, L, vocab): about 1 GiB in bf16 for 8192 tokens of LFM2's 65k vocabulary).
    Returns a JSON-ready dict: ``text_format``, ``fields``,
    ``tokens`` (labelled tokens) and ``token_accuracy``; ``per_state``: for each of :data:`STATES`
    ``object_frames``, ``field_accuracy`` (per field name) and ``part_accuracy`` (all three fields right);
    ``per_split`` (only with ``trained_types``: a type not in it is ``held_out``), the same per split;
    ``per_type``: ``object_frames`` and ``part_accuracy``; ``gravity_accuracy``: over free-flight object-frames
    of scenes with non-zero gravity (``gravity_object_frames`` of them; a coasting ball in a zero-gravity
    scene is free flight but says nothing about gravity), the share whose vertical field (index 1) is exactly
    right; ``scenes``: evaluated count and skipped files. Shares are None without
    object-frames (or tokens)."""
    names = list(fmt.predicted_fields)
    per_state = {s: _Counts() for s in STATES}
    per_split = {sp: {s: _Counts() for s in STATES} for sp in SPLITS}
    per_type: dict[str, _Counts] = {}
    falling = _Counts()  # free flight in scenes with gravity: the headline
    falling_split = {sp: _Counts() for sp in SPLITS}
    fields_of: dict[str, list[tuple[int, int]]] = {}  # predicted part text -> token fields
    tokens = right = evaluated = 0
    skipped = []
    device, was_training = _model_device(model), model.training
    model.eval()
    try:
        for path in tqdm(scene_paths, desc="teacher-forced", unit="scene", disable=not progress):
            try:
                q = fmt.quantize(read_scene_ref(path))
                windows = scene_windows(path, tokenizer, max_len, fmt)
            except (OSError, ValueError, KeyError, TypeError) as e:
                log.warning("skipping %s: %s: %s", path, type(e).__name__, e)
                skipped.append({"scene": str(path), "reason": f"{type(e).__name__}: {e}"})
                continue
            if not windows:
                log.warning("skipping %s: the header and one frame exceed %d tokens", path, max_len)
                skipped.append({"scene": str(path), "reason": f"a frame does not fit {max_len} tokens"})
                continue
            evaluated += 1
            kind = q.header["scenario_type"]
            split = None if trained_types is None else ("seen" if kind in trained_types else "held_out")
            states = object_states(q, fmt)
            has_gravity = bool(np.any(np.asarray(q.header["gravity"], np.float64) != 0))
            for w in windows:
                correct = _window_correct(model, w["input_ids"], device)
                labelled = [p for p, lab in enumerate(w["labels"]) if lab != IGNORE_INDEX]
                tokens += len(labelled)
                right += sum(correct[p] for p in labelled)
                for t, i, ok in _object_frames(fmt, q, tokenizer, w, labelled, correct, fields_of):
                    state = STATES[states[t, i]]
                    per_state[state].add(ok)
                    if state == "free_flight" and has_gravity:
                        falling.add(ok)
                        if split is not None:
                            falling_split[split].add(ok)
                    if split is not None:
                        per_split[split][state].add(ok)
                    per_type.setdefault(kind, _Counts()).add(ok)
    finally:
        model.train(was_training)
    log.info("%d scenes, %d labelled tokens; %d skipped", evaluated, tokens, len(skipped))
    out = {"text_format": fmt.spec(), "fields": names, "tokens": tokens,
           "token_accuracy": right / tokens if tokens else None,
           "gravity_accuracy": falling.summary(names)["field_accuracy"][names[1]],
           "gravity_object_frames": falling.n,
           "per_state": {s: c.summary(names) for s, c in per_state.items()}}
    if trained_types is not None:
        out["per_split"] = {sp: {s: c.summary(names) for s, c in d.items()} for sp, d in per_split.items()}
        out["gravity_accuracy_per_split"] = {
            sp: {"object_frames": c.n, "accuracy": c.summary(names)["field_accuracy"][names[1]]}
            for sp, c in falling_split.items()}
    out["per_type"] = {k: {"object_frames": c.n, "part_accuracy": c.summary(names)["part_accuracy"]}
                       for k, c in sorted(per_type.items())}
    out["scenes"] = {"evaluated": evaluated, "skipped": skipped}
    return out


@torch.inference_mode()
def _window_correct(model, input_ids: list[int], device) -> list[bool]:
    """Per position p of one window: the argmax of the logits at p - 1 is token p (False at p = 0)."""
    ids = torch.tensor([input_ids], dtype=torch.long, device=device)  # (1, L)
    pred = model(input_ids=ids).logits[0, :-1].argmax(-1)  # (L-1,): the prediction of token p at p - 1
    return [False] + (pred == ids[0, 1:]).cpu().tolist()


def _object_frames(fmt: TextFormat, q: QuantizedScene, tokenizer, w: dict, labelled: list[int],
                   correct: list[bool], fields_of: dict):
    """Yield (frame t, object i, (3,) bool fields exactly right) for every predicted part of window ``w``, in
    sequence order; checks that the ``labelled`` positions hold exactly the parts' ids."""
    labels = w["labels"]
    frames = range(w["first_frame"], w["first_frame"] + w["num_frames"])
    parts = [[pred for _, pred in fmt.frame_segments(q, t)[1:]] for t in frames]
    distinct = list(dict.fromkeys(p for ps in parts for p in ps))
    ids_of = dict(zip(distinct, tokenize_segments(tokenizer, distinct)))
    k = 0
    for t, frame_parts in zip(frames, parts):
        for i, part in enumerate(frame_parts):
            ids = ids_of[part]
            where = labelled[k:k + len(ids)]
            k += len(ids)
            if [labels[p] for p in where] != ids:
                raise RuntimeError(f"{w.get('path')}: frame {t} object {i}: labels {[labels[p] for p in where]} "
                                   f"are not the ids {ids} of its predicted part {part!r}")
            if part not in fields_of:
                fields_of[part] = token_fields(tokenizer, ids)
            ok = np.ones(3, bool)
            for p, (lo, hi) in zip(where, fields_of[part]):
                if not correct[p]:
                    ok[lo:hi + 1] = False
            yield t, i, ok
    if k != len(labelled):
        raise RuntimeError(f"{w.get('path')}: {len(labelled) - k} labelled tokens after the last predicted part")


def _share(x) -> str:
    return f"{'-':>8}" if x is None else f"{x:8.1%}"


def accuracy_table(result: dict) -> str:
    """A short plain-text table of :func:`teacher_forced_accuracy`'s result: per state the object-frames,
    each field's and the whole part's accuracy; then the gravity accuracy (per split too, when there)."""
    names = result["fields"]
    lines = [f"{'state':12} {'obj-frames':>10} " + " ".join(f"{n:>8}" for n in names) + f" {'part':>8}"]
    for state, s in result["per_state"].items():
        fields = " ".join(_share(s["field_accuracy"][n]) for n in names)
        lines.append(f"{state:12} {s['object_frames']:>10} {fields} {_share(s['part_accuracy'])}")
    gravity = _share(result["gravity_accuracy"]).strip()
    lines.append(f"gravity accuracy (free flight in scenes with gravity, {names[1]} exactly right): {gravity} of "
                 f"{result['gravity_object_frames']} object-frames")
    for split, g in (result.get("gravity_accuracy_per_split") or {}).items():
        lines.append(f"  {split:9} {_share(g['accuracy']).strip()} of {g['object_frames']}")
    return "\n".join(lines)
