"""Scene <-> text: the format every model in this project reads and writes (docs/text_format.md).

All numbers are integers with declared units: positions and lengths in 0.1 px (``POS_SCALE``),
angles in mrad (``ANGLE_SCALE``), mass in 0.001 units, friction/elasticity in percent. A sign is
written only for negatives.

A frame is a marker line then one line per object, split into two parts::

    t 12
    0 4012 2377 -105|12 -25 3
    ^ forced: id, x, y, angle  ^ predicted: dx, dy, dangle to the next frame

The rollout harness writes the *forced* part (it knows ids and integrates positions itself); the
model writes only the *predicted* part, up to the newline. Integration is exact in integer units:
``next = current + displacement``. Angles are carried unwrapped by the harness and shown wrapped
into one turn (``ANGLE_PERIOD`` mrad), so the forced text stays short.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from physics_llm.scene_format import Scene

POS_SCALE = 10  # text units per px: 0.1 px
ANGLE_SCALE = 1000  # text units per rad: 1 mrad
ANGLE_PERIOD = 6283  # one turn in mrad, rounded: the wrap used for the forced angle
MASS_SCALE = 1000
MATERIAL_SCALE = 100  # friction / elasticity in percent
FORCED_END = "|"  # closes the forced part of an object line
LINE_END = "\n"  # closes the predicted part (the model's stop signal for one object)
FRAME_TAG = "t"
FRAMES_TAG = "frames"
# Every word the codec writes (the scratch tokenizer gives each one token; a test checks the list).
KEYWORDS = ("scene", "gravity", "damping", "static", "seg", "circle", "poly", "r", "f", "e", "objects", "ball",
            "box", "w", "h", "m", "norot", "joints", "pin", "pivot", "slide", "spring", "k", "c", "groove",
            "rotlimit", "rotspring", "motor", "forces", "central", "s", "soft", "on", "wind", "drag", "gust",
            "conveyor", FRAMES_TAG, FRAME_TAG)


def _i(x: float, scale: float = 1.0) -> int:
    return int(round(float(x) * scale))


def _p(x: float) -> str:
    return str(_i(x, POS_SCALE))


def _pts(points) -> str:
    return " ".join(f"{_p(x)} {_p(y)}" for x, y in points)


# --------------------------------------------------------------------------- header


def _material(spec: dict) -> str:
    return f"f {_i(spec['friction'], MATERIAL_SCALE)} e {_i(spec['elasticity'], MATERIAL_SCALE)}"


def _static_line(s: dict) -> str:
    if s["shape"] == "segment":
        geom = f"seg {_pts([s['a'], s['b']])} r {_p(s['radius'])}"
    elif s["shape"] == "circle":
        geom = f"circle {_pts([s['center']])} r {_p(s['radius'])}"
    else:
        geom = f"poly {len(s['vertices'])} {_pts(s['vertices'])} r {_p(s.get('radius', 0.0))}"
    return f"{geom} {_material(s)}"


def _object_line(o: dict) -> str:
    if o["shape"] == "circle":
        geom = f"ball r {_p(o['radius'])}"
    elif o["shape"] == "box":
        geom = f"box w {_p(o['size'][0])} h {_p(o['size'][1])}"
    else:
        geom = f"poly {len(o['vertices'])} {_pts(o['vertices'])}"
    extra = " norot" if o.get("fixed_rotation") else ""
    return f"{o['id']} {geom} m {_i(o['mass'], MASS_SCALE)} {_material(o)}{extra}"


def _joint_line(c: dict) -> str:
    kind, ab = c["type"], f"{c['a']} {c['b']}"
    if kind == "pin":
        return f"pin {ab} {_pts([c['anchor_a'], c['anchor_b']])}"
    if kind == "pivot":
        return f"pivot {ab} {_pts([c['pivot']])}"
    if kind == "slide":
        return f"slide {ab} {_pts([c['anchor_a'], c['anchor_b']])} {_p(c['min'])} {_p(c['max'])}"
    if kind == "spring":
        return (f"spring {ab} {_pts([c['anchor_a'], c['anchor_b']])} {_p(c['rest_length'])} "
                f"k {_i(c['stiffness'])} c {_i(c['damping'])}")
    if kind == "groove":
        return f"groove {ab} {_pts([c['groove_a'], c['groove_b'], c['anchor_b']])}"
    if kind == "rotary_limit":
        return f"rotlimit {ab} {_i(c['min'], ANGLE_SCALE)} {_i(c['max'], ANGLE_SCALE)}"
    if kind == "rotary_spring":
        return (f"rotspring {ab} {_i(c['rest_angle'], ANGLE_SCALE)} k {_i(c['stiffness'])} "
                f"c {_i(c['damping'])}")
    if kind == "motor":
        return f"motor {ab} {_i(c['rate'], ANGLE_SCALE)}"
    raise ValueError(f"text codec: unknown constraint type {kind!r}")


def _force_line(f: dict) -> str:
    kind = f["type"]
    targets = "" if f.get("objects") is None else " on " + " ".join(map(str, f["objects"]))
    if kind == "central":
        return f"central {_pts([f['center']])} s {_i(f['strength'])} soft {_p(f['softening'])}{targets}"
    if kind == "wind":
        return (f"wind {_pts([f['velocity']])} drag {_i(f['drag'], 1000)} gust {_p(f['gust_amplitude'])} "
                f"{_i(f['gust_period'], 1000)} {_i(f['gust_phase'], ANGLE_SCALE)}{targets}")
    if kind == "conveyor":
        return f"conveyor {f['static']} {_pts([f['velocity']])}"
    raise ValueError(f"text codec: unknown force type {kind!r}")


def render_header(header: dict) -> str:
    """The self-describing header, written once per example; ends with the ``frames`` line."""
    lines = [
        f"scene {header['scenario_type']}",
        f"gravity {_pts([header['gravity']])} damping {_i(header.get('damping', 1.0), 1000)}",
        f"static {len(header['static'])}", *(_static_line(s) for s in header["static"]),
        f"objects {len(header['objects'])}", *(_object_line(o) for o in header["objects"]),
        f"joints {len(header['constraints'])}", *(_joint_line(c) for c in header["constraints"]),
        f"forces {len(header['forces'])}", *(_force_line(f) for f in header["forces"]),
        FRAMES_TAG,
    ]
    return LINE_END.join(lines) + LINE_END


# --------------------------------------------------------------------------- frames


@dataclass
class QuantizedScene:
    """A scene in text units. ``pos``: (T, N, 2) int64 in 0.1 px; ``angle``: (T, N) int64 mrad,
    unwrapped. Displacements are exact differences of these integers."""

    header: dict
    pos: np.ndarray
    angle: np.ndarray

    @property
    def num_frames(self) -> int:
        return self.pos.shape[0]

    def displacement(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(dpos (N, 2), dangle (N,)) from frame t to t + 1."""
        return self.pos[t + 1] - self.pos[t], self.angle[t + 1] - self.angle[t]


def quantize(scene: Scene) -> QuantizedScene:
    pos = np.rint(scene.pos * POS_SCALE).astype(np.int64)
    angle = np.rint(scene.angle * ANGLE_SCALE).astype(np.int64)
    return QuantizedScene(scene.header, pos, angle)


def wrap_angle(a: int) -> int:
    """Unwrapped mrad -> the forced display value in [-3142, 3140]. The period is 6283 mrad, so the
    shown angle drifts 0.185 mrad per turn from the true one; the harness integrates the unwrapped
    angle, so this never feeds back into the state."""
    return (int(a) + ANGLE_PERIOD // 2 + 1) % ANGLE_PERIOD - (ANGLE_PERIOD // 2 + 1)


def frame_marker(t: int) -> str:
    return f"{FRAME_TAG} {t}{LINE_END}"


def forced_prefix(obj_id: int, pos, angle: int) -> str:
    """The part of an object line the harness writes: id, x, y (0.1 px), wrapped angle (mrad)."""
    return f"{obj_id} {int(pos[0])} {int(pos[1])} {wrap_angle(angle)}{FORCED_END}"


def predicted_part(dpos, dangle: int) -> str:
    """The part the model writes: displacement to the next frame, then the line end."""
    return f"{int(dpos[0])} {int(dpos[1])} {int(dangle)}{LINE_END}"


_PREDICTED_RE = re.compile(r"^\s*(-?\d+) (-?\d+) (-?\d+)\s*$")


def parse_predicted(text: str) -> tuple[int, int, int]:
    """``"dx dy da\\n"`` -> ints. Raises ValueError on anything else (the harness counts it)."""
    m = _PREDICTED_RE.match(text)
    if not m:
        raise ValueError(f"not a predicted part: {text!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def integrate(pos: np.ndarray, angle: np.ndarray, dpos: np.ndarray, dangle: np.ndarray):
    """Exact integer integration: the next frame's forced state."""
    return pos + dpos, angle + dangle


def frame_segments(q: QuantizedScene, t: int) -> list[tuple[str, str]]:
    """Frame ``t`` as (forced, predicted) text pairs: the marker line (forced, with an empty predicted
    part) then one pair per object. Needs frame t + 1 for the displacements."""
    dpos, dangle = q.displacement(t)
    out = [(frame_marker(t), "")]
    for i in range(q.pos.shape[1]):
        out.append((forced_prefix(i, q.pos[t, i], q.angle[t, i]), predicted_part(dpos[i], dangle[i])))
    return out


def render_frames(q: QuantizedScene, start: int, count: int) -> str:
    """Frames ``start .. start + count - 1`` as text (needs frame ``start + count``)."""
    if start < 0 or start + count >= q.num_frames:
        raise ValueError(f"frames {start}..{start + count - 1} need frame {start + count}; scene has {q.num_frames}")
    return "".join(f + p for t in range(start, start + count) for f, p in frame_segments(q, t))


# --------------------------------------------------------------------------- text -> scene


_OBJECT_LINE_RE = re.compile(r"^(\d+) (-?\d+) (-?\d+) (-?\d+)\|(-?\d+) (-?\d+) (-?\d+)$")


def parse_frames(text: str, num_objects: int) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse frame text back into integers: (frame indices, pos (F, N, 2), wrapped angle (F, N),
    dpos (F, N, 2), dangle (F, N)). Raises ValueError naming the bad line."""
    ts, pos, ang, dpos, dang = [], [], [], [], []
    lines = text.split(LINE_END)
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        head = lines[i].split(" ")
        if len(head) != 2 or head[0] != FRAME_TAG or not head[1].isdigit():
            raise ValueError(f"line {i + 1}: expected a frame marker 't N', got {lines[i]!r}")
        ts.append(int(head[1]))
        rows = lines[i + 1: i + 1 + num_objects]
        if len(rows) != num_objects:
            raise ValueError(f"frame {head[1]}: {len(rows)} object lines, expected {num_objects}")
        vals = []
        for k, row in enumerate(rows):
            m = _OBJECT_LINE_RE.match(row)
            if not m or int(m.group(1)) != k:
                raise ValueError(f"line {i + 2 + k}: bad object line {row!r}")
            vals.append([int(g) for g in m.groups()[1:]])
        vals = np.array(vals, dtype=np.int64)
        pos.append(vals[:, 0:2])
        ang.append(vals[:, 2])
        dpos.append(vals[:, 3:5])
        dang.append(vals[:, 5])
        i += 1 + num_objects
    return ts, np.array(pos), np.array(ang), np.array(dpos), np.array(dang)
