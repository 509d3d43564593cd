"""Pack a scene directory into Parquet shards (one row per scene), or unpack shards back to JSONL.

Example:
    python scripts/pack_dataset.py --data-dir data_scenarios/train --output-dir data_packed/train
    python scripts/pack_dataset.py --unpack --data-dir data_packed/train --output-dir data_scenarios/unpacked

Packing writes <output-dir>/data/<split>-XXXXX-of-YYYYY.parquet (columns scene_id, scenario_type,
category, difficulty, seed, index, num_objects, num_frames, text = the exact file text) and
<output-dir>/pack_info.json. Load with
``datasets.load_dataset("parquet", data_files="<output-dir>/data/*.parquet", split="train")``, or pass
<output-dir> as --data-dir to the training scripts. Unpacking writes <output-dir>/<type>/scene_*.jsonl,
byte-identical to the packed files. Files with an unreadable header are skipped with a warning and
counted in pack_info.json.

Exit status: 0 on success, 2 on bad arguments (missing directory, no scenes).
"""

from __future__ import annotations

import argparse
import logging
import sys

from physics_llm.config import add_config_flag, parse_args_with_config, usage_error
from physics_llm.packing import pack_directory, unpack_parquet

log = logging.getLogger("pack_dataset")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_flag(p)
    p.add_argument("--data-dir", required=True, help="scene directory (<type>/scene_*.jsonl); with --unpack, "
                                                     "a packed directory")
    p.add_argument("--output-dir", required=True, help="where to write data/*.parquet and pack_info.json "
                                                       "(with --unpack: <type>/scene_*.jsonl)")
    p.add_argument("--rows-per-shard", type=int, default=1000, help="scenes per Parquet shard (default: 1000)")
    p.add_argument("--row-group-size", type=int, default=100,
                   help="scenes per row group: the unit held in memory when writing and reading (default: 100)")
    p.add_argument("--split", default="train", help="split name in the shard file names (default: train)")
    p.add_argument("--unpack", action="store_true", help="write the scenes of --data-dir's shards back as JSONL")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args_with_config(build_parser(), argv)
    try:
        if args.unpack:
            n = unpack_parquet(args.data_dir, args.output_dir, progress=not args.quiet)
            log.info("unpacked %d scenes to %s", n, args.output_dir)
            return 0
        s = pack_directory(args.data_dir, args.output_dir, args.rows_per_shard, args.row_group_size, args.split,
                           progress=not args.quiet)
    except ValueError as e:
        return usage_error(e)
    log.info("packed %d scenes (%d skipped) into %d shards in %s/data: %.1f MB of JSONL -> %.1f MB of Parquet; "
             "details in %s", s.scenes, len(s.skipped), len(s.shards), args.output_dir, s.bytes_in / 1e6,
             s.bytes_out / 1e6, s.info_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
