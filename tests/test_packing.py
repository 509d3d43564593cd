"""Parquet packing: lossless round trip, datasets-readable (streaming too), deterministic, and usable
as training input with the same windows as the JSONL directory."""

import json
import logging

import pytest

from pack_dataset import main as pack_main
from physics_llm.curriculum import scan_headers
from physics_llm.packing import find_shards, pack_directory, read_scene_ref, unpack_parquet
from physics_llm.scene_format import read_scene
from physics_llm.tokenization.tokenizer import build_physics_tokenizer
from physics_llm.tokenization.formats import DEFAULT_FORMAT, get_format
from physics_llm.tokenization.windows import build_windows_dataset


def scene_files(root):
    return sorted(root.rglob("scene_*.jsonl"))


@pytest.fixture(scope="module")
def packed(small_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("packed")
    assert pack_main(["--data-dir", str(small_dataset), "--output-dir", str(out), "--rows-per-shard", "4",
                      "--row-group-size", "2", "--quiet"]) == 0
    return out


def test_pack_writes_shards_and_info(small_dataset, packed):
    files = scene_files(small_dataset)
    shards = find_shards(packed)
    assert [s.name for s in shards] == ["train-00000-of-00003.parquet", "train-00001-of-00003.parquet",
                                        "train-00002-of-00003.parquet"]
    info = json.loads((packed / "pack_info.json").read_text())
    split = info["splits"]["train"]
    assert split["scenes"] == len(files) == 9 and split["skipped"] == 0
    assert split["scenes_per_type"] == {"billiards": 3, "pendulum": 3, "tower": 3}
    assert sum(split["scenes_per_difficulty"].values()) == 9
    assert split["bytes_in"] == sum(p.stat().st_size for p in files)
    assert split["bytes_out"] == sum(s.stat().st_size for s in shards)
    assert info["scene_format"] == "physics-llm-scene/1" and "generation_config.json" in info["generation_config"]
    assert not list(packed.rglob("*.tmp"))


def test_load_dataset_round_trip_and_streaming(small_dataset, packed):
    import datasets

    files = scene_files(small_dataset)
    data_files = str(packed / "data" / "*.parquet")
    ds = datasets.load_dataset("parquet", data_files=data_files, split="train")
    assert ds.num_rows == len(files)
    for row, path in zip(ds, files):
        header = read_scene(path).header
        assert row["text"] == path.read_text(encoding="utf-8")
        assert row["scene_id"] == f"{path.parent.name}/{path.stem}"
        assert (row["scenario_type"], row["difficulty"], row["seed"]) == (header["scenario_type"],
                                                                          header["difficulty"], header["seed"])
        assert row["num_objects"] == len(header["objects"]) and row["num_frames"] == header["num_frames"] == 40
    streamed = datasets.load_dataset("parquet", data_files=data_files, split="train", streaming=True)
    assert [r["scene_id"] for r in streamed] == ds["scene_id"]
    assert ds.filter(lambda r: r["scenario_type"] == "tower").num_rows == 3


def test_unpack_is_byte_identical(small_dataset, packed, tmp_path):
    assert unpack_parquet(packed, tmp_path / "un") == 9
    for path in scene_files(small_dataset):
        assert (tmp_path / "un" / path.parent.name / path.name).read_bytes() == path.read_bytes()
    assert pack_main(["--unpack", "--data-dir", str(packed), "--output-dir", str(tmp_path / "un2"), "--quiet"]) == 0
    assert len(scene_files(tmp_path / "un2")) == 9


def test_unpack_refuses_paths_outside_the_output(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "evil").mkdir()
    pq.write_table(pa.table({"scene_id": ["../../escaped"], "text": ["{}\n"]}), tmp_path / "evil" / "x.parquet")
    with pytest.raises(ValueError, match="invalid scene_id"):
        unpack_parquet(tmp_path / "evil", tmp_path / "out" / "deeper")
    assert not list(tmp_path.rglob("escaped*"))


def test_shards_are_deterministic(small_dataset, packed, tmp_path):
    pack_directory(small_dataset, tmp_path / "again", rows_per_shard=4, row_group_size=2, progress=False)
    for a, b in zip(find_shards(packed), find_shards(tmp_path / "again"), strict=True):
        assert a.read_bytes() == b.read_bytes()
    # repacking with another shard count replaces the old shards instead of adding to them
    pack_directory(small_dataset, tmp_path / "again", rows_per_shard=100, progress=False)
    assert [s.name for s in find_shards(tmp_path / "again")] == ["train-00000-of-00001.parquet"]


def test_corrupt_header_skipped_and_counted(dataset_copy, tmp_path, caplog):
    bad = scene_files(dataset_copy)[4]
    bad.write_text("{not json\n" + bad.read_text().split("\n", 1)[1])
    with caplog.at_level(logging.WARNING):
        summary = pack_directory(dataset_copy, tmp_path / "p", progress=False)
    assert summary.scenes == 8 and len(summary.skipped) == 1
    info = json.loads((tmp_path / "p" / "pack_info.json").read_text())["splits"]["train"]
    assert info["skipped"] == 1 and info["skipped_files"][0].startswith(f"{bad.parent.name}/{bad.name}")
    assert any("unreadable header" in r.getMessage() for r in caplog.records)


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert pack_main(["--data-dir", str(tmp_path / "missing"), "--output-dir", str(tmp_path / "o")]) == 2
    (tmp_path / "empty").mkdir()
    assert pack_main(["--data-dir", str(tmp_path / "empty"), "--output-dir", str(tmp_path / "o")]) == 2
    assert pack_main(["--unpack", "--data-dir", str(tmp_path / "empty"), "--output-dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert "not a directory" in err[0] and "no readable scene files" in err[1] and "no Parquet shards" in err[2]


def test_training_reads_packed_parquet_like_jsonl(small_dataset, packed, tmp_path):
    jsonl, parquet = scan_headers(small_dataset), scan_headers(packed)
    assert [(r.scenario_type, r.difficulty) for r in parquet] == [(r.scenario_type, r.difficulty) for r in jsonl]
    assert "::" in parquet[0].path
    scene = read_scene_ref(parquet[5].path)
    assert (scene.pos == read_scene(jsonl[5].path).pos).all()
    tok = build_physics_tokenizer()
    fmt = get_format(DEFAULT_FORMAT)
    a = build_windows_dataset([r.path for r in jsonl], tok, fmt, max_len=1024)
    b = build_windows_dataset([r.path for r in parquet], tok, fmt, max_len=1024, cache_dir=tmp_path)  # stats the shard
    assert a.num_rows == b.num_rows > 9
    assert a["input_ids"] == b["input_ids"] and a["labels"] == b["labels"]


def test_run_curriculum_trains_from_a_packed_directory(packed, tmp_path):
    from physics_llm.models import GPTForCausalLM, gpt_config_for_size
    from physics_llm.training import TrainConfig, run_curriculum

    tok = build_physics_tokenizer()
    model = GPTForCausalLM(gpt_config_for_size("tiny", vocab_size=len(tok), block_size=512,
                                               pad_token_id=tok.pad_token_id))
    cfg = TrainConfig(data_dir=str(packed), output_dir=str(tmp_path / "run"), batch_size=4, max_steps=2,
                      max_seq_length=512, logging_steps=1, save_steps=100)
    (summary,) = run_curriculum(cfg, model, tok)
    assert summary["scenes"] == 9 and summary["rows"] > 9 and summary["steps"] == 2
    types = json.loads((tmp_path / "run" / "stage0" / "training_types.json").read_text())
    assert types["scenes_per_type"] == {"billiards": 3, "pendulum": 3, "tower": 3}
