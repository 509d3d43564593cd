"""Dataset validation: schema, completeness, duplicates, and (optionally) physics + determinism.

Every problem is reported as ``path:line: message`` (line 1 is the header, frame ``t`` is on line
``t + 2``). A corrupt file never raises; it produces errors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from physics_llm.generation import render_scene
from physics_llm.physics_checks import PhysicsReport, physics_report
from physics_llm.scene_format import FORMAT_VERSION, FRAME_KEYS, HEADER_KEYS, is_finite_tree, parse_frames

log = logging.getLogger(__name__)

SCENE_RE = re.compile(r"^scene_(\d{8})\.jsonl$")
_SHAPE_FIELDS = {"circle": ("radius",), "box": ("size",), "poly": ("vertices",)}
_STATIC_FIELDS = {"segment": ("a", "b", "radius"), "circle": ("center", "radius"), "poly": ("vertices",)}


def _reject_constant(name: str):
    raise ValueError(f"non-finite number {name}")


def _loads(line: str):
    """json.loads that rejects NaN/Infinity (Python's json accepts them by default)."""
    return json.loads(line, parse_constant=_reject_constant)


@dataclass
class FileResult:
    path: str
    errors: list[tuple[int | None, str]] = field(default_factory=list)
    scenario_type: str | None = None
    seed: int | None = None
    content_hash: str | None = None
    num_objects: int = 0
    num_frames: int = 0
    num_bytes: int = 0
    physics: PhysicsReport | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, line: int | None, message: str) -> None:
        self.errors.append((line, message))

    def lines(self) -> list[str]:
        return [f"{self.path}:{line if line is not None else '-'}: {msg}" for line, msg in self.errors]


# --------------------------------------------------------------------------- schema


def check_header(header, res: FileResult) -> bool:
    """Check the header's structure; returns False if frames cannot be checked against it."""
    if not isinstance(header, dict):
        res.error(1, "header is not a JSON object")
        return False
    missing = [k for k in HEADER_KEYS if k not in header]
    if missing:
        res.error(1, f"header lacks keys {missing}")
        return False
    if header["format"] != FORMAT_VERSION:
        res.error(1, f"format {header['format']!r}, expected {FORMAT_VERSION!r}")
    if not isinstance(header["num_frames"], int) or header["num_frames"] < 1:
        res.error(1, f"num_frames must be a positive integer, got {header['num_frames']!r}")
        return False
    objects = header["objects"]
    if not isinstance(objects, list) or not objects:
        res.error(1, "objects must be a non-empty list")
        return False
    for i, obj in enumerate(objects):
        where = f"objects[{i}]"
        if not isinstance(obj, dict):
            res.error(1, f"{where} is not an object")
            return False
        need = ("id", "shape", "mass", "friction", "elasticity", "pos", "angle", "vel", "angvel")
        lacking = [k for k in need if k not in obj]
        if lacking or obj.get("shape") not in _SHAPE_FIELDS:
            res.error(1, f"{where}: lacks {lacking} or has unknown shape {obj.get('shape')!r}")
            return False
        if [k for k in _SHAPE_FIELDS[obj["shape"]] if k not in obj]:
            res.error(1, f"{where}: {obj['shape']} lacks {_SHAPE_FIELDS[obj['shape']]}")
            return False
        if obj["id"] != i:
            res.error(1, f"{where}: id {obj['id']} != position {i}")
        if not (isinstance(obj["mass"], (int, float)) and obj["mass"] > 0):
            res.error(1, f"{where}: mass must be > 0, got {obj['mass']!r}")
    for i, s in enumerate(header["static"]):
        if not isinstance(s, dict) or s.get("shape") not in _STATIC_FIELDS:
            res.error(1, f"static[{i}]: unknown or missing shape")
            return False
        if [k for k in (*_STATIC_FIELDS[s["shape"]], "friction", "elasticity") if k not in s]:
            res.error(1, f"static[{i}]: {s['shape']} lacks geometry or material fields")
            return False
    for i, c in enumerate(header["constraints"]):
        for key in ("a", "b"):
            ref = c.get(key) if isinstance(c, dict) else None
            if not isinstance(ref, int) or not -1 <= ref < len(objects):
                res.error(1, f"constraints[{i}].{key} = {ref!r} is not an object id or -1 (world)")
                return False
    if not is_finite_tree(header):
        res.error(1, "header holds a non-finite number")
    return True


def check_frame(frame, t: int, n: int, res: FileResult) -> bool:
    line = t + 2
    if not isinstance(frame, dict):
        res.error(line, "frame is not a JSON object")
        return False
    missing = [k for k in FRAME_KEYS if k not in frame]
    if missing:
        res.error(line, f"frame lacks keys {missing}")
        return False
    if frame["t"] != t:
        res.error(line, f"t = {frame['t']!r}, expected {t}")
    for key in ("pos", "vel"):
        v = frame[key]
        if not isinstance(v, list) or len(v) != n or any(not isinstance(p, list) or len(p) != 2 for p in v):
            res.error(line, f"{key} must be {n} [x, y] pairs")
            return False
    for key in ("angle", "angvel"):
        if not isinstance(frame[key], list) or len(frame[key]) != n:
            res.error(line, f"{key} must have {n} entries")
            return False
    values = [frame["pos"], frame["vel"], frame["angle"], frame["angvel"]]
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool)
               for group in values for item in group for x in (item if isinstance(item, list) else [item])):
        res.error(line, "non-numeric state value")
        return False
    return True


def validate_file(path: str | Path, check_physics: bool = False) -> FileResult:
    """Validate one scene file. With ``check_physics``: physics sanity measures and a
    re-simulation from the header that must reproduce the file byte for byte."""
    path = Path(path)
    res = FileResult(str(path))
    try:
        raw = path.read_bytes()
    except OSError as e:
        res.error(None, f"cannot read: {e}")
        return res
    res.num_bytes = len(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        res.error(None, f"not UTF-8: {e}")
        return res
    if not text:
        res.error(None, "empty file")
        return res
    if not text.endswith("\n"):
        res.error(text.count("\n") + 1, "file does not end with a newline (truncated?)")
    lines = text.splitlines()
    try:
        header = _loads(lines[0])
    except ValueError as e:
        res.error(1, f"header is not valid JSON: {e}")
        return res
    if not check_header(header, res):
        return res
    res.scenario_type, res.seed = header["scenario_type"], header["seed"]
    if path.parent.name != header["scenario_type"]:
        res.error(1, f"scenario_type {header['scenario_type']!r} but file is in directory {path.parent.name!r}")
    n = len(header["objects"])
    res.num_objects = n
    frames = []
    for t, line in enumerate(lines[1:]):
        try:
            frame = _loads(line)
        except ValueError as e:
            res.error(t + 2, f"invalid JSON: {e}")
            continue
        if check_frame(frame, t, n, res):
            frames.append(frame)
    res.num_frames = len(lines) - 1
    if res.num_frames != header["num_frames"]:
        res.error(None, f"{res.num_frames} frame lines, header says num_frames = {header['num_frames']}")
    res.content_hash = hashlib.sha1("\n".join(lines[1:]).encode()).hexdigest()
    if check_physics and res.ok:
        _check_physics(header, frames, text, res)
    return res


def _check_physics(header: dict, frames: list[dict], text: str, res: FileResult) -> None:
    try:
        expected = render_scene(header)
    except Exception as e:  # a header that pymunk rejects is a finding, not a crash
        res.error(1, f"cannot re-simulate header: {type(e).__name__}: {e}")
        return
    if expected != text:
        got, want = text.splitlines(), expected.splitlines()
        first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        res.error(first + 1, "re-simulation from the header differs from the stored frames (not deterministic)")
    scene = parse_frames(header, frames)
    res.physics = physics_report(header, scene.pos, scene.vel, scene.angvel)
    for problem in res.physics.problems(closed=bool(header.get("closed", True))):
        res.error(None, f"physics: {problem}")


# --------------------------------------------------------------------------- dataset


@dataclass
class DatasetReport:
    files: list[FileResult] = field(default_factory=list)
    dataset_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.dataset_errors and all(f.ok for f in self.files)

    def per_type(self) -> dict[str, dict]:
        """Summary figures per scenario type (physics figures only when checked)."""
        groups: dict[str, list[FileResult]] = defaultdict(list)
        for f in self.files:
            groups[Path(f.path).parent.name].append(f)
        out = {}
        for name, fs in sorted(groups.items()):
            obj_frames = sum(f.num_objects * f.num_frames for f in fs)
            row = {"files": len(fs), "failed": sum(not f.ok for f in fs),
                   "objects_min": min(f.num_objects for f in fs), "objects_max": max(f.num_objects for f in fs),
                   "bytes_per_object_frame": sum(f.num_bytes for f in fs) / max(obj_frames, 1)}
            reports = [f.physics for f in fs if f.physics is not None]
            if reports:
                row.update(
                    left_canvas_share=sum(r.left_canvas_share * r.num_objects for r in reports)
                    / sum(r.num_objects for r in reports),
                    moving_share=sum(r.moving_share for r in reports) / len(reports),
                    max_speed=max(r.max_speed for r in reports),
                    max_first_step_jump=max(r.first_step_jump for r in reports),
                    max_initial_overlap_px=max(r.initial_overlap_px for r in reports),
                )
            out[name] = row
        return out


def _validate_job(args: tuple[str, bool]) -> FileResult:
    return validate_file(*args)


def find_scene_files(data_dir: Path) -> tuple[list[Path], list[str]]:
    """Scene files under ``data_dir/<type>/`` and dataset-level errors (gaps, stray temp files)."""
    errors, files = [], []
    for type_dir in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        found = {}
        for p in sorted(type_dir.iterdir()):
            m = SCENE_RE.match(p.name)
            if m:
                found[int(m.group(1))] = p
            elif p.name.endswith(".tmp"):
                errors.append(f"{p}: leftover temp file from an interrupted run (re-run generation to clean up)")
        if found:
            gaps = sorted(set(range(max(found) + 1)) - found.keys())
            if gaps:
                shown = ", ".join(f"scene_{i:08d}.jsonl" for i in gaps[:5])
                errors.append(f"{type_dir}: {len(gaps)} missing scene files in the numbering ({shown}"
                              f"{', ...' if len(gaps) > 5 else ''})")
        files.extend(found[i] for i in sorted(found))
    return files, errors


def validate_dataset(data_dir: str | Path, check_physics: bool = False, num_workers: int = 1,
                     progress: bool = True) -> DatasetReport:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return DatasetReport(dataset_errors=[f"{data_dir}: not a directory"])
    files, errors = find_scene_files(data_dir)
    report = DatasetReport(dataset_errors=errors)
    if not files:
        report.dataset_errors.append(f"{data_dir}: no scene files found (expected <type>/scene_XXXXXXXX.jsonl)")
        return report
    jobs = [(str(p), check_physics) for p in files]
    desc = "validating (physics + re-simulation)" if check_physics else "validating"
    if num_workers > 1:
        with mp.get_context("spawn").Pool(num_workers) as pool:
            it = pool.imap(_validate_job, jobs, chunksize=4)
            report.files = list(tqdm(it, total=len(jobs), desc=desc, unit="file", disable=not progress))
    else:
        report.files = [_validate_job(j) for j in tqdm(jobs, desc=desc, unit="file", disable=not progress)]
    _check_duplicates(report)
    return report


def _check_duplicates(report: DatasetReport) -> None:
    by_seed, by_hash = defaultdict(list), defaultdict(list)
    for f in report.files:
        if f.seed is not None:
            by_seed[(f.scenario_type, f.seed)].append(f.path)
        if f.content_hash is not None:
            by_hash[f.content_hash].append(f.path)
    for (stype, seed), paths in by_seed.items():
        if len(paths) > 1:
            report.dataset_errors.append(f"duplicate seed {seed} ({stype}) in: {', '.join(paths)}")
    for paths in by_hash.values():
        if len(paths) > 1:
            report.dataset_errors.append(f"duplicate frame content in: {', '.join(paths)}")
