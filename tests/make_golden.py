"""Rewrite the golden files in tests/golden/ (run only when a change to generation or to a text format is
intended, and say why in the commit):

    python tests/make_golden.py

``<type>.jsonl`` pin generation; ``text_<format>.txt`` pin each registered text format's text (header and
every frame) of one fixed scene.
"""

import json
from pathlib import Path

from physics_llm.generation import generate_scene_text
from physics_llm.scene_format import parse_frames
from physics_llm.tokenization import get_format, list_formats

GOLDEN_DIR = Path(__file__).parent / "golden"
GOLDEN_TYPES = ["billiards", "bowling", "tower", "pendulum", "projectile", "pong", "ramp_roll", "angry_birds",
                "hourglass", "newtons_cradle"]
GOLDEN_SEED, GOLDEN_INDEX, GOLDEN_DIFFICULTY, GOLDEN_FRAMES = 2026, 0, 2, 20


def golden_text(name: str) -> str:
    return generate_scene_text(name, GOLDEN_INDEX, GOLDEN_SEED, GOLDEN_DIFFICULTY, GOLDEN_FRAMES)


TEXT_GOLDEN_TYPE = "angry_birds"  # boxes that rotate, a ball in flight, resting objects, walls and a ramp


def golden_format_text(format_name: str) -> str:
    """Format ``format_name`` (default parameters) of the first 8 frames of the golden angry_birds scene."""
    lines = golden_text(TEXT_GOLDEN_TYPE).splitlines()[:9]
    scene = parse_frames(json.loads(lines[0]), [json.loads(x) for x in lines[1:]])
    fmt = get_format(format_name)
    return fmt.scene_text(fmt.quantize(scene))


def main() -> None:
    GOLDEN_DIR.mkdir(exist_ok=True)
    for name in GOLDEN_TYPES:
        (GOLDEN_DIR / f"{name}.jsonl").write_text(golden_text(name), encoding="utf-8")
    for name in list_formats():
        (GOLDEN_DIR / f"text_{name}.txt").write_text(golden_format_text(name), encoding="utf-8")


if __name__ == "__main__":
    main()
