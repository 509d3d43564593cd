"""scripts/quickstart.py end to end at toy scale: every artifact, the results table, and a re-run that resumes."""

import json

from quickstart import main as quickstart_main
from quickstart import steps
from quickstart import QuickstartConfig

TOY = ["--train-scenes-per-type", "1", "--val-scenes-per-type", "1", "--max-difficulty", "1", "--frames-per-scene",
       "16", "--max-steps", "2", "--batch-size", "2", "--max-seq-length", "1024", "--curriculum-stages", "1",
       "--context-frames", "10", "--rollout-frames", "2"]


def test_quickstart_runs_end_to_end_and_resumes(tmp_path, capsys):
    out = tmp_path / "qs"
    assert quickstart_main(["--output-dir", str(out), *TOY]) == 0
    first = capsys.readouterr().out
    assert "$ python scripts/train_scratch.py" in first and "[held_out]" in first and "constant_velocity" in first
    ev = out / "evaluation"
    m = json.loads((ev / "metrics.json").read_text())
    # Training saw the seen types only; the validation set holds every type, the held-out ones included.
    trained = set(m["split"]["trained_types"])
    assert not trained & {"pong", "bowling", "ramp_roll", "angry_birds", "hourglass", "newtons_cradle"}
    assert m["split"]["types"]["pong"] == "held_out" and m["decoding"]["format_failures"] == 0
    assert (ev / "report.md").exists() and (ev / "error_vs_horizon.png").exists()
    assert (ev / "comparison_gifs" / "pong_cmp.gif").exists()
    stamp = (ev / "metrics.json").stat().st_mtime_ns
    # A second run resumes: scenes kept, the finished stage skipped, the evaluation reused.
    assert quickstart_main(["--output-dir", str(out), *TOY]) == 0
    second = capsys.readouterr().out
    assert "evaluation in" in second and "reused" in second and "[overall]" in second
    assert (ev / "metrics.json").stat().st_mtime_ns == stamp


def test_quickstart_steps_and_bad_arguments(tmp_path, capsys):
    names = [name for name, _ in steps(QuickstartConfig(output_dir=str(tmp_path), model="finetune"))]
    assert names == ["generate_scenarios_dataset", "generate_scenarios_dataset", "validate_dataset",
                     "validate_dataset", "make_tiny_lfm2", "train_finetune", "run_evaluation"]
    assert quickstart_main(["--output-dir", str(tmp_path), "--model", "gpt5"]) == 2
    assert "--model" in capsys.readouterr().err
    assert quickstart_main(["--output-dir", str(tmp_path), "--max-difficulty", "9"]) == 2


def test_every_step_parses_with_its_script(tmp_path):
    """Each printed command is one its script accepts, for both models (a flag a script lacks fails here, not
    half-way through a 10-minute run)."""
    import importlib

    import pytest

    for model in ("scratch", "finetune"):
        for name, argv in steps(QuickstartConfig(output_dir=str(tmp_path), model=model)):
            try:
                args = vars(importlib.import_module(name).build_parser().parse_args(argv))
            except SystemExit:
                pytest.fail(f"{model}: scripts/{name}.py rejects {argv}")
            given = {a[2:].replace("-", "_") for a in argv if a.startswith("--")}
            assert given <= set(args), (model, name, given - set(args))  # every flag reached the options
