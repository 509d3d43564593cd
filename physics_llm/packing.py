"""Scene directories as Parquet shards (one row per scene), and back.

A packed dataset directory::

    <output-dir>/
      pack_info.json                      counts per type and difficulty, sizes, shards, source
      data/train-00000-of-00003.parquet   rows sorted by scene_id (type, then index)
      ...

Columns (``COLUMNS``): ``scene_id`` (``<type>/scene_XXXXXXXX``), ``scenario_type``, ``category``,
``difficulty``, ``seed``, ``index``, ``num_objects``, ``num_frames`` (frame lines actually in the
file) and ``text``, the exact UTF-8 text of the JSONL file: :func:`unpack_parquet` writes the files
back byte for byte. Readable by ``datasets.load_dataset("parquet", data_files=...)``, streaming too.

Memory is bounded by one row group (``row_group_size`` scenes): files are read one at a time and
written with ``pyarrow.parquet.ParquetWriter``. Same input and settings give identical shard bytes
(files sorted, no timestamps; the only writer metadata is pyarrow's version string).

Training reads a packed directory through *scene references* ``<shard path>::<scene_id>``
(:func:`packed_scene_records`, :func:`read_scene_ref`): the filter columns are read without the text,
and a scene is parsed from its row group, which is decoded once per process and kept while
consecutive references fall into it (the windows dataset is built in reference order).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from physics_llm.scene_format import FORMAT_VERSION, Scene, parse_frames, read_scene, write_text_atomic
from physics_llm.validation import find_scene_files

log = logging.getLogger(__name__)

PACK_FORMAT = "physics-llm-parquet/1"
PACK_INFO = "pack_info.json"
DATA_DIR = "data"
REF_SEP = "::"
SCENE_ID_RE = re.compile(r"[A-Za-z0-9_]+/scene_\d{8}")  # what unpacking accepts as a relative path
SCHEMA = pa.schema([
    ("scene_id", pa.string()), ("scenario_type", pa.string()), ("category", pa.string()),
    ("difficulty", pa.int8()), ("seed", pa.int64()), ("index", pa.int32()), ("num_objects", pa.int32()),
    ("num_frames", pa.int32()), ("text", pa.string()),
], metadata={"physics_llm": json.dumps({"pack_format": PACK_FORMAT, "scene_format": FORMAT_VERSION})})
COLUMNS = SCHEMA.names
FILTER_COLUMNS = [c for c in COLUMNS if c != "text"]


@dataclass
class PackSummary:
    scenes: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    shards: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    info_path: Path | None = None


def shard_name(split: str, i: int, n: int) -> str:
    return f"{split}-{i:05d}-of-{n:05d}.parquet"


def _header_row(path: Path, data_dir: Path) -> dict:
    """Filter columns from a file's header line; raises on an unreadable header."""
    with open(path, encoding="utf-8") as f:
        h = json.loads(f.readline())
    if not isinstance(h, dict):
        raise ValueError("header is not a JSON object")
    return {"scene_id": path.relative_to(data_dir).with_suffix("").as_posix(), "scenario_type": str(h["scenario_type"]),
            "category": str(h["category"]), "difficulty": int(h["difficulty"]), "seed": int(h["seed"]),
            "index": int(h["index"]), "num_objects": len(h["objects"])}


def _scan(data_dir: Path) -> tuple[list[tuple[Path, dict]], list[str]]:
    files, errors = find_scene_files(data_dir)
    for e in errors:
        log.warning("%s", e)
    good, bad = [], []
    for p in files:
        try:
            good.append((p, _header_row(p, data_dir)))
        except (OSError, ValueError, KeyError, TypeError) as e:
            bad.append(f"{p.relative_to(data_dir).as_posix()} ({type(e).__name__})")
    if bad:
        log.warning("skipping %d scene files with an unreadable header: %s%s", len(bad), ", ".join(bad[:3]),
                    ", ..." if len(bad) > 3 else "")
    return good, bad


def pack_directory(data_dir: str | Path, output_dir: str | Path, rows_per_shard: int = 1000,
                   row_group_size: int = 100, split: str = "train", progress: bool = True) -> PackSummary:
    """Pack ``data_dir/<type>/scene_*.jsonl`` into ``output_dir/data/<split>-XXXXX-of-YYYYY.parquet`` and
    write ``output_dir/pack_info.json``. Raises ``ValueError`` for a missing directory or no scenes."""
    data_dir, out = Path(data_dir), Path(output_dir)
    if rows_per_shard < 1 or row_group_size < 1:
        raise ValueError(f"--rows-per-shard and --row-group-size must be >= 1, got {rows_per_shard}, {row_group_size}")
    if not data_dir.is_dir():
        raise ValueError(f"--data-dir {data_dir} is not a directory")
    scenes, skipped = _scan(data_dir)
    if not scenes:
        raise ValueError(f"--data-dir {data_dir}: no readable scene files (expected <type>/scene_XXXXXXXX.jsonl)")
    n_shards = -(-len(scenes) // rows_per_shard)
    (out / DATA_DIR).mkdir(parents=True, exist_ok=True)
    summary = PackSummary(skipped=skipped)
    bar = tqdm(total=len(scenes), desc="packing scenes", unit="scene", disable=not progress)
    try:
        for s in range(n_shards):
            chunk = scenes[s * rows_per_shard:(s + 1) * rows_per_shard]
            name = shard_name(split, s, n_shards)
            summary.bytes_in += _write_shard(out / DATA_DIR / name, chunk, row_group_size, bar)
            size = (out / DATA_DIR / name).stat().st_size
            summary.shards.append({"file": f"{DATA_DIR}/{name}", "rows": len(chunk), "bytes": size})
            summary.bytes_out += size
    finally:
        bar.close()
    summary.scenes = len(scenes)
    keep = {Path(s["file"]).name for s in summary.shards}
    for stale in sorted((out / DATA_DIR).glob(f"{split}-*-of-*.parquet")):
        if stale.name not in keep:  # from an earlier pack with another shard count: would duplicate rows
            log.info("removing stale shard %s", stale)
            stale.unlink()
    summary.info_path = _write_pack_info(out, data_dir, split, scenes, summary, rows_per_shard, row_group_size)
    return summary


def _write_shard(path: Path, chunk: list[tuple[Path, dict]], row_group_size: int, bar) -> int:
    """One shard, written to a temp name and renamed. Returns the bytes of scene text it holds."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    bytes_in = 0
    try:
        with pq.ParquetWriter(tmp, SCHEMA, compression="zstd", write_statistics=FILTER_COLUMNS,
                              use_dictionary=FILTER_COLUMNS) as writer:
            for g in range(0, len(chunk), row_group_size):
                rows = []
                for p, row in chunk[g:g + row_group_size]:
                    raw = p.read_bytes()
                    text = raw.decode("utf-8")  # strict: the stored text must re-encode to the same bytes
                    bytes_in += len(raw)
                    lines = text.count("\n") + (not text.endswith("\n"))
                    rows.append({**row, "num_frames": max(lines - 1, 0), "text": text})
                    bar.update()
                writer.write_batch(pa.RecordBatch.from_pylist(rows, schema=SCHEMA), row_group_size=row_group_size)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return bytes_in


def _write_pack_info(out: Path, data_dir: Path, split: str, scenes, summary: PackSummary, rows_per_shard: int,
                     row_group_size: int) -> Path:
    """``pack_info.json``: shared fields plus one entry per split (packing another split keeps the others)."""
    path = out / PACK_INFO
    info = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    gen = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(data_dir.glob("generation_config*.json"))}
    info.update({"pack_format": PACK_FORMAT, "scene_format": FORMAT_VERSION, "columns": COLUMNS,
                 "generation_config": gen})
    info.setdefault("splits", {})[split] = {
        "source_dir": str(data_dir.resolve()), "scenes": summary.scenes,
        "scenes_per_type": dict(sorted(Counter(r["scenario_type"] for _, r in scenes).items())),
        "scenes_per_category": dict(sorted(Counter(r["category"] for _, r in scenes).items())),
        "scenes_per_difficulty": {str(k): v for k, v in sorted(Counter(r["difficulty"] for _, r in scenes).items())},
        "skipped": len(summary.skipped), "skipped_files": summary.skipped,
        "bytes_in": summary.bytes_in, "bytes_out": summary.bytes_out,
        "rows_per_shard": rows_per_shard, "row_group_size": row_group_size, "shards": summary.shards,
    }
    write_text_atomic(path, json.dumps(info, indent=2) + "\n")
    return path


# --------------------------------------------------------------------------- reading back


def find_shards(path: str | Path) -> list[Path]:
    """Parquet shards of a packed directory: ``path/data/*.parquet``, else ``path/*.parquet``, sorted."""
    path = Path(path)
    for d in (path / DATA_DIR, path):
        shards = sorted(d.glob("*.parquet")) if d.is_dir() else []
        if shards:
            return shards
    return []


def is_packed_dir(path: str | Path) -> bool:
    return bool(find_shards(path))


def iter_rows(parquet_dir: str | Path, columns: list[str] | None = None):
    """Rows (dicts) of every shard, one row group in memory at a time."""
    for shard in find_shards(parquet_dir):
        pf = pq.ParquetFile(shard)
        for g in range(pf.num_row_groups):
            yield from pf.read_row_group(g, columns=columns).to_pylist()


def unpack_parquet(parquet_dir: str | Path, out_dir: str | Path, progress: bool = False) -> int:
    """Write every packed scene back to ``out_dir/<scene_id>.jsonl`` (atomically, byte-identical to the
    packed file). Returns the number of files written."""
    out = Path(out_dir)
    if not find_shards(parquet_dir):
        raise ValueError(f"{parquet_dir}: no Parquet shards (expected data/*.parquet or *.parquet)")
    n = 0
    for row in tqdm(iter_rows(parquet_dir, ["scene_id", "text"]), desc="unpacking", unit="scene", disable=not progress):
        if not SCENE_ID_RE.fullmatch(row["scene_id"]):  # shards may come from elsewhere: no "../" paths
            raise ValueError(f"{parquet_dir}: invalid scene_id {row['scene_id']!r} (expected <type>/scene_XXXXXXXX)")
        path = out / f"{row['scene_id']}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, row["text"])
        n += 1
    return n


def packed_scene_records(parquet_dir: str | Path) -> list[tuple[str, str, int]]:
    """``(reference, scenario_type, difficulty)`` per packed scene, from the filter columns only."""
    records = []
    for shard in find_shards(parquet_dir):
        t = pq.read_table(shard, columns=["scene_id", "scenario_type", "difficulty"])
        for sid, typ, diff in zip(*(t.column(c).to_pylist() for c in ("scene_id", "scenario_type", "difficulty"))):
            records.append((f"{shard}{REF_SEP}{sid}", typ, int(diff)))
    return records


def ref_file(ref: str | Path) -> Path:
    """The file a scene path or reference lives in (what to ``stat`` for cache keys)."""
    return Path(str(ref).split(REF_SEP, 1)[0])


@lru_cache(maxsize=4)
def _shard_index(shard: str, pid: int) -> tuple[pq.ParquetFile, dict[str, tuple[int, int]]]:
    """Open shard and ``scene_id -> (row group, row)``; keyed by pid so forked workers open their own."""
    pf = pq.ParquetFile(shard)
    index = {}
    for g in range(pf.num_row_groups):
        for i, sid in enumerate(pf.read_row_group(g, columns=["scene_id"]).column(0).to_pylist()):
            index[sid] = (g, i)
    return pf, index


@lru_cache(maxsize=2)
def _row_group_texts(shard: str, group: int, pid: int) -> list[str]:
    pf, _ = _shard_index(shard, pid)
    return pf.read_row_group(group, columns=["text"]).column(0).to_pylist()


def read_scene_text(ref: str) -> str:
    shard, _, scene_id = str(ref).partition(REF_SEP)
    _, index = _shard_index(shard, os.getpid())
    if scene_id not in index:
        raise KeyError(f"{shard}: no scene {scene_id!r}")
    group, row = index[scene_id]
    return _row_group_texts(shard, group, os.getpid())[row]


def read_scene_ref(ref: str | Path) -> Scene:
    """:func:`~physics_llm.scene_format.read_scene` for a file path or a ``<shard>::<scene_id>`` reference."""
    if REF_SEP not in str(ref):
        return read_scene(ref)
    lines = read_scene_text(str(ref)).splitlines()
    if not lines:
        raise ValueError(f"{ref}: empty scene")
    return parse_frames(json.loads(lines[0]), [json.loads(line) for line in lines[1:]])
