"""Dataset generation: (seed, scenario type, index) -> one scene file, in parallel, resumable.

Every scene depends only on (``seed``, type, index) and the run's frame count and difficulty
range, never on worker count, job order or timing, so a dataset is byte-identical however it was
produced. Files are written atomically; a re-run skips complete files and regenerates anything
else (partial files, stale temp files, files from different settings).
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pymunk
from tqdm import tqdm

from physics_llm.scenarios import build_scene_spec, list_scenarios, resolve_scenario_types
from physics_llm.scene_format import FORMAT_VERSION, encode_frames, encode_header, scene_filename, write_text_atomic
from physics_llm.simulation import simulate

log = logging.getLogger(__name__)

HEADER_ORDER = ("format", "scenario_type", "category", "difficulty", "seed", "index", "engine", "dt", "substeps",
                "iterations", "damping", "gravity", "canvas", "num_frames", "closed", "objects", "static",
                "constraints", "forces")


def scene_seed(seed: int, scenario_type: str, index: int) -> int:
    """A 63-bit seed from (run seed, type, index) alone, stable across Python versions and platforms."""
    digest = hashlib.blake2b(f"{seed}/{scenario_type}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def scene_difficulty(index: int, difficulty_range: tuple[int, int]) -> int:
    """Difficulties cycle through the range so every level gets an equal share of scenes."""
    lo, hi = difficulty_range
    return lo + index % (hi - lo + 1)


def make_header(scenario_type: str, index: int, seed: int, difficulty: int, num_frames: int) -> dict:
    s = scene_seed(seed, scenario_type, index)
    spec = build_scene_spec(scenario_type, random.Random(s), difficulty)
    spec.update(format=FORMAT_VERSION, seed=s, index=index, engine=f"pymunk {pymunk.version}", num_frames=num_frames)
    missing = set(HEADER_ORDER) - spec.keys()
    if missing:
        raise ValueError(f"{scenario_type}: header lacks {sorted(missing)}")
    return {k: spec[k] for k in HEADER_ORDER}


def render_scene(header: dict) -> str:
    """The complete file text for a header: header line + one line per simulated frame."""
    states = simulate(header)
    lines = [encode_header(header)]
    lines.extend(encode_frames(states))
    return "\n".join(lines) + "\n"


def generate_scene_text(scenario_type: str, index: int, seed: int, difficulty: int, num_frames: int) -> str:
    return render_scene(make_header(scenario_type, index, seed, difficulty, num_frames))


# --------------------------------------------------------------------------- a whole run


@dataclass
class GenerationConfig:
    output_dir: str
    num_scenes_per_type: int = 100
    scenario_types: list[str] = field(default_factory=list_scenarios)
    num_workers: int = 1
    seed: int = 42
    frames_per_scene: int = 200
    difficulty_range: tuple[int, int] = (1, 5)
    num_shards: int = 1
    shard_index: int = 0

    def check(self) -> None:
        """Raise ``ValueError`` naming the offending flag."""
        if len(self.difficulty_range) != 2:
            raise ValueError(f"--difficulty-range takes MIN MAX, got {self.difficulty_range}")
        self.difficulty_range = (int(self.difficulty_range[0]), int(self.difficulty_range[1]))
        if isinstance(self.scenario_types, str):
            self.scenario_types = self.scenario_types.split()
        self.scenario_types = resolve_scenario_types(self.scenario_types)
        if self.num_scenes_per_type < 0:
            raise ValueError(f"--num-scenes-per-type must be >= 0, got {self.num_scenes_per_type}")
        if self.num_workers < 1:
            raise ValueError(f"--num-workers must be >= 1, got {self.num_workers}")
        if self.frames_per_scene < 2:
            raise ValueError(f"--frames-per-scene must be >= 2, got {self.frames_per_scene}")
        lo, hi = self.difficulty_range
        if not (1 <= lo <= hi <= 5):
            raise ValueError(f"--difficulty-range must satisfy 1 <= MIN <= MAX <= 5, got {lo} {hi}")
        if self.num_shards < 1 or not 0 <= self.shard_index < self.num_shards:
            raise ValueError(f"--shard-index must be in [0, --num-shards), got {self.shard_index} of {self.num_shards}")


@dataclass(frozen=True)
class _Job:
    scenario_type: str
    index: int
    path: str


@dataclass
class GenerationSummary:
    scenes_written: int = 0
    scenes_skipped: int = 0
    objects: int = 0
    object_frames: int = 0
    bytes: int = 0
    seconds: float = 0.0

    @property
    def bytes_per_object_frame(self) -> float:
        return self.bytes / max(self.object_frames, 1)

    @property
    def scenes_per_second(self) -> float:
        return self.scenes_written / max(self.seconds, 1e-9)


def _is_complete(path: Path, cfg: GenerationConfig, job: _Job) -> bool:
    """A finished file has a header matching this run's settings and exactly num_frames frame lines
    ending in a newline. Anything else is regenerated."""
    try:
        text = path.read_text(encoding="utf-8")
        header = json.loads(text[: text.index("\n")])
    except (OSError, ValueError):
        return False
    expected = (scene_seed(cfg.seed, job.scenario_type, job.index),
                scene_difficulty(job.index, cfg.difficulty_range), cfg.frames_per_scene)
    if (header.get("seed"), header.get("difficulty"), header.get("num_frames")) != expected:
        return False
    return text.endswith("\n") and text.count("\n") == cfg.frames_per_scene + 1


def _run_job(args: tuple[_Job, GenerationConfig]) -> tuple[int, int, int]:
    job, cfg = args
    try:
        text = generate_scene_text(job.scenario_type, job.index, cfg.seed,
                                   scene_difficulty(job.index, cfg.difficulty_range), cfg.frames_per_scene)
    except Exception as e:  # name the scene: a NaN or a generator bug must be reproducible
        raise RuntimeError(f"{job.scenario_type} scene {job.index} (seed {cfg.seed}): {type(e).__name__}: {e}") from e
    write_text_atomic(Path(job.path), text)
    num_objects = len(json.loads(text[: text.index("\n")])["objects"])
    return num_objects, num_objects * cfg.frames_per_scene, len(text.encode())


def plan_jobs(cfg: GenerationConfig) -> list[_Job]:
    """All (type, index) jobs of this shard, in a fixed global order."""
    out = Path(cfg.output_dir)
    jobs = [_Job(t, i, str(out / t / scene_filename(i))) for t in cfg.scenario_types
            for i in range(cfg.num_scenes_per_type)]
    return jobs[cfg.shard_index::cfg.num_shards]


def run_generation(cfg: GenerationConfig, progress: bool = True) -> GenerationSummary:
    cfg.check()
    out = Path(cfg.output_dir)
    for t in cfg.scenario_types:
        (out / t).mkdir(parents=True, exist_ok=True)
        for stale in (out / t).glob(".scene_*.tmp"):  # left by an interrupted run
            stale.unlink()
    suffix = "" if cfg.num_shards == 1 else f".shard{cfg.shard_index:03d}-of-{cfg.num_shards:03d}"
    config_record = {**asdict(cfg), "format": FORMAT_VERSION, "engine": f"pymunk {pymunk.version}"}
    write_text_atomic(out / f"generation_config{suffix}.json", json.dumps(config_record, indent=2) + "\n")

    jobs = plan_jobs(cfg)
    todo = [j for j in jobs if not _is_complete(Path(j.path), cfg, j)]
    summary = GenerationSummary(scenes_skipped=len(jobs) - len(todo))
    if summary.scenes_skipped:
        log.info("resuming: %d of %d scenes already complete", summary.scenes_skipped, len(jobs))
    start = time.perf_counter()
    bar = tqdm(total=len(todo), desc="generating scenes", unit="scene", disable=not progress)
    work = ((j, cfg) for j in todo)
    if cfg.num_workers == 1:
        results = map(_run_job, work)
        pool = None
    else:
        pool = mp.get_context("spawn").Pool(cfg.num_workers)
        results = pool.imap_unordered(_run_job, work, chunksize=1)
    try:
        for n_obj, n_obj_frames, n_bytes in results:
            summary.scenes_written += 1
            summary.objects += n_obj
            summary.object_frames += n_obj_frames
            summary.bytes += n_bytes
            bar.update()
        if pool is not None:
            pool.close()
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()  # no-op after close(); stops workers on Ctrl-C or an error
            pool.join()
    summary.seconds = time.perf_counter() - start
    return summary
