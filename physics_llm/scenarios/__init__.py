"""Scenario types, one module per category, registered by name.

Importing this package registers every scenario. ``list_scenarios()`` gives their names.
"""

from physics_llm.scenarios.registry import (
    CATEGORIES,
    DIFFICULTIES,
    ScenarioInfo,
    build_scene_spec,
    get_scenario,
    list_scenarios,
    register_scenario,
    resolve_scenario_types,
)
from physics_llm.scenarios.splits import HELD_OUT_TYPES, is_held_out, seen_types

# Category modules register their scenarios on import (order = registry order).
from physics_llm.scenarios import collision, stacking, constraints, ramps, minigame, complex  # noqa: E402,F401

__all__ = [
    "CATEGORIES", "DIFFICULTIES", "HELD_OUT_TYPES", "ScenarioInfo", "build_scene_spec", "get_scenario",
    "is_held_out", "list_scenarios", "register_scenario", "resolve_scenario_types", "seen_types",
]
