"""Scenario registry: ``@register_scenario(name, category, description)`` on a generator function.

A generator has the signature ``fn(rng: random.Random, difficulty: int) -> SceneBuilder`` and must
draw every random number from ``rng`` (never the global ``random``), so (seed, type, index) fully
determines the scene.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

CATEGORIES = ("collision", "stacking", "ramps", "constraints", "minigame", "complex")
DIFFICULTIES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class ScenarioInfo:
    name: str
    category: str
    description: str
    generate: Callable  # (random.Random, difficulty) -> SceneBuilder


_REGISTRY: dict[str, ScenarioInfo] = {}


def register_scenario(name: str, category: str, description: str):
    if category not in CATEGORIES:
        raise ValueError(f"scenario {name!r}: unknown category {category!r}; valid: {', '.join(CATEGORIES)}")

    def decorator(fn):
        if name in _REGISTRY:
            raise ValueError(f"scenario {name!r} registered twice")
        _REGISTRY[name] = ScenarioInfo(name, category, description, fn)
        return fn

    return decorator


def list_scenarios(category: str | None = None) -> list[str]:
    """Registered scenario names in registration order, optionally filtered by category."""
    return [n for n, info in _REGISTRY.items() if category is None or info.category == category]


def get_scenario(name: str) -> ScenarioInfo:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown scenario type {name!r}; valid types: {', '.join(_REGISTRY)}") from None


def resolve_scenario_types(names: list[str] | None) -> list[str]:
    """Validated type names; ``None`` or ``["all"]`` mean every registered type. Raises ``ValueError``
    naming the ``--scenario-types`` flag and listing the valid names."""
    if names is None or list(names) == ["all"]:
        return list_scenarios()
    unknown = [n for n in names if n not in _REGISTRY]
    if unknown:
        raise ValueError(f"--scenario-types: unknown scenario type(s) {unknown}; valid types: {', '.join(_REGISTRY)}")
    return list(names)


def build_scene_spec(name: str, rng: random.Random, difficulty: int) -> dict:
    """Header fields owned by the scenario (everything but seed/num_frames bookkeeping)."""
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {difficulty}")
    info = get_scenario(name)
    builder = info.generate(rng, difficulty)
    return builder.to_spec(scenario_type=name, category=info.category, difficulty=difficulty)
