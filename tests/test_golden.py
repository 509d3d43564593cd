"""Golden files pin generation: any change to a scenario, the simulator or the format shows up here.

If a change is intended, regenerate with ``python tests/make_golden.py`` and say why in the commit.
"""

import pytest

from make_golden import GOLDEN_DIR, GOLDEN_TYPES, golden_text


@pytest.mark.parametrize("name", GOLDEN_TYPES)
def test_generation_matches_golden_file(name):
    expected = (GOLDEN_DIR / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    got = golden_text(name).splitlines()
    for lineno, (a, b) in enumerate(zip(got, expected), start=1):
        assert a == b, f"{name}: line {lineno} differs from tests/golden/{name}.jsonl"
    assert len(got) == len(expected)
