"""Validate a scene dataset: format and schema, missing or duplicate scenes, and with
--check-physics the physics sanity measures plus a re-simulation of every scene from its header
(which must reproduce the file byte for byte).

Example:
    python scripts/validate_dataset.py --data-dir data_scenarios/train --check-physics --verbose

Exit status: 0 if every check passed, 1 if anything failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from physics_llm.config import add_config_flag, parse_args_with_config
from physics_llm.validation import validate_dataset

log = logging.getLogger("validate_dataset")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_flag(p)
    p.add_argument("--data-dir", required=True, help="dataset root holding <type>/scene_*.jsonl")
    p.add_argument("--check-physics", action="store_true", help="re-simulate and measure physics sanity")
    p.add_argument("--verbose", action="store_true", help="one line per file, and the per-type table")
    p.add_argument("--num-workers", type=int, default=1, help="worker processes (default: 1)")
    p.add_argument("--json", metavar="PATH", help="also write the full report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _file_line(f) -> str:
    status = "OK  " if f.ok else "FAIL"
    line = f"{status} {f.path}: {f.num_objects} objects, {f.num_frames} frames"
    if f.physics is not None:
        p = f.physics
        line += (f", moving {p.moving_share:.0%}, left canvas {p.left_canvas_share:.0%}, max speed "
                 f"{p.max_speed:.0f} px/s, first-step jump {p.first_step_jump:.1f} px/s, "
                 f"overlap {p.initial_overlap_px:.2f} px, re-simulation identical")
    return line


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args_with_config(build_parser(), argv)
    if args.num_workers < 1:
        sys.stderr.write(f"error: --num-workers must be >= 1, got {args.num_workers}\n")
        return 2
    if not Path(args.data_dir).is_dir():
        sys.stderr.write(f"error: --data-dir {args.data_dir} is not a directory\n")
        return 2
    report = validate_dataset(args.data_dir, args.check_physics, args.num_workers, progress=not args.quiet)
    for f in report.files:
        if args.verbose:
            log.info(_file_line(f))
        for line in f.lines():
            log.error(line)
    for e in report.dataset_errors:
        log.error(e)
    table = report.per_type()
    if args.verbose:
        for name, row in table.items():
            log.info("%-16s %s", name, ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                                 for k, v in row.items()))
    n_bad = sum(not f.ok for f in report.files)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "ok": report.ok, "files": len(report.files), "failed_files": n_bad,
            "dataset_errors": report.dataset_errors, "per_type": table,
            "errors": [line for f in report.files for line in f.lines()],
        }, indent=2) + "\n", encoding="utf-8")
    checks = "schema, completeness, duplicates" + (", physics, re-simulation" if args.check_physics else "")
    if report.ok:
        log.info("OK: %d scene files passed (%s)", len(report.files), checks)
        return 0
    log.error("FAILED: %d of %d files failed, %d dataset-level problems (%s)", n_bad, len(report.files),
              len(report.dataset_errors), checks)
    return 1


if __name__ == "__main__":
    sys.exit(main())
