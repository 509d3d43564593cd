"""Push a packed dataset or a checkpoint to the Hugging Face Hub, with a card generated from its files.

Example:
    python scripts/upload_to_hub.py --repo-id you/physics-scenes --path data_packed/train --dry-run
    python scripts/upload_to_hub.py --repo-id you/physics-gpt --path checkpoints/gpt-scratch/stage0 \
        --metrics evaluation_results/metrics.json --private

--path is a directory written by pack_dataset.py (kind dataset) or a checkpoint stage directory with
config.json or adapter_config.json (kind model); --kind overrides the guess. The card (README.md) is
built from pack_info.json, or from train_config.json / training_types.json / stage_complete.json and
--metrics. Only safetensors, json, txt, md, parquet and tokenizer files are pushed; pickles (.bin,
.pt), optimizer states and Trainer checkpoint-*/ folders are left out and listed.

The token comes from the environment only: HF_TOKEN, or a login stored by `hf auth login`. It is
never printed or written. --dry-run needs no token: it builds the staging folder, prints what would
be pushed and keeps the folder for inspection.

Exit status: 0 on success, 1 if the Hub refused or could not be reached, 2 on bad arguments or a
missing token.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import HFValidationError, validate_repo_id

from physics_llm import hub
from physics_llm.config import add_config_flag, parse_args_with_config, usage_error

log = logging.getLogger("upload_to_hub")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_flag(p)
    p.add_argument("--repo-id", required=True, help="Hub repository, owner/name")
    p.add_argument("--path", required=True, help="packed dataset directory or checkpoint directory to push")
    p.add_argument("--kind", choices=hub.KINDS, help="dataset or model (default: guessed from --path)")
    p.add_argument("--private", action="store_true", help="create the repository as private")
    p.add_argument("--metrics", help="metrics.json of run_evaluation.py, for the model card")
    p.add_argument("--staging-dir", help="empty folder to stage the upload in (default: a temporary folder, "
                                         "removed after the push and kept with --dry-run)")
    p.add_argument("--dry-run", action="store_true", help="stage and list what would be pushed; push nothing")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args_with_config(build_parser(), argv)
    src = Path(args.path)
    try:
        validate_repo_id(args.repo_id)
        if not src.is_dir():
            raise ValueError(f"--path {src} is not a directory")
        kind = args.kind or hub.infer_kind(src)
        metrics = None
        if args.metrics:
            if kind != "model":
                raise ValueError("--metrics is for model cards (--kind model)")
            try:
                metrics = json.loads(Path(args.metrics).read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise ValueError(f"--metrics {args.metrics}: {e}") from None
        if not args.dry_run and not hub.have_token():
            raise ValueError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (or use --dry-run)")
        staging = Path(args.staging_dir or tempfile.mkdtemp(prefix="physics_llm_hub_"))
        staged = hub.stage_folder(src, kind, staging, args.repo_id, metrics)
    except (ValueError, HFValidationError) as e:
        return usage_error(e)

    log.info("%s %s (%s%s): %d files, %.1f MB", "would push" if args.dry_run else "pushing", args.repo_id, kind,
             ", private" if args.private else "", len(staged.files), staged.total_bytes / 1e6)
    for name, size in staged.files:
        log.info("  %-48s %12d bytes", name, size)
    for line in staged.excluded:
        log.info("  left out: %s", line)
    if args.dry_run:
        log.info("dry run: nothing pushed; staging folder with the generated card: %s", staging)
        return 0
    try:
        url = hub.push(staged, args.repo_id, args.private)
    except (HfHubHTTPError, OSError) as e:
        log.error("push to %s failed: %s", args.repo_id, e)
        return 1
    finally:
        if not args.staging_dir:
            shutil.rmtree(staging, ignore_errors=True)
    log.info("pushed to https://huggingface.co/%s%s: %s", "datasets/" if kind == "dataset" else "", args.repo_id, url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
