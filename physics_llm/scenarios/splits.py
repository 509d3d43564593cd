"""The seen / held-out split of scenario types: the one place it is defined.

Held-out types never appear in training data; evaluation reports them separately.
"""

HELD_OUT_TYPES = ("pong", "bowling", "ramp_roll", "angry_birds", "hourglass", "newtons_cradle")


def is_held_out(scenario_type: str) -> bool:
    return scenario_type in HELD_OUT_TYPES


def seen_types(types: list[str]) -> list[str]:
    return [t for t in types if not is_held_out(t)]
