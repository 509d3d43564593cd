"""The validator catches every kind of corruption and never crashes on bad input."""

import json
import logging
import re
import shutil

import pytest

from physics_llm.validation import validate_dataset, validate_file
from validate_dataset import main as validate_main

SCENE = "billiards/scene_00000001.jsonl"


def errors_of(root, check_physics=False):
    report = validate_dataset(root, check_physics=check_physics, progress=False)
    return report, [line for f in report.files for line in f.lines()] + report.dataset_errors


def edit_line(path, lineno, fn):
    lines = path.read_text().splitlines()
    lines[lineno - 1] = fn(lines[lineno - 1])
    path.write_text("\n".join(lines) + "\n")


def test_clean_dataset_passes_all_checks(small_dataset):
    report, errs = errors_of(small_dataset, check_physics=True)
    assert errs == [] and report.ok
    assert all(f.physics is not None and f.physics.finite for f in report.files)


def test_truncated_file(dataset_copy):
    p = dataset_copy / SCENE
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    _, errs = errors_of(dataset_copy)
    assert any("truncated" in e for e in errs)
    assert any("frame lines, header says" in e or "invalid JSON" in e for e in errs)


def test_bad_json_line_reports_its_line_number(dataset_copy):
    edit_line(dataset_copy / SCENE, 5, lambda s: s[:-3])
    _, errs = errors_of(dataset_copy)
    assert any(e.endswith(":5: invalid JSON: " + e.split("invalid JSON: ")[-1]) for e in errs if ":5:" in e)


@pytest.mark.parametrize("key", ["vel", "angvel", "t"])
def test_missing_frame_key(dataset_copy, key):
    def drop(s):
        d = json.loads(s)
        del d[key]
        return json.dumps(d)

    edit_line(dataset_copy / SCENE, 7, drop)
    _, errs = errors_of(dataset_copy)
    assert any(":7:" in e and "lacks keys" in e and key in e for e in errs)


@pytest.mark.parametrize("key", ["gravity", "objects", "static", "constraints", "dt"])
def test_missing_header_key(dataset_copy, key):
    def drop(s):
        d = json.loads(s)
        del d[key]
        return json.dumps(d)

    edit_line(dataset_copy / SCENE, 1, drop)
    _, errs = errors_of(dataset_copy)
    assert any(":1:" in e and key in e for e in errs)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("line", [1, 9])
def test_non_finite_numbers(dataset_copy, token, line):
    key = '"gravity":[' if line == 1 else '"angle":['
    edit_line(dataset_copy / SCENE, line, lambda s: re.sub(re.escape(key) + r"[^,\]]+", key + token, s, count=1))
    _, errs = errors_of(dataset_copy)
    assert any(f":{line}:" in e and "non-finite" in e for e in errs)


def test_wrong_array_length(dataset_copy):
    def shorten(s):
        d = json.loads(s)
        d["pos"] = d["pos"][:-1]
        return json.dumps(d)

    edit_line(dataset_copy / SCENE, 4, shorten)
    _, errs = errors_of(dataset_copy)
    assert any(":4:" in e and "pos must be" in e for e in errs)


def test_wrong_frame_index(dataset_copy):
    edit_line(dataset_copy / SCENE, 6, lambda s: s.replace('"t":4,', '"t":40,', 1))
    _, errs = errors_of(dataset_copy)
    assert any(":6:" in e and "expected 4" in e for e in errs)


def test_duplicate_scene_and_gap(dataset_copy):
    src = dataset_copy / SCENE
    shutil.copy(src, src.with_name("scene_00000005.jsonl"))  # duplicate, and leaves 3, 4 missing
    _, errs = errors_of(dataset_copy)
    assert any("duplicate seed" in e for e in errs)
    assert any("duplicate frame content" in e for e in errs)
    assert any("2 missing scene files" in e and "scene_00000003.jsonl" in e for e in errs)


def test_file_in_wrong_type_directory(dataset_copy):
    shutil.move(dataset_copy / "tower" / "scene_00000002.jsonl", dataset_copy / "pendulum" / "scene_00000003.jsonl")
    _, errs = errors_of(dataset_copy)
    assert any("but file is in directory 'pendulum'" in e for e in errs)


def test_tampered_frame_fails_resimulation(dataset_copy):
    edit_line(dataset_copy / SCENE, 12, lambda s: s.replace('"pos":[[', '"pos":[[1', 1))
    report, errs = errors_of(dataset_copy)
    assert report.ok  # still well-formed ...
    report, errs = errors_of(dataset_copy, check_physics=True)
    assert any(":12:" in e and "re-simulation" in e for e in errs)  # ... but not what the header produces


def test_leftover_temp_file(dataset_copy):
    (dataset_copy / "tower" / ".scene_00000003.jsonl.1.tmp").write_text("x")
    _, errs = errors_of(dataset_copy)
    assert any("leftover temp file" in e for e in errs)


@pytest.mark.parametrize("content", [b"", b"\x00\xff\xfe garbage", b"[1, 2, 3]\n", b'{"format": 1}\n',
                                     b'{"objects": "x"}\n' * 3])
def test_garbage_never_crashes(tmp_path, content):
    p = tmp_path / "billiards" / "scene_00000000.jsonl"
    p.parent.mkdir()
    p.write_bytes(content)
    res = validate_file(p, check_physics=True)
    assert not res.ok


def test_script_exit_codes_and_report(small_dataset, dataset_copy, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    assert validate_main(["--data-dir", str(small_dataset), "--check-physics", "--verbose", "--quiet",
                          "--json", str(tmp_path / "r.json")]) == 0
    out = caplog.text
    assert "OK: 9 scene files passed" in out and "re-simulation identical" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["ok"] and set(report["per_type"]) == {"billiards", "pendulum", "tower"}
    (dataset_copy / SCENE).write_text("oops\n")
    assert validate_main(["--data-dir", str(dataset_copy), "--quiet"]) == 1
    assert validate_main(["--data-dir", str(tmp_path / "missing")]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert validate_main(["--data-dir", str(empty), "--quiet"]) == 1
