"""Rewrite the golden scene files in tests/golden/ (run only when a change to generation is intended,
and say why in the commit):

    python tests/make_golden.py
"""

from pathlib import Path

from physics_llm.generation import generate_scene_text

GOLDEN_DIR = Path(__file__).parent / "golden"
GOLDEN_TYPES = ["billiards", "bowling", "tower", "pendulum", "projectile", "pong", "ramp_roll", "angry_birds",
                "hourglass", "newtons_cradle"]
GOLDEN_SEED, GOLDEN_INDEX, GOLDEN_DIFFICULTY, GOLDEN_FRAMES = 2026, 0, 2, 20


def golden_text(name: str) -> str:
    return generate_scene_text(name, GOLDEN_INDEX, GOLDEN_SEED, GOLDEN_DIFFICULTY, GOLDEN_FRAMES)


def main() -> None:
    GOLDEN_DIR.mkdir(exist_ok=True)
    for name in GOLDEN_TYPES:
        (GOLDEN_DIR / f"{name}.jsonl").write_text(golden_text(name), encoding="utf-8")


if __name__ == "__main__":
    main()
