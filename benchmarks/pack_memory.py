"""Peak memory of Parquet packing against the size of the data packed.

Generates --num-scenes scenes (real settings: 200 frames, difficulty 1..5, all scenario types)
in a child process, or takes an existing --data-dir, then packs (physics_llm.packing.pack_directory)
the first --subset share of every type and then all of it, each in a fresh child process, and
prints JSON: per run scenes, bytes in (JSONL) and out (Parquet), seconds, the process's peak RSS
(ru_maxrss) after imports and after packing, the growth, and the largest row group. Packing holds
one row group at a time, so the growth follows the largest row group (plus a fixed cost of
pyarrow's writer and memory pool), not the size of the dataset.

    python benchmarks/pack_memory.py                                   # 3000 generated scenes
    python benchmarks/pack_memory.py --data-dir data_scenarios/train   # an existing dataset
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import tempfile
import math
import time
from pathlib import Path

import pyarrow.parquet as pq

from physics_llm.generation import GenerationConfig, run_generation
from physics_llm.packing import pack_directory
from physics_llm.scenarios import list_scenarios


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _generate(out: str, num_scenes: int, workers: int, seed: int) -> None:
    types = list_scenarios()
    cfg = GenerationConfig(output_dir=out, num_scenes_per_type=-(-num_scenes // len(types)), scenario_types=types,
                           num_workers=workers, seed=seed)
    run_generation(cfg, progress=False)


def _subset(data_dir: Path, share: float, out: Path) -> Path:
    """Symlinks to the first ``share`` of each type's scenes (the numbering stays gap-free)."""
    for type_dir in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        files = sorted(type_dir.glob("scene_*.jsonl"))
        (out / type_dir.name).mkdir(parents=True)
        for f in files[:math.ceil(share * len(files))]:
            (out / type_dir.name / f.name).symlink_to(f.resolve())
    return out


def _pack(data_dir: str, out: str, rows_per_shard: int, row_group_size: int, conn) -> None:
    before = peak_rss_mb()  # after the imports
    start = time.perf_counter()
    s = pack_directory(data_dir, out, rows_per_shard, row_group_size, progress=False)
    seconds = time.perf_counter() - start
    after = peak_rss_mb()
    row_groups = [md.row_group(i).total_byte_size for md in (pq.read_metadata(Path(out) / f["file"]) for f in s.shards)
                  for i in range(md.num_row_groups)]
    conn.send({"scenes": s.scenes, "skipped": len(s.skipped), "shards": len(s.shards),
               "bytes_in_mb": round(s.bytes_in / 2**20, 1), "bytes_out_mb": round(s.bytes_out / 2**20, 1),
               "pack_seconds": round(seconds, 1), "peak_rss_mb_before_pack": round(before, 1),
               "peak_rss_mb_after_pack": round(after, 1), "rss_growth_mb": round(after - before, 1),
               "largest_row_group_mb": round(max(row_groups) / 2**20, 1)})  # uncompressed, Parquet metadata


def measure(data_dir: Path, out: Path, rows_per_shard: int, row_group_size: int) -> dict:
    """Pack in a fresh process, so that each run's peak RSS is its own."""
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_pack, args=(str(data_dir), str(out), rows_per_shard, row_group_size, send))
    child.start()
    result = recv.recv()
    child.join()
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--num-scenes", type=int, default=3000, help="scenes to generate (rounded up to whole types)")
    p.add_argument("--data-dir", help="pack this dataset instead of generating one")
    p.add_argument("--subset", type=float, default=0.1, help="share of each type packed in the first run")
    p.add_argument("--num-workers", type=int, default=2, help="generation processes")
    p.add_argument("--rows-per-shard", type=int, default=1000)
    p.add_argument("--row-group-size", type=int, default=100)
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data_dir, gen_seconds = args.data_dir, None
        if data_dir is None:
            data_dir = tmp / "scenes"
            start = time.perf_counter()
            child = mp.get_context("spawn").Process(target=_generate, args=(str(data_dir), args.num_scenes,
                                                                              args.num_workers, args.seed))
            child.start()
            child.join()
            if child.exitcode != 0:
                raise SystemExit(f"generation failed (exit {child.exitcode})")
            gen_seconds = round(time.perf_counter() - start, 1)
        data_dir = Path(data_dir)
        runs = [measure(_subset(data_dir, args.subset, tmp / "subset"), tmp / "packed_subset", args.rows_per_shard,
                        args.row_group_size),
                measure(data_dir, tmp / "packed_all", args.rows_per_shard, args.row_group_size)]
    small, full = runs
    print(json.dumps({
        "rows_per_shard": args.rows_per_shard, "row_group_size": args.row_group_size,
        "generation_seconds": gen_seconds, "subset": small, "all": full,
        "data_growth_factor": round(full["bytes_in_mb"] / small["bytes_in_mb"], 1),
        "rss_growth_factor": round(full["rss_growth_mb"] / small["rss_growth_mb"], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
