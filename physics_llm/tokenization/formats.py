"""Text formats: how a frame is written, what the model predicts, how the harness integrates (docs/text_format.md).

A :class:`TextFormat` is the one owner of a frame's text. Everything that writes, reads or integrates frame
text goes through it: training windows (:meth:`TextFormat.frame_segments`), the rollout harness
(:meth:`initial_state`, :meth:`forced_texts`, :meth:`parse_predicted`, :meth:`step`, :meth:`parse_free`),
constrained decoding (:attr:`grammar`), the baselines' units (:meth:`quantize`) and the examples file.
Formats are registered by name (:func:`register_format`) and recorded with every checkpoint
(``text_format.json``: name, version, parameters; :func:`save_format` / :func:`load_format`).

Each object line is a forced part the harness writes and a predicted part the model writes::

    displacement      0 4012 2377 -105|12 -25 3           forced: id x y angle | predicted: dx dy dangle
    velocity_change   0 4012 2377 -105 120 -250 3|0 -25 0  forced: id x y angle vx vy vangle | predicted: ax ay aangle
    velocity_next     0 4012 2377 -105 120 -250 3|120 -275 3   ... | predicted: the next vx vy vangle
    (at rest)         4 2000 115 0|0 0 0                  a zero velocity is not written: the forced part ends early
    (a ball)          2 624 1332 737 1021 0|0 -26 0       a circle's angle is not written (its angular velocity is)

In the velocity formats the dynamics (velocities, their changes, the harness state) are in ``1 / pos_scale`` px
(0.01 px by default: gravity is ``-25`` per frame, give or take the data's rounding) while the forced
*positions* are shown in ``1 / shown_pos_scale`` px (0.1 px by default, two tokens shorter per object: contacts
do not need more, and the harness keeps the exact position). Together with the rest shorthand (about a quarter
of object-frames are at rest), circles without their angle (an orientation no contact of a circle depends on)
and the ``walls`` header line this keeps the token budget (<= 32 tokens per object-frame, and header + 10
context + 1 predicted frame in 8192 tokens at difficulty 1-3; docs/text_format.md). Version 2 of both velocity
formats (version 1 wrote the circles' angle: the format ablation of benchmarks/README.md measured it).

The harness state of an object is its position, unwrapped angle and velocity (its last displacement,
``v_t = x_t - x_{t-1}``, exact integers in the format's units). One frame's update, exact in integers::

    displacement, velocity_next:   v' = predicted             x' = x + v'
    velocity_change:               v' = v + predicted         x' = x + v'

So in ``velocity_change`` predicting ``0 0 0`` is constant velocity and the free-flight target is gravity itself
(``-25`` per frame at 0.01 px; ``-24 .. -26`` in the data, whose positions are rounded to 0.01 px). A format
that shows the velocity needs frame ``t - 1`` to write frame ``t``: :attr:`first_frame` is 1, and a rollout
with ``K`` context frames shows frames ``1 .. K-2`` whole.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np

from physics_llm.scene_format import Scene
from physics_llm.tokenization.codec import (DATA_POS_SCALE, FORCED_END, LINE_END, MAX_DIGITS, POS_SCALE,
                                            QuantizedScene, frame_marker, quantize, render_header, unwrap_near,
                                            wrap_angle)

log = logging.getLogger(__name__)

FORMAT_FILE = "text_format.json"
LEGACY_FORMAT = "displacement"  # what a checkpoint without a format record was trained on
DEFAULT_FORMAT = "velocity_change"  # chosen by benchmarks/format_ablation.py (benchmarks/README.md)
TARGETS = ("displacement", "change")


@dataclass
class State:
    """The harness state of every object, integers in the format's units: ``pos`` (N, 2), ``angle`` (N,)
    unwrapped mrad, ``vel`` (N, 2) and ``angvel`` (N,), the last displacement (zero before the first frame);
    ``angle_shown`` (N,) bool: whose angle the forced part writes (None: every object's)."""

    pos: np.ndarray
    angle: np.ndarray
    vel: np.ndarray
    angvel: np.ndarray
    angle_shown: np.ndarray | None = None

    def copy(self) -> "State":
        shown = None if self.angle_shown is None else self.angle_shown.copy()
        return State(self.pos.copy(), self.angle.copy(), self.vel.copy(), self.angvel.copy(), shown)


@dataclass(frozen=True)
class TextFormat:
    """One text format (see the module docstring). ``pos_scale``: units per px of the harness state, the
    velocities and the predicted numbers (10 = 0.1 px, 100 = 0.01 px); ``show_velocity``: the forced part
    carries the velocity; ``target``: ``"displacement"`` (the predicted part is the next velocity) or
    ``"change"`` (its change); ``walls``: standard canvas walls as one header line; ``shown_pos_scale``: units of
    the forced positions (divides ``pos_scale``; None: the same); ``rest_shorthand``: a zero velocity is left out
    of the forced part; ``circle_angle``: write the angle of circles (False: a circle's orientation never enters
    its contacts, only its angular velocity does, so it is left out; the harness still integrates it);
    ``max_digits``: digit limit of a predicted number (the constrained-decoding grammar)."""

    name: str
    version: int
    pos_scale: int
    show_velocity: bool
    target: str
    walls: bool
    shown_pos_scale: int | None = None
    rest_shorthand: bool = False
    circle_angle: bool = True
    max_digits: int = MAX_DIGITS
    params: dict = field(default_factory=dict, compare=False)

    # ------------------------------------------------------------------ identity

    def spec(self) -> dict:
        """What a checkpoint records: ``{"name", "version", "params"}``; :func:`format_from_spec` inverts it."""
        return {"name": self.name, "version": self.version, "params": dict(self.params)}

    def __str__(self) -> str:
        return format_string(self.name, self.params)

    def __post_init__(self):
        if self.pos_scale not in (1, 10, DATA_POS_SCALE):
            raise ValueError(f"text format {self.name}: pos_scale must be 1, 10 or {DATA_POS_SCALE} text units per "
                             f"px (the data holds 0.01 px), got {self.pos_scale}")
        shown = self.shown_pos_scale or self.pos_scale
        if shown > self.pos_scale or self.pos_scale % shown:
            raise ValueError(f"text format {self.name}: shown_pos_scale {shown} must divide pos_scale {self.pos_scale}")
        if self.target not in TARGETS:
            raise ValueError(f"text format {self.name}: target must be one of {TARGETS}, got {self.target!r}")

    @property
    def _pos_ratio(self) -> int:
        """State units per shown position unit."""
        return self.pos_scale // (self.shown_pos_scale or self.pos_scale)

    @property
    def first_frame(self) -> int:
        """The first frame whose text can be written (a velocity needs the frame before)."""
        return 1 if self.show_velocity else 0

    @property
    def predicted_fields(self) -> tuple[str, str, str]:
        if self.target == "change":
            return ("ax", "ay", "aangle")
        return ("vx", "vy", "vangle") if self.show_velocity else ("dx", "dy", "dangle")

    @cached_property
    def grammar(self):
        """The character grammar of a predicted part (:class:`physics_llm.decoding.PartGrammar`)."""
        from physics_llm.decoding import PartGrammar  # decoding imports the codec: import it lazily

        return PartGrammar(self.max_digits)

    # ------------------------------------------------------------------ scenes and states

    def quantize(self, scene: Scene) -> QuantizedScene:
        """The scene in this format's integer units (the baselines and metrics read the same arrays)."""
        return quantize(scene, self.pos_scale)

    def check_scene(self, q: QuantizedScene) -> None:
        if q.pos_scale != self.pos_scale:
            raise ValueError(f"text format {self}: scene quantised at {q.pos_scale} units per px, the format uses "
                             f"{self.pos_scale} (quantise with TextFormat.quantize)")

    def angle_mask(self, header: dict) -> np.ndarray:
        """(N,) bool: the objects whose angle the forced part writes."""
        return np.array([self.circle_angle or o["shape"] != "circle" for o in header["objects"]], dtype=bool)

    def state_at(self, q: QuantizedScene, t: int) -> State:
        """Ground-truth state of frame ``t``; the velocity is ``x_t - x_{t-1}`` (zero at t = 0)."""
        self.check_scene(q)
        if t >= 1:
            vel, angvel = q.pos[t] - q.pos[t - 1], q.angle[t] - q.angle[t - 1]
        else:
            vel, angvel = np.zeros_like(q.pos[0]), np.zeros_like(q.angle[0])
        return State(q.pos[t].copy(), q.angle[t].copy(), vel.copy(), angvel.copy(), self.angle_mask(q.header))

    def initial_state(self, q: QuantizedScene, context: int) -> State:
        """The harness state after ``context`` ground-truth frames (frame ``context - 1``)."""
        if context < self.first_frame + 1:
            raise ValueError(f"text format {self}: needs at least {self.first_frame + 1} context frames")
        return self.state_at(q, context - 1)

    def targets(self, q: QuantizedScene, t: int) -> np.ndarray:
        """(N, 3) int64: the ground-truth predicted numbers of frame ``t`` (needs frame ``t + 1``)."""
        d = np.concatenate([q.pos[t + 1] - q.pos[t], (q.angle[t + 1] - q.angle[t])[:, None]], axis=1)
        if self.target == "change":
            s = self.state_at(q, t)
            d = d - np.concatenate([s.vel, s.angvel[:, None]], axis=1)
        return d.astype(np.int64)

    def step(self, state: State, predicted: np.ndarray) -> State:
        """Exact integer update of every object by its predicted numbers ``(N, 3)``."""
        p = np.asarray(predicted, dtype=np.int64)
        dv, da = p[:, :2], p[:, 2]
        if self.target == "change":
            vel, angvel = state.vel + dv, state.angvel + da
        else:
            vel, angvel = dv.copy(), da.copy()
        return State(state.pos + vel, state.angle + angvel, vel, angvel, state.angle_shown)

    # ------------------------------------------------------------------ text

    def header_text(self, header: dict) -> str:
        return render_header(header, walls=self.walls)

    def shown_position(self, v) -> int:
        """A state coordinate in the shown position unit, rounded half up (exact integer arithmetic)."""
        r = self._pos_ratio
        return int(v) if r == 1 else (2 * int(v) + r) // (2 * r)

    def forced_text(self, i: int, state: State) -> str:
        """Object ``i``'s forced part: ``id x y[ angle][ vx vy vangle]|`` (no velocity at rest with the shorthand,
        no angle where ``state.angle_shown`` says so)."""
        x, y = state.pos[i]
        s = f"{i} {self.shown_position(x)} {self.shown_position(y)}"
        if state.angle_shown is None or state.angle_shown[i]:
            s += f" {wrap_angle(state.angle[i])}"
        if self.show_velocity:
            vx, vy = (int(v) for v in state.vel[i])
            va = int(state.angvel[i])
            if not (self.rest_shorthand and vx == vy == va == 0):
                s += f" {vx} {vy} {va}"
        return s + FORCED_END

    def forced_texts(self, t: int, state: State) -> list[str]:
        """Frame ``t``'s forced segments: the marker line, then every object's forced part."""
        return [frame_marker(t)] + [self.forced_text(i, state) for i in range(len(state.pos))]

    @staticmethod
    def predicted_text(values) -> str:
        """A predicted part: three integers, then the line end."""
        a, b, c = (int(v) for v in values)
        return f"{a} {b} {c}{LINE_END}"

    def frame_segments(self, q: QuantizedScene, t: int) -> list[tuple[str, str]]:
        """Frame ``t`` as (forced, predicted) text pairs: the marker (empty predicted part), then one pair per
        object. Needs frames ``t - first_frame .. t + 1``."""
        if t < self.first_frame or t + 1 >= q.num_frames:
            raise ValueError(f"text format {self}: frame {t} needs frames {t - self.first_frame}..{t + 1}; "
                             f"the scene has {q.num_frames}")
        state, targets = self.state_at(q, t), self.targets(q, t)
        forced = self.forced_texts(t, state)
        return [(forced[0], "")] + [(forced[1 + i], self.predicted_text(targets[i])) for i in range(q.num_objects)]

    def frame_range(self, q: QuantizedScene) -> range:
        """Every frame whose text can be written (it has a predecessor when needed and a successor)."""
        return range(self.first_frame, q.num_frames - 1)

    def render_frames(self, q: QuantizedScene, start: int, count: int) -> str:
        """Frames ``start .. start + count - 1`` as text."""
        return "".join(f + p for t in range(start, start + count) for f, p in self.frame_segments(q, t))

    def scene_text(self, q: QuantizedScene) -> str:
        """Header and every frame: the text of a whole scene (e.g. to train a BPE tokenizer on)."""
        frames = self.frame_range(q)
        return self.header_text(q.header) + self.render_frames(q, frames.start, len(frames))

    # ------------------------------------------------------------------ parsing

    @cached_property
    def _predicted_re(self):
        return re.compile(r"^\s*(-?\d+) (-?\d+) (-?\d+)\s*$")

    def parse_predicted(self, text: str) -> tuple[int, int, int]:
        """``"a b c\\n"`` -> ints. Raises ValueError on anything else (the harness counts it)."""
        m = self._predicted_re.match(text)
        if not m:
            raise ValueError(f"not a predicted part: {text!r}")
        return int(m.group(1)), int(m.group(2)), int(m.group(3))

    @property
    def forced_numbers(self) -> int:
        """Numbers after the id in a full forced part: x, y, angle and, when shown, vx, vy, vangle."""
        return 6 if self.show_velocity else 3

    @staticmethod
    def line_regex(max_digits: int = 9) -> re.Pattern:
        """The shape of an object line: an id, signed numbers, ``|``, three predicted numbers (groups: id, the
        forced numbers as one string, the three predicted). How many forced numbers an object has is checked by
        :meth:`forced_values`."""
        num = rf"-?\d{{1,{max_digits}}}"
        return re.compile(rf"^(\d{{1,{max_digits}}})((?: {num})*)" + re.escape(FORCED_END)
                          + rf"({num}) ({num}) ({num})$")

    def forced_values(self, numbers: list[int], angle_shown: bool = True) -> tuple | None:
        """A forced part's numbers after the id -> ``(x, y, angle or None, (vx, vy, vangle) or None)``; None when
        their count does not fit the format (an omitted velocity reads as zeros; an omitted angle as None)."""
        base = 3 if angle_shown else 2
        full = base + (3 if self.show_velocity else 0)
        if len(numbers) == full:
            vel = tuple(numbers[base:]) if self.show_velocity else None
        elif self.show_velocity and self.rest_shorthand and len(numbers) == base:
            vel = (0, 0, 0)
        else:
            return None
        return numbers[0], numbers[1], (numbers[2] if angle_shown else None), vel

    def _parse_line(self, line: str, rx: re.Pattern, angle_shown) -> tuple[int, tuple, list[int]] | None:
        """(id, :meth:`forced_values`, predicted numbers) of a well-formed line, else None. ``angle_shown``: the
        (N,) mask of the state (None: every angle written)."""
        m = rx.match(line)
        if not m:
            return None
        i = int(m.group(1))
        shown = True if angle_shown is None else (bool(angle_shown[i]) if i < len(angle_shown) else True)
        values = self.forced_values([int(x) for x in m.group(2).split()], shown)
        return None if values is None else (i, values, [int(m.group(k)) for k in (3, 4, 5)])

    def parse_free(self, text: str, state: State) -> tuple[State, int]:
        """A frame the model wrote whole (free decoding) -> (next state, objects without a well-formed line).

        For each object the first well-formed line with its id gives the next state: the written position (in
        the shown unit, so a coarser shown unit loses the sub-unit part), angle (unwrapped next to the harness's
        angle; the harness's own where the format does not write it) and, when shown, velocity, updated by the
        written predicted numbers. An object without such a line keeps its state (one failure)."""
        n, r = len(state.pos), self._pos_ratio
        found: dict[int, tuple] = {}
        for line in text.split(LINE_END)[:-1]:  # complete lines only
            parsed = self._parse_line(line, self._free_re, state.angle_shown)
            if parsed is not None and parsed[0] < n:
                found.setdefault(parsed[0], parsed[1:])
        nxt, failures = state.copy(), 0
        for i in range(n):
            if i not in found:
                failures += 1
                continue
            (x, y, a, vel), predicted = found[i]
            angle = state.angle[i] if a is None else unwrap_near(a, state.angle[i])
            written = State(np.array([[x, y]], np.int64) * r, np.array([angle], np.int64),
                            state.vel[i:i + 1].copy(), state.angvel[i:i + 1].copy())
            if vel is not None:
                written.vel, written.angvel = np.array([vel[:2]], np.int64), np.array([vel[2]], np.int64)
            s = self.step(written, np.array([predicted], np.int64))
            nxt.pos[i], nxt.angle[i], nxt.vel[i], nxt.angvel[i] = s.pos[0], s.angle[0], s.vel[0], s.angvel[0]
        return nxt, failures

    @cached_property
    def _free_re(self):
        return self.line_regex(9)

    def parse_frames(self, text: str, num_objects: int, angle_shown=None) -> tuple[list[int], np.ndarray, np.ndarray]:
        """Frame text -> (frame indices, forced numbers (F, N, forced_numbers): shown positions, the angle
        wrapped (0 where not written), an omitted velocity as zeros; predicted numbers (F, N, 3)).
        ``angle_shown``: (N,) whose angle is written (:meth:`angle_mask`; None: every object's). Strict: raises
        ValueError naming the first bad line."""
        rx = self.line_regex(12)
        ts, forced, predicted = [], [], []
        lines = text.split(LINE_END)
        if lines and lines[-1] == "":
            lines.pop()
        i = 0
        while i < len(lines):
            head = lines[i].split(" ")
            if len(head) != 2 or head[0] != "t" or not head[1].isdigit():
                raise ValueError(f"line {i + 1}: expected a frame marker 't N', got {lines[i]!r}")
            ts.append(int(head[1]))
            rows = lines[i + 1: i + 1 + num_objects]
            if len(rows) != num_objects:
                raise ValueError(f"frame {head[1]}: {len(rows)} object lines, expected {num_objects}")
            f_rows, p_rows = [], []
            for k, row in enumerate(rows):
                parsed = self._parse_line(row, rx, angle_shown)
                if parsed is None or parsed[0] != k:
                    raise ValueError(f"line {i + 2 + k}: bad object line {row!r}")
                x, y, a, vel = parsed[1]
                f_rows.append([x, y, 0 if a is None else a, *(vel if self.show_velocity else ())])
                p_rows.append(parsed[2])
            forced.append(f_rows)
            predicted.append(p_rows)
            i += 1 + num_objects
        return ts, np.array(forced, dtype=np.int64), np.array(predicted, dtype=np.int64)


# --------------------------------------------------------------------------- registry

_FORMATS: dict[str, tuple[Callable[..., TextFormat], dict]] = {}


def register_format(name: str, **defaults):
    """Register a format factory under ``name``; ``defaults`` are its parameters (overridable by keyword)."""

    def wrap(factory: Callable[..., TextFormat]):
        if name in _FORMATS:
            raise ValueError(f"text format {name!r} registered twice")
        _FORMATS[name] = (factory, defaults)
        return factory

    return wrap


def list_formats() -> list[str]:
    return list(_FORMATS)


def get_format(name: str, **params) -> TextFormat:
    """The format ``name`` with ``params`` over its defaults. Raises ValueError naming what is unknown."""
    if name not in _FORMATS:
        raise ValueError(f"unknown text format {name!r}; known: {', '.join(_FORMATS)}")
    factory, defaults = _FORMATS[name]
    unknown = set(params) - set(defaults)
    if unknown:
        raise ValueError(f"text format {name!r} takes {sorted(defaults) or 'no parameters'}, got {sorted(unknown)}")
    full = {**defaults, **params}
    fmt = factory(**full)
    object.__setattr__(fmt, "params", full)
    return fmt


def format_string(name: str, params: dict) -> str:
    """``name`` or ``name:key=value,...`` (the ``--text-format`` syntax)."""
    return name + (":" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) if params else "")


def parse_format(text: str) -> TextFormat:
    """``"velocity_change"`` or ``"velocity_change:pos_scale=10"`` -> a format (integer parameters)."""
    name, _, rest = text.strip().partition(":")
    params = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or not value.strip().lstrip("-").isdigit():
            raise ValueError(f"text format {text!r}: parameters are key=integer, got {item!r}")
        params[key.strip()] = int(value)
    return get_format(name, **params)


def check_format_flag(text: str | None, flag: str = "--text-format") -> TextFormat | None:
    """:func:`parse_format` for a command-line value; errors name the flag (ValueError)."""
    if text is None:
        return None
    try:
        return parse_format(text)
    except ValueError as e:
        raise ValueError(f"{flag}: {e}") from None


def format_from_spec(spec: dict) -> TextFormat:
    """Inverse of :meth:`TextFormat.spec`; refuses a version this code does not write."""
    fmt = get_format(spec["name"], **spec.get("params", {}))
    if int(spec.get("version", fmt.version)) != fmt.version:
        raise ValueError(f"text format {spec['name']!r} version {spec['version']} was recorded; this code writes "
                         f"version {fmt.version}")
    return fmt


def save_format(directory: str | Path, fmt: TextFormat) -> Path:
    path = Path(directory) / FORMAT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fmt.spec(), indent=2) + "\n", encoding="utf-8")
    return path


def load_format(directory: str | Path) -> TextFormat:
    """The format a checkpoint recorded; a checkpoint without a record is read as ``displacement`` (the only
    format before records existed) with a warning."""
    path = Path(directory) / FORMAT_FILE
    if not path.exists():
        log.warning("%s has no %s: reading it as the %r format (checkpoints before text formats were "
                    "recorded)", directory, FORMAT_FILE, LEGACY_FORMAT)
        return get_format(LEGACY_FORMAT)
    return format_from_spec(json.loads(path.read_text(encoding="utf-8")))


def resolve_format(requested: str | TextFormat | None, checkpoint_dir: str | Path | None) -> TextFormat:
    """The format to evaluate with: the checkpoint's record; ``requested`` must agree with it (ValueError
    naming both otherwise). Without a checkpoint: ``requested``, else the default."""
    req = parse_format(requested) if isinstance(requested, str) else requested
    if checkpoint_dir is None:
        return req or get_format(DEFAULT_FORMAT)
    recorded = load_format(checkpoint_dir)
    if req is not None and req != recorded:
        raise ValueError(f"--text-format {req} does not match the checkpoint's {recorded} ({checkpoint_dir})")
    return recorded


@register_format("displacement", pos_scale=POS_SCALE)
def _displacement(pos_scale: int) -> TextFormat:
    """``id x y angle|dx dy dangle``: today's first format (checkpoints before format records)."""
    return TextFormat("displacement", 1, pos_scale, show_velocity=False, target="displacement", walls=False)


@register_format("velocity_change", pos_scale=100, shown_pos_scale=POS_SCALE)
def _velocity_change(pos_scale: int, shown_pos_scale: int) -> TextFormat:
    """``id x y angle vx vy vangle|ax ay aangle``: velocity forced, its change predicted."""
    return TextFormat("velocity_change", 2, pos_scale, show_velocity=True, target="change", walls=True,
                      shown_pos_scale=shown_pos_scale, rest_shorthand=True, circle_angle=False)


@register_format("velocity_next", pos_scale=100, shown_pos_scale=POS_SCALE)
def _velocity_next(pos_scale: int, shown_pos_scale: int) -> TextFormat:
    """``id x y angle vx vy vangle|vx' vy' vangle'``: velocity forced, the next velocity predicted."""
    return TextFormat("velocity_next", 2, pos_scale, show_velocity=True, target="displacement", walls=True,
                      shown_pos_scale=shown_pos_scale, rest_shorthand=True, circle_angle=False)
