"""The on-disk scene contract: one JSONL file per scene.

Line 1 is the header (a JSON object, see ``docs/data_format.md``); lines 2.. are one JSON
object per recorded frame::

    {"t":0,"pos":[[x,y],...],"angle":[a,...],"vel":[[vx,vy],...],"angvel":[w,...]}

Arrays follow the header's object order. Units: px, rad, px/s, rad/s; y points up.
Numbers are rounded to a fixed precision per field (``FRAME_DECIMALS``) and always written with
that many decimals (``12.50``, ``3.00``; never ``-0.00``), so a file is byte-identical whenever the
simulation is.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT_VERSION = "physics-llm-scene/1"

# Decimal places written for each frame field (fixed precision, documented in docs/data_format.md).
FRAME_DECIMALS = {"pos": 2, "angle": 3, "vel": 0, "angvel": 2}

HEADER_KEYS = (
    "format", "scenario_type", "category", "difficulty", "seed", "dt", "substeps", "gravity",
    "canvas", "num_frames", "objects", "static", "constraints", "forces",
)
FRAME_KEYS = ("t", "pos", "angle", "vel", "angvel")


def encode_frames(states: np.ndarray, start: int = 0) -> list[str]:
    """Frame lines (without newlines) from a ``(T, N, 6)`` array of x, y, angle, vx, vy, angvel.

    Every field is written with its fixed number of decimals (``FRAME_DECIMALS``) after
    ``numpy.round`` to that precision; adding ``0.0`` after rounding turns ``-0.0`` into ``0``, so a
    tiny negative value is written ``0.00``, never ``-0.00``. One C-level ``%`` format per frame:
    encoding must not cost more than the simulation of a small scene.
    """
    n_frames, n = states.shape[:2]
    dp, da, dv, dw = (FRAME_DECIMALS[k] for k in ("pos", "angle", "vel", "angvel"))
    fmt = ('{"t":%d,"pos":[' + ",".join([f"[%.{dp}f,%.{dp}f]"] * n)
           + '],"angle":[' + ",".join([f"%.{da}f"] * n)
           + '],"vel":[' + ",".join([f"[%.{dv}f,%.{dv}f]"] * n)
           + '],"angvel":[' + ",".join([f"%.{dw}f"] * n) + "]}")
    if not np.isfinite(states).all():
        raise ValueError("non-finite state (NaN/inf): the simulation blew up")
    cols = [np.round(states[..., c], d) + 0.0 for c, d in enumerate((dp, dp, da, dv, dv, dw))]
    rows = np.concatenate([
        np.arange(start, start + n_frames, dtype=np.float64)[:, None],
        np.stack(cols[0:2], axis=-1).reshape(n_frames, -1), cols[2],
        np.stack(cols[3:5], axis=-1).reshape(n_frames, -1), cols[5],
    ], axis=1)
    return [fmt % tuple(row) for row in rows.tolist()]


def encode_frame(t: int, state: np.ndarray) -> str:
    """One frame line from a ``(N, 6)`` state (see :func:`encode_frames`)."""
    return encode_frames(state[None], start=t)[0]


def encode_header(header: dict) -> str:
    """Compact, key-order-preserving JSON. Floats use Python's shortest round-trip repr, so the
    values read back are bit-identical to the ones the simulation used."""
    return json.dumps(header, separators=(",", ":"), allow_nan=False)


def scene_filename(index: int) -> str:
    return f"scene_{index:08d}.jsonl"


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temp file in the same directory, then rename: an interrupted process never leaves
    a partial file under the final name. No fsync (it cost as much as encoding): after a power loss
    the generator's resume check (header + frame count) still catches a file the OS did not flush."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)


@dataclass
class Scene:
    """A scene read back from disk. Arrays are float64, indexed ``[frame, object, ...]``."""

    header: dict
    pos: np.ndarray  # (T, N, 2) px
    angle: np.ndarray  # (T, N) rad
    vel: np.ndarray  # (T, N, 2) px/s
    angvel: np.ndarray  # (T, N) rad/s

    @property
    def num_objects(self) -> int:
        return len(self.header["objects"])

    @property
    def num_frames(self) -> int:
        return self.pos.shape[0]


def parse_frames(header: dict, frame_dicts: list[dict]) -> Scene:
    n = len(header["objects"])
    shape2 = (len(frame_dicts), n, 2)
    pos = np.asarray([f["pos"] for f in frame_dicts], dtype=np.float64).reshape(shape2)
    vel = np.asarray([f["vel"] for f in frame_dicts], dtype=np.float64).reshape(shape2)
    angle = np.asarray([f["angle"] for f in frame_dicts], dtype=np.float64).reshape(shape2[:2])
    angvel = np.asarray([f["angvel"] for f in frame_dicts], dtype=np.float64).reshape(shape2[:2])
    return Scene(header, pos, angle, vel, angvel)


def read_scene(path: str | Path) -> Scene:
    """Read a scene file written by the generator. Raises ``ValueError`` on malformed input;
    use :mod:`physics_llm.validation` for a line-by-line diagnosis."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    if not lines:
        raise ValueError(f"{path}: empty file")
    header = json.loads(lines[0])
    frames = [json.loads(line) for line in lines[1:]]
    return parse_frames(header, frames)


def is_finite_tree(value) -> bool:
    """True if every number inside a nested list/dict structure is finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(is_finite_tree(v) for v in value.values())
    if isinstance(value, list):
        return all(is_finite_tree(v) for v in value)
    return True
