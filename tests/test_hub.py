"""Hub upload: cards from the real files, dry run without a token, the push path through a fake HfApi,
no pickles uploaded and the token never written or printed. No network."""

import json
from pathlib import Path

import pytest
from huggingface_hub import get_token as real_get_token

import upload_to_hub
from physics_llm import hub
from physics_llm.packing import pack_directory

SECRET = "hf_testSECRETtoken0123456789"


@pytest.fixture(autouse=True)
def no_stored_login(tmp_path_factory, monkeypatch):
    """Hermetic: no token from the environment or from a stored login of whoever runs the tests."""
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf_home")))
    monkeypatch.setattr(hub, "get_token", lambda: None)  # HF_HOME's token path was fixed at import


@pytest.fixture(scope="module")
def packed(small_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("packed")
    pack_directory(small_dataset, out, rows_per_shard=5, progress=False)
    return out


def fake_metrics() -> dict:
    def agg(rmse):
        s = {"num_scenes": 4, "rmse": {"mean": rmse, "ci95": [rmse - 1, rmse + 1]}, "accuracy": {"mean": 0.5}}
        return {"overall": s, "seen_vs_held_out": {"seen": s}}  # no held-out group: "not evaluated"
    return {"settings": {"context_frames": 10, "rollout_frames": 20, "tolerance_px": 5.0}, "scenes": {"evaluated": 4},
            "model": agg(12.345), "baselines": {"constant_velocity": agg(23.456)}}


@pytest.fixture
def checkpoint(tmp_path):
    ckpt = tmp_path / "stage0"
    (ckpt / "checkpoint-10").mkdir(parents=True)
    for name, doc in {"config.json": {"model_type": "physics_gpt"}, "tokenizer.json": {},
                      "train_config.json": {"lr": 0.0031, "max_steps": 77},
                      "training_types.json": {"types": ["tower"], "scenes_per_type": {"tower": 9}},
                      "stage_complete.json": {"steps": 77, "train_loss": 1.2345, "final_loss": 1.1}}.items():
        (ckpt / name).write_text(json.dumps(doc))
    (ckpt / "model.safetensors").write_bytes(b"\0" * 64)
    for name in ("training_args.bin", "pytorch_model.bin", "checkpoint-10/optimizer.pt",
                 "checkpoint-10/model.safetensors"):
        (ckpt / name).write_bytes(b"pickle")
    (ckpt / "README.md").write_text("auto-generated card")
    return ckpt


class FakeApi:
    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))

    def upload_folder(self, **kw):
        folder = Path(kw["folder_path"])
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        self.calls.append(("upload_folder", files, kw))
        return type("CommitInfo", (), {"commit_url": "https://huggingface.co/fake/commit/1"})()


def test_dataset_dry_run_without_token(packed, tmp_path, caplog):
    caplog.set_level("INFO")
    staging = tmp_path / "staging"
    assert upload_to_hub.main(["--repo-id", "me/scenes", "--path", str(packed), "--dry-run",
                               "--staging-dir", str(staging)]) == 0
    info = json.loads((packed / "pack_info.json").read_text())["splits"]["train"]
    card = (staging / "README.md").read_text()
    assert card.startswith("---\nlicense: mit\n") and "path: data/train-*.parquet" in card
    assert "| billiards | 3 |" in card and f"{info['scenes']} scenes in 2 shards" in card
    assert sorted(p.name for p in (staging / "data").iterdir()) == [s["file"][5:] for s in info["shards"]]
    assert "would push me/scenes (dataset): 4 files" in caplog.text and "dry run: nothing pushed" in caplog.text


def test_push_without_token_exits_2(checkpoint, capsys):
    assert upload_to_hub.main(["--repo-id", "me/model", "--path", str(checkpoint)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no Hugging Face token") and err.count("\n") == 1


def test_model_card_and_filtering(checkpoint, tmp_path):
    staged = hub.stage_folder(checkpoint, hub.infer_kind(checkpoint), tmp_path / "s", "me/model", fake_metrics())
    names = [n for n, _ in staged.files]
    assert names == ["config.json", "model.safetensors", "stage_complete.json", "tokenizer.json", "train_config.json",
                     "training_types.json", "README.md"]
    left_out = " ".join(staged.excluded)
    assert "training_args.bin" in left_out and "pytorch_model.bin" in left_out and "checkpoint-10/" in left_out
    card = (tmp_path / "s" / "README.md").read_text()
    assert "auto-generated card" not in card and "library_name: transformers" in card
    assert "| lr | `0.0031` |" in card and "| tower | 9 |" in card and "77 steps, mean training loss 1.234" in card
    assert "| model | 4 | 12.3 [11.3, 13.3] | 50% |" in card and "| constant_velocity | 4 | 23.5" in card
    assert "### Held-out types\n\nnot evaluated" in card
    no_metrics = hub.model_card(checkpoint, "me/model")
    assert "Not evaluated: no metrics.json" in no_metrics and "12.3" not in no_metrics


def test_push_through_fake_api_never_leaks_the_token(checkpoint, tmp_path, monkeypatch, capsys, caplog):
    caplog.set_level("INFO")
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setattr(hub, "get_token", real_get_token)  # reads HF_TOKEN
    api = FakeApi()
    monkeypatch.setattr(hub, "HfApi", lambda: api)
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps(fake_metrics()))
    staging = tmp_path / "staging"
    assert upload_to_hub.main(["--repo-id", "me/model", "--path", str(checkpoint), "--private", "--metrics",
                               str(metrics), "--staging-dir", str(staging)]) == 0
    (create, repo_id, kw), (upload, files, up) = api.calls
    assert (create, repo_id, kw) == ("create_repo", "me/model", {"repo_type": "model", "private": True, "exist_ok": True})
    assert upload == "upload_folder" and up["repo_id"] == "me/model" and up["repo_type"] == "model"
    assert "README.md" in files and not any(f.endswith((".bin", ".pt")) or "checkpoint-" in f for f in files)
    out = capsys.readouterr()
    assert "fake/commit/1" in caplog.text
    assert SECRET not in out.out + out.err + caplog.text
    for p in tmp_path.rglob("*"):
        assert not p.is_file() or SECRET.encode() not in p.read_bytes(), p


def test_bad_arguments_exit_2(tmp_path, packed, capsys):
    assert upload_to_hub.main(["--repo-id", "me/x", "--path", str(tmp_path), "--dry-run"]) == 2  # nothing to push
    assert upload_to_hub.main(["--repo-id", "not a repo id", "--path", str(packed), "--dry-run"]) == 2
    assert upload_to_hub.main(["--repo-id", "me/x", "--path", str(packed), "--dry-run", "--metrics", "m.json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)


def test_failed_push_exits_1_and_cleans_up(checkpoint, monkeypatch, caplog):
    class Refusing(FakeApi):
        def upload_folder(self, **kw):
            self.staging = kw["folder_path"]
            raise OSError("connection refused")

    api = Refusing()
    monkeypatch.setattr(hub, "get_token", lambda: "token")
    monkeypatch.setattr(hub, "HfApi", lambda: api)
    assert upload_to_hub.main(["--repo-id", "me/model", "--path", str(checkpoint)]) == 1
    assert "push to me/model failed: connection refused" in caplog.text and not Path(api.staging).exists()
