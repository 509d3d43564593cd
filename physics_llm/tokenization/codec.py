"""Scene header <-> text, units and quantisation: the parts every text format shares (docs/text_format.md).

How a *frame* is written (which numbers an object line carries, what the model predicts, how the harness
integrates) is a text format's business: :mod:`physics_llm.tokenization.formats`. This module writes the
self-describing header and holds the integer units.

All numbers are integers with declared units: header lengths in 0.1 px (``HEADER_POS_SCALE``), frame positions
in the format's unit (``QuantizedScene.pos_scale`` text units per px: 10 = 0.1 px, 100 = 0.01 px), angles in
mrad (``ANGLE_SCALE``), mass in 0.001 units, friction/elasticity in percent. A sign is written only for
negatives. Angles are carried unwrapped by the harness and shown wrapped into one turn (``ANGLE_PERIOD`` mrad),
so the forced text stays short.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physics_llm.scene_format import Scene

POS_SCALE = 10  # header text units per px (0.1 px); also the displacement format's frame unit
HEADER_POS_SCALE = POS_SCALE
DATA_POS_SCALE = 100  # the JSONL data stores positions at 0.01 px: no format can be finer
ANGLE_SCALE = 1000  # text units per rad: 1 mrad
ANGLE_PERIOD = 6283  # one turn in mrad, rounded: the wrap used for the forced angle
MASS_SCALE = 1000
MATERIAL_SCALE = 100  # friction / elasticity in percent
# At most 9999 units per predicted number: at 0.1 px 1000 px per frame, at 0.01 px 100 px (3x the validator's
# 2000 px/s speed limit at 60 fps; a velocity change up to 1.5x that), or 10 rad (the largest angle step in a
# sample of 418 generated scenes was 1209 mrad). Formats may set their own limit (TextFormat.max_digits). More
# digits only let an untrained model write absurd numbers (a random LFM2 wrote 6-digit displacements: 50,000 px
# errors).
MAX_DIGITS = 4
FORCED_END = "|"  # closes the forced part of an object line
LINE_END = "\n"  # closes the predicted part (the model's stop signal for one object)
FRAME_TAG = "t"
FRAMES_TAG = "frames"
WALL_SIDES = ("floor", "ceiling", "left", "right")
# Every word the codec writes (the scratch tokenizer gives each one token; a test checks the list).
KEYWORDS = ("scene", "gravity", "damping", "static", "seg", "circle", "poly", "r", "f", "e", "objects", "ball",
            "box", "w", "h", "m", "norot", "joints", "pin", "pivot", "slide", "spring", "k", "c", "groove",
            "rotlimit", "rotspring", "motor", "forces", "central", "s", "soft", "on", "wind", "drag", "gust",
            "conveyor", FRAMES_TAG, FRAME_TAG, "walls", *WALL_SIDES)


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


def wall_side(s: dict, canvas) -> str | None:
    """The canvas side (``"floor"`` ...) a static segment is the standard wall of, else None. A standard wall
    (``SceneBuilder.add_walls``) of radius r is a segment of thickness 2r just outside the canvas, its inner face
    on the canvas edge, reaching 2r past both corners."""
    if s["shape"] != "segment":
        return None
    w, h = canvas
    r = float(s["radius"])
    t = 2 * r
    ends = {"floor": ((-t, -r), (w + t, -r)), "ceiling": ((-t, h + r), (w + t, h + r)),
            "left": ((-r, -t), (-r, h + t)), "right": ((w + r, -t), (w + r, h + t))}
    got = (tuple(map(float, s["a"])), tuple(map(float, s["b"])))
    for side, (a, b) in ends.items():
        if all(abs(x - y) < 1e-6 for p, q in zip(got, (a, b)) for x, y in zip(p, q)):
            return side
    return None


def _static_lines(header: dict, walls: bool) -> list[str]:
    """One line per static shape; with ``walls``, runs of standard canvas walls of one radius and material
    become one ``walls r R f F e E <side>...`` line (about 130 fewer tokens than four ``seg`` lines)."""
    lines, run, key = [], [], None
    for s in header["static"]:
        side = wall_side(s, header["canvas"]) if walls else None
        k = None if side is None else (_p(s["radius"]), _material(s))
        if run and k != key:
            lines.append(f"walls r {key[0]} {key[1]} {' '.join(run)}")
            run = []
        if side is None:
            lines.append(_static_line(s))
        else:
            run.append(side)
        key = k
    if run:
        lines.append(f"walls r {key[0]} {key[1]} {' '.join(run)}")
    return lines


def render_header(header: dict, walls: bool = False) -> str:
    """The self-describing header, written once per example; ends with the ``frames`` line. ``walls``: write
    standard canvas walls as one ``walls`` line (:func:`wall_side`); ``static N`` still counts every shape."""
    lines = [
        f"scene {header['scenario_type']}",
        f"gravity {_pts([header['gravity']])} damping {_i(header.get('damping', 1.0), 1000)}",
        f"static {len(header['static'])}", *_static_lines(header, walls),
        f"objects {len(header['objects'])}", *(_object_line(o) for o in header["objects"]),
        f"joints {len(header['constraints'])}", *(_joint_line(c) for c in header["constraints"]),
        f"forces {len(header['forces'])}", *(_force_line(f) for f in header["forces"]),
        FRAMES_TAG,
    ]
    return LINE_END.join(lines) + LINE_END


# --------------------------------------------------------------------------- frames


@dataclass
class QuantizedScene:
    """A scene in text units. ``pos``: (T, N, 2) int64 in ``1 / pos_scale`` px; ``angle``: (T, N) int64 mrad,
    unwrapped. Displacements and velocities are exact differences of these integers."""

    header: dict
    pos: np.ndarray
    angle: np.ndarray
    pos_scale: int = POS_SCALE

    @property
    def num_frames(self) -> int:
        return self.pos.shape[0]

    @property
    def num_objects(self) -> int:
        return self.pos.shape[1]


def quantize(scene: Scene, pos_scale: int = POS_SCALE) -> QuantizedScene:
    """Positions to ``1 / pos_scale`` px (1, 10 or 100: the data holds 0.01 px), angles to mrad."""
    if pos_scale not in (1, 10, DATA_POS_SCALE):
        raise ValueError(f"pos_scale must be 1, 10 or {DATA_POS_SCALE} text units per px, got {pos_scale}")
    pos = np.rint(scene.pos * pos_scale).astype(np.int64)
    angle = np.rint(scene.angle * ANGLE_SCALE).astype(np.int64)
    return QuantizedScene(scene.header, pos, angle, pos_scale)


def wrap_angle(a: int) -> int:
    """Unwrapped mrad -> the forced display value in [-3142, 3140]. The period is 6283 mrad, so the
    shown angle drifts 0.185 mrad per turn from the true one; the harness integrates the unwrapped
    angle, so this never feeds back into the state."""
    return (int(a) + ANGLE_PERIOD // 2 + 1) % ANGLE_PERIOD - (ANGLE_PERIOD // 2 + 1)


def unwrap_near(a: int, reference: int) -> int:
    """A wrapped angle (as written in text) moved by whole turns to the value nearest ``reference``."""
    return int(a) + ANGLE_PERIOD * round((int(reference) - int(a)) / ANGLE_PERIOD)


def frame_marker(t: int) -> str:
    return f"{FRAME_TAG} {t}{LINE_END}"
