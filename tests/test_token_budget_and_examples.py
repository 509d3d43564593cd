"""End-to-end checks of scripts/generate_heldout_examples.py and benchmarks/token_budget.py."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from generate_heldout_examples import PREDICT_SEPARATOR, main as heldout_main
from physics_llm.tokenization import get_format

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "token_budget.py"


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("token_budget", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["velocity_change", "displacement"])
def test_heldout_examples_file_is_readable(tmp_path, name):
    fmt = get_format(name)
    out = tmp_path / "examples" / "heldout.txt"
    assert heldout_main(["--output", str(out), "--num-examples", "2", "--scenario-types", "pong", "bowling",
                         "--text-format", name]) == 0
    text = out.read_text()
    examples = re.split(r"^===== example \d+: .*=====\n", text, flags=re.M)[1:]
    banners = re.findall(r"^===== example (\d+): (\w+) difficulty (\d) seed 0 .*"
                         rf"\(text format {re.escape(str(fmt))}, context 10 frames, predict 20\) =====$", text,
                         flags=re.M)
    assert banners == [("1", "pong", "1"), ("2", "bowling", "2")]
    assert len(examples) == 2
    for body, (_, scene, _) in zip(examples, banners):
        assert body.startswith(f"scene {scene}\n")
        context, predict = body.split(PREDICT_SEPARATOR)
        assert re.findall(r"^t (\d+)$", context, flags=re.M) == [str(t) for t in range(fmt.first_frame, 10)]
        assert re.findall(r"^t (\d+)$", predict, flags=re.M) == [str(t) for t in range(10, 30)]
        object_lines = [line for line in predict.splitlines() if "|" in line]
        assert object_lines and all(fmt.line_regex().fullmatch(line) for line in object_lines)


def test_heldout_examples_take_the_checkpoint_format(tmp_path, capsys):
    from physics_llm.tokenization import save_format

    save_format(tmp_path / "ckpt", get_format("displacement"))
    out = tmp_path / "x.txt"
    assert heldout_main(["--output", str(out), "--num-examples", "1", "--checkpoint", str(tmp_path / "ckpt")]) == 0
    assert "(text format displacement:pos_scale=10," in out.read_text()
    assert heldout_main(["--output", str(out), "--checkpoint", str(tmp_path / "ckpt"),
                         "--text-format", "velocity_change"]) == 2
    assert "does not match the checkpoint" in capsys.readouterr().err


def test_heldout_examples_bad_type_exits_2(tmp_path, capsys):
    out = tmp_path / "x.txt"
    assert heldout_main(["--output", str(out), "--scenario-types", "pong", "no_such_type"]) == 2
    assert "--scenario-types" in capsys.readouterr().err
    assert not out.exists()


def test_token_budget_prints_json(capsys):
    bench = _load_benchmark()
    code = bench.main(["--per-cell", "1", "--frames", "40", "--scenario-types", "pong", "billiards", "--quiet",
                       "--text-formats", "velocity_change", "displacement"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sample"]["scenes"] == 10 and out["sample"]["generation_errors"] == []
    assert list(out["formats"]) == ["velocity_change:pos_scale=100,shown_pos_scale=10", "displacement:pos_scale=10"]
    report = next(iter(out["formats"].values()))
    for key in ("compact", "verbose", "verbose_over_compact", "fit_8192", "loss_mask", "packing",
                "goals", "goals_met"):
        assert key in report
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
    assert bench.main(["--text-formats", "nope"]) == 2
    assert "--text-formats" in capsys.readouterr().err
