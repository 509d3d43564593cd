"""Write example scenes as text, exactly as a model sees them, for reading by eye.

Example:
    python scripts/generate_heldout_examples.py --output outputs/heldout_examples.txt --num-examples 10

For each example (cycling over --scenario-types, default the held-out types): a banner line, the
header text, the --context-frames ground-truth frames as in training (whole lines), then a separator
and the next --predict-frames frames. In those, the part of each object line up to and including
``|`` is forced (the rollout harness writes the id and the integrated state; here it comes from
ground truth), the part after ``|`` is what the model must produce (``--text-format``, see
docs/text_format.md: in the default format the change of the object's velocity). The bos/eos special tokens are not written. Scenes are generated on the fly from
(--seed, type, index), as the dataset generator would, with context + predict + 1 frames; the log
gives each example's PhysicsTokenizer token counts.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from physics_llm.generation import make_header, render_scene
from physics_llm.config import add_config_flag, parse_args_with_config, require, usage_error
from physics_llm.scenarios import HELD_OUT_TYPES, is_held_out, resolve_scenario_types
from physics_llm.scene_format import parse_frames, write_text_atomic
from physics_llm.tokenization import IGNORE_INDEX, build_physics_tokenizer, encode_scene, resolve_format
from physics_llm.tokenization.formats import check_format_flag

log = logging.getLogger("generate_heldout_examples")

PREDICT_SEPARATOR = "----- frames to predict (forced | predicted) -----\n"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_flag(p)
    p.add_argument("--output", required=True, help="text file to write")
    p.add_argument("--num-examples", type=int, default=10, help="examples to write (default: 10)")
    p.add_argument("--scenario-types", nargs="+", default=list(HELD_OUT_TYPES), metavar="TYPE",
                   help=f"types to cycle over; any registered type (default: the held-out types "
                        f"{' '.join(HELD_OUT_TYPES)})")
    p.add_argument("--seed", type=int, default=0, help="run seed (default: 0)")
    p.add_argument("--difficulty", type=int, default=None, help="difficulty 1..5 (default: cycle 1..5 over examples)")
    p.add_argument("--context-frames", type=int, default=10, help="ground-truth context frames (default: 10)")
    p.add_argument("--predict-frames", type=int, default=20, help="frames the model must predict (default: 20)")
    p.add_argument("--text-format", default=None,
                   help="text format, e.g. velocity_change or displacement (default: --checkpoint's, else the "
                        "default format)")
    p.add_argument("--checkpoint", default=None, help="write the examples in this checkpoint's text format")
    return p


def example_text(number: int, header: dict, q, fmt, context: int, predict: int, seed: int) -> str:
    """Frames ``first_frame .. context - 1`` whole (the context), then ``context .. context + predict - 1``."""
    banner = (f"===== example {number}: {header['scenario_type']} difficulty {header['difficulty']} seed {seed} "
              f"index {header['index']} (text format {fmt}, context {context} frames, predict {predict}) =====\n")
    first = fmt.first_frame
    return (banner + fmt.header_text(header) + fmt.render_frames(q, first, context - first) + PREDICT_SEPARATOR
            + fmt.render_frames(q, context, predict) + "\n")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args_with_config(build_parser(), argv)
    try:
        resolve_scenario_types(args.scenario_types)
        require(args.num_examples >= 1, f"--num-examples must be >= 1, got {args.num_examples}")
        require(args.difficulty in (None, 1, 2, 3, 4, 5), f"--difficulty must be 1..5, got {args.difficulty}")
        require(args.context_frames >= 1, f"--context-frames must be >= 1, got {args.context_frames}")
        require(args.predict_frames >= 1, f"--predict-frames must be >= 1, got {args.predict_frames}")
        check_format_flag(args.text_format)
        require(args.checkpoint is None or Path(args.checkpoint).is_dir(),
                f"--checkpoint: directory {args.checkpoint} not found")
        fmt = resolve_format(args.text_format, args.checkpoint)
        require(args.context_frames > fmt.first_frame,
                f"--context-frames must be > {fmt.first_frame} with the {fmt} format, got {args.context_frames}")
    except ValueError as e:
        return usage_error(e)
    seen = [t for t in dict.fromkeys(args.scenario_types) if not is_held_out(t)]
    if seen:
        log.info("note: %s %s seen in training (not held out)", " ".join(seen), "is" if len(seen) == 1 else "are")

    tokenizer = build_physics_tokenizer()
    ctx, pred = args.context_frames, args.predict_frames
    types = args.scenario_types
    parts = []
    for k in range(args.num_examples):
        name, index = types[k % len(types)], k // len(types)
        difficulty = args.difficulty if args.difficulty is not None else 1 + k % 5
        lines = render_scene(make_header(name, index, args.seed, difficulty, ctx + pred + 1)).splitlines()
        q = fmt.quantize(parse_frames(json.loads(lines[0]), [json.loads(line) for line in lines[1:]]))
        parts.append(example_text(k + 1, q.header, q, fmt, ctx, pred, args.seed))
        enc = encode_scene(tokenizer, q, fmt)  # the ids training would see for these frames
        n = ctx - fmt.first_frame  # context frames in enc (it starts at fmt.first_frame)
        n_ctx = sum(map(len, enc.frame_ids[:n]))
        n_pred = sum(map(len, enc.frame_ids[n:]))
        n_gen = sum(lab != IGNORE_INDEX for labels in enc.frame_labels[n:] for lab in labels)
        log.info("example %d: %s d%d, %d objects: %d tokens = 2 bos/eos + header %d + context %d + predict %d "
                 "(%d of them predicted by the model)", k + 1, name, difficulty, len(q.header["objects"]),
                 2 + len(enc.header_ids) + n_ctx + n_pred, len(enc.header_ids), n_ctx, n_pred, n_gen)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, "".join(parts))
    log.info("wrote %d examples to %s", args.num_examples, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
