"""Training windows: loss mask on predicted parts only, lengths bounded, same ids as the rollout (every format)."""

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders
from transformers import PreTrainedTokenizerFast

from physics_llm.scene_format import read_scene
from physics_llm.tokenization.formats import DEFAULT_FORMAT, get_format, list_formats
from physics_llm.tokenization.prompt import PromptBuilder
from physics_llm.tokenization.tokenizer import build_physics_tokenizer
from physics_llm.tokenization.windows import (IGNORE_INDEX, build_windows_dataset, cut_windows, encode_scene,
                                              pack_windows, scene_windows)

FORMATS = [get_format(name) for name in list_formats()]
DEFAULT = get_format(DEFAULT_FORMAT)


@pytest.fixture(scope="module")
def physics_tok():
    return build_physics_tokenizer()


@pytest.fixture(scope="module")
def bpe_tok(small_dataset):
    """A byte-level BPE tokenizer trained here on scene text: merges digits, spaces and '|' freely,
    like LFM2's tokenizer would."""
    texts = []
    for p in sorted(small_dataset.rglob("scene_*.jsonl")):
        for fmt in FORMATS:
            texts.append(fmt.scene_text(fmt.quantize(read_scene(p))))
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=400, special_tokens=["<pad>", "<s>", "</s>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", bos_token="<s>", eos_token="</s>")


def scene_paths(root):
    return sorted(root.rglob("scene_*.jsonl"))


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
@pytest.mark.parametrize("which", ["physics_tok", "bpe_tok"])
def test_training_ids_equal_rollout_ids(request, small_dataset, which, fmt):
    tok = request.getfixturevalue(which)
    for path in scene_paths(small_dataset)[::3]:
        q = fmt.quantize(read_scene(path))
        window = scene_windows(path, tok, 2048, fmt)[0]
        builder = PromptBuilder(tok, q.header, fmt)
        assert window["first_frame"] == fmt.first_frame
        for t in range(fmt.first_frame, fmt.first_frame + window["num_frames"]):
            for forced, predicted in fmt.frame_segments(q, t):
                builder.add_forced(forced)
                if predicted:  # what a perfect model generates for this object
                    builder.add_generated(tok(predicted, add_special_tokens=False)["input_ids"])
        assert builder.ids + [tok.eos_token_id] == window["input_ids"]


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_bpe_merges_across_the_boundary_when_text_is_tokenized_whole(small_dataset, bpe_tok, fmt):
    """Why segments are tokenized separately: whole-text BPE gives other ids than the rollout path."""
    q = fmt.quantize(read_scene(scene_paths(small_dataset)[0]))
    segments = [text for t in (1, 2) for pair in fmt.frame_segments(q, t) for text in pair if text]
    separate = [i for s in segments for i in bpe_tok(s, add_special_tokens=False)["input_ids"]]
    whole = bpe_tok("".join(segments), add_special_tokens=False)["input_ids"]
    assert bpe_tok.decode(separate) == bpe_tok.decode(whole) == "".join(segments)
    assert separate != whole


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
@pytest.mark.parametrize("which", ["physics_tok", "bpe_tok"])
def test_mask_covers_exactly_the_predicted_parts(request, small_dataset, which, fmt):
    tok = request.getfixturevalue(which)
    path = scene_paths(small_dataset)[1]
    q = fmt.quantize(read_scene(path))
    for w in scene_windows(path, tok, 1024, fmt):
        frames = range(w["first_frame"], w["first_frame"] + w["num_frames"])
        predicted = "".join(p for t in frames for _, p in fmt.frame_segments(q, t))
        forced = "".join(f for t in frames for f, _ in fmt.frame_segments(q, t))
        masked = [i for i, label in zip(w["input_ids"], w["labels"]) if label != IGNORE_INDEX]
        unmasked = [i for i, label in zip(w["input_ids"], w["labels"]) if label == IGNORE_INDEX]
        assert tok.decode(masked) == predicted
        assert tok.decode(unmasked, skip_special_tokens=True) == fmt.header_text(q.header) + forced
        assert [label for label in w["labels"] if label != IGNORE_INDEX] == masked


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_windows_fit_and_tile_the_scene(small_dataset, physics_tok, fmt):
    for path in scene_paths(small_dataset):
        q = fmt.quantize(read_scene(path))
        windows = scene_windows(path, physics_tok, 1024, fmt)
        assert all(len(w["input_ids"]) <= 1024 for w in windows)
        starts = [w["first_frame"] for w in windows]
        ends = [w["first_frame"] + w["num_frames"] for w in windows]
        assert starts[0] == fmt.first_frame and ends[-1] == q.num_frames - 1 and starts[1:] == ends[:-1]


def test_window_too_small_for_one_frame_gives_nothing(small_dataset, physics_tok):
    enc = encode_scene(physics_tok, DEFAULT.quantize(read_scene(scene_paths(small_dataset)[0])), DEFAULT)
    assert cut_windows(enc, len(enc.header_ids) + 3, physics_tok.bos_token_id, physics_tok.eos_token_id) == []


def test_packing_keeps_windows_apart(small_dataset, physics_tok):
    windows = [w for p in scene_paths(small_dataset) for w in scene_windows(p, physics_tok, 600, DEFAULT)]
    rows, efficiency = pack_windows(windows, 2048, physics_tok.pad_token_id)
    assert len(rows) < len(windows) and 0.5 < efficiency <= 1.0
    assert all(len(r["input_ids"]) == 2048 == len(r["labels"]) == len(r["position_ids"]) for r in rows)
    n_targets = sum(sum(label != IGNORE_INDEX for label in w["labels"]) for w in windows)
    assert sum(sum(label != IGNORE_INDEX for label in r["labels"]) for r in rows) == n_targets
    starts = sum(r["position_ids"][:sum(r["attention_mask"])].count(0) for r in rows)
    assert starts == len(windows)  # position ids restart at every window
    with pytest.raises(ValueError):
        pack_windows(windows, 100, physics_tok.pad_token_id)


def test_datasets_pipeline_parallel_and_cached(small_dataset, physics_tok, tmp_path):
    paths = scene_paths(small_dataset)
    ds = build_windows_dataset(paths, physics_tok, DEFAULT, 1024, num_proc=2, cache_dir=tmp_path)
    direct = [w for p in paths for w in scene_windows(p, physics_tok, 1024, DEFAULT)]
    assert ds.num_rows == len(direct)
    assert sorted(map(tuple, ds["input_ids"])) == sorted(tuple(w["input_ids"]) for w in direct)
    cached = list(tmp_path.glob("windows-*.arrow"))
    assert cached
    again = build_windows_dataset(paths, physics_tok, DEFAULT, 1024, num_proc=2, cache_dir=tmp_path)
    assert again.cache_files[0]["filename"] == ds.cache_files[0]["filename"]
    # another format never reuses these windows
    other = build_windows_dataset(paths, physics_tok, get_format("displacement"), 1024, cache_dir=tmp_path)
    assert other.cache_files[0]["filename"] != ds.cache_files[0]["filename"]
    assert sorted(map(tuple, other["input_ids"])) != sorted(map(tuple, ds["input_ids"]))
