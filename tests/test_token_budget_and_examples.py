"""End-to-end checks of scripts/generate_heldout_examples.py and benchmarks/token_budget.py."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

from generate_heldout_examples import PREDICT_SEPARATOR, main as heldout_main

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "token_budget.py"


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("token_budget", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_heldout_examples_file_is_readable(tmp_path):
    out = tmp_path / "examples" / "heldout.txt"
    assert heldout_main(["--output", str(out), "--num-examples", "2", "--scenario-types", "pong", "bowling"]) == 0
    text = out.read_text()
    examples = re.split(r"^===== example \d+: .*=====\n", text, flags=re.M)[1:]
    banners = re.findall(r"^===== example (\d+): (\w+) difficulty (\d) seed 0 .*"
                         r"\(context 10 frames, predict 20\) =====$", text, flags=re.M)
    assert banners == [("1", "pong", "1"), ("2", "bowling", "2")]
    assert len(examples) == 2
    for body, (_, name, _) in zip(examples, banners):
        assert body.startswith(f"scene {name}\n")
        context, predict = body.split(PREDICT_SEPARATOR)
        assert re.findall(r"^t (\d+)$", context, flags=re.M) == [str(t) for t in range(10)]
        assert re.findall(r"^t (\d+)$", predict, flags=re.M) == [str(t) for t in range(10, 30)]
        object_lines = [line for line in predict.splitlines() if "|" in line]
        assert object_lines and all(re.fullmatch(r"\d+ -?\d+ -?\d+ -?\d+\|-?\d+ -?\d+ -?\d+", line)
                                    for line in object_lines)


def test_heldout_examples_bad_type_exits_2(tmp_path, capsys):
    out = tmp_path / "x.txt"
    assert heldout_main(["--output", str(out), "--scenario-types", "pong", "no_such_type"]) == 2
    assert "--scenario-types" in capsys.readouterr().err
    assert not out.exists()


def test_token_budget_prints_json(capsys):
    bench = _load_benchmark()
    code = bench.main(["--per-cell", "1", "--frames", "40", "--scenario-types", "pong", "billiards", "--quiet"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("sample", "compact", "verbose", "verbose_over_compact", "fit_8192", "loss_mask", "packing",
                "goals", "goals_met"):
        assert key in report
    assert report["sample"]["scenes"] == 10 and report["sample"]["generation_errors"] == []
    assert report["compact"]["unk_tokens"] == 0
    assert report["verbose"]["unk_tokens"] > 0 and report["verbose"]["coverage"]["every_char_in_a_token"]
    assert report["verbose_over_compact"]["pooled"] > 1
    assert set(report["compact"]["per_type"]) == {"pong", "billiards"}
    shares = [report["fit_8192"]["overall"], *report["fit_8192"]["per_difficulty"].values(),
              report["loss_mask"]["trained_token_share"], report["packing"]["8192"]["efficiency"],
              report["packing"]["2048"]["efficiency"]]
    assert all(0 <= s <= 1 for s in shares)
    assert 0 < report["loss_mask"]["trained_token_share"] < 0.6
    assert all(isinstance(v, bool) for v in report["goals_met"].values())


def test_token_budget_bad_flag_exits_2(capsys):
    bench = _load_benchmark()
    assert bench.main(["--scenario-types", "no_such_type"]) == 2
    assert "--scenario-types" in capsys.readouterr().err
    assert bench.main(["--frames", "5"]) == 2
    assert "--frames" in capsys.readouterr().err
