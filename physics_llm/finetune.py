"""LoRA fine-tuning of a pretrained causal LM (LFM2 by default): backend choice, loading, merging.

Two backends build the same thing, a base model with LoRA adapters on its linear layers:

* ``hf``: ``AutoModelForCausalLM.from_pretrained`` + ``peft.get_peft_model``; always available.
* ``unsloth``: ``unsloth.FastLanguageModel`` (CUDA only, optional: ``pip install -r requirements-gpu.txt``).

The trained adapter is what ``Trainer`` saves for a ``PeftModel`` (``adapter_config.json`` +
``adapter_model.safetensors``); :func:`load_finetuned` loads it back onto its base (the base path is
read from ``adapter_config.json``) and can merge it into plain weights.

No LFM2 weights can be downloaded in tests: :func:`build_tiny_lfm2` saves a random few-layer LFM2 with
a byte-level BPE tokenizer trained on scene text, loaded through the same ``from_pretrained`` path.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from typing import Iterable

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

log = logging.getLogger(__name__)

DEFAULT_BASE_MODEL = "LiquidAI/LFM2-350M"
# LFM2's linear layers: attention (q/k/v/out_proj), short-conv blocks (in_proj/out_proj), MLP (w1/w2/w3).
DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "out_proj", "in_proj", "w1", "w2", "w3")
BACKENDS = ("auto", "hf", "unsloth")
UNSLOTH_HINT = ("--backend unsloth needs unsloth (CUDA only): pip install -r requirements-gpu.txt; "
                "or use --backend hf")


# --------------------------------------------------------------------------- backend


def import_unsloth():
    """``unsloth.FastLanguageModel``, or ``RuntimeError`` with the install hint (the one import site)."""
    try:
        from unsloth import FastLanguageModel
    except ImportError as e:
        raise RuntimeError(f"{UNSLOTH_HINT} ({e})") from None
    return FastLanguageModel


def choose_backend(backend: str) -> str:
    """``hf`` or ``unsloth``. ``auto`` picks unsloth only with CUDA and unsloth installed."""
    if backend not in BACKENDS:
        raise ValueError(f"--backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "unsloth":
        import_unsloth()
        return "unsloth"
    if backend == "auto" and torch.cuda.is_available() and importlib.util.find_spec("unsloth") is not None:
        return "unsloth"
    return "hf"


def parse_target_modules(value: str | Iterable[str]) -> list[str]:
    """``"q_proj v_proj"``, ``"q_proj,v_proj"`` (flag) or a YAML list -> names."""
    names = value.replace(",", " ").split() if isinstance(value, str) else [str(v) for v in value]
    if not names:
        raise ValueError("--lora-target-modules is empty")
    return names


def linear_module_names(model) -> set[str]:
    """Last name component of every ``nn.Linear`` (what LoRA ``target_modules`` match), lm_head aside."""
    return {name.rsplit(".", 1)[-1] for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and not name.endswith("lm_head")}


def check_target_modules(model, targets: list[str]) -> None:
    """Every target must name a linear layer of the model: a typo would silently train less."""
    available = linear_module_names(model)
    unknown = [t for t in targets if t not in available]
    if unknown:
        raise ValueError(f"--lora-target-modules {' '.join(unknown)}: no such linear layer in "
                         f"{model.config.model_type}; available: {' '.join(sorted(available))}")


# --------------------------------------------------------------------------- loading


def _ensure_pad(tokenizer) -> None:
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
        log.info("tokenizer has no pad token: using eos %r", tokenizer.eos_token)


def load_lora_model(base_model: str, backend: str, *, lora_r: int, lora_alpha: int, lora_dropout: float,
                    target_modules: list[str], max_seq_length: int, gradient_checkpointing: bool,
                    adapter_dir: str | Path | None = None, seed: int = 0):
    """(model with trainable LoRA adapters, tokenizer). ``adapter_dir``: continue from a saved adapter
    (resume) instead of fresh adapters. ``backend`` is ``hf`` or ``unsloth`` (see :func:`choose_backend`)."""
    if backend == "unsloth":
        return _load_unsloth(base_model, lora_r=lora_r, lora_alpha=lora_alpha, lora_dropout=lora_dropout,
                             target_modules=target_modules, max_seq_length=max_seq_length,
                             gradient_checkpointing=gradient_checkpointing, adapter_dir=adapter_dir, seed=seed)
    from peft import LoraConfig, PeftModel, get_peft_model

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    _ensure_pad(tokenizer)
    dtype = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(base_model, dtype=dtype)
    check_target_modules(model, target_modules)
    if gradient_checkpointing:
        model.enable_input_require_grads()  # LoRA-only grads must still flow through checkpointed blocks
    if adapter_dir is not None:
        model = PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=True)
    else:
        model = get_peft_model(model, LoraConfig(r=lora_r, lora_alpha=lora_alpha, lora_dropout=lora_dropout,
                                                 target_modules=list(target_modules), task_type="CAUSAL_LM"))
    return model, tokenizer


def _load_unsloth(base_model, *, lora_r, lora_alpha, lora_dropout, target_modules, max_seq_length,
                  gradient_checkpointing, adapter_dir, seed):
    FastLanguageModel = import_unsloth()
    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name=str(adapter_dir or base_model), max_seq_length=max_seq_length, dtype=None, load_in_4bit=False)
    _ensure_pad(tokenizer)
    if adapter_dir is None:
        check_target_modules(model, target_modules)
        model = FastLanguageModel.get_peft_model(
            model, r=lora_r, lora_alpha=lora_alpha, lora_dropout=lora_dropout, target_modules=list(target_modules),
            bias="none", use_gradient_checkpointing="unsloth" if gradient_checkpointing else False,
            random_state=seed)
    return model, tokenizer


def load_finetuned(checkpoint_dir: str | Path, base_model: str | None = None, merge: bool = False):
    """(model in eval mode, tokenizer) from a stage or ``checkpoint-N`` directory.

    With ``adapter_config.json`` there: the base model (``base_model``, else the path recorded in the
    adapter config) plus the adapter, merged into plain weights when ``merge``. Without it: a full
    (e.g. already merged) model. The tokenizer comes from ``checkpoint_dir`` when saved there."""
    from peft import PeftModel

    ckpt = Path(checkpoint_dir)
    adapter_config = ckpt / "adapter_config.json"
    has_tokenizer = (ckpt / "tokenizer_config.json").exists()
    if not adapter_config.exists():
        model = AutoModelForCausalLM.from_pretrained(ckpt)
        return model.eval(), AutoTokenizer.from_pretrained(ckpt)
    base = base_model or json.loads(adapter_config.read_text(encoding="utf-8"))["base_model_name_or_path"]
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), str(ckpt))
    if merge:
        model = model.merge_and_unload()
    return model.eval(), AutoTokenizer.from_pretrained(ckpt if has_tokenizer else base)


def save_merged(checkpoint_dir: str | Path, output_dir: str | Path, base_model: str | None = None) -> Path:
    """Merge the adapter in ``checkpoint_dir`` into its base and save a plain model + tokenizer."""
    model, tokenizer = load_finetuned(checkpoint_dir, base_model, merge=True)
    out = Path(output_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


# --------------------------------------------------------------------------- a tiny LFM2 for tests


def scene_texts(data_dir: str | Path, limit: int | None = None, text_format: str | None = None) -> list[str]:
    """Whole-scene text (header + every frame) of the scenes under ``data_dir`` in ``text_format`` (None: the
    default format)."""
    from physics_llm.scene_format import read_scene
    from physics_llm.tokenization.formats import DEFAULT_FORMAT, parse_format

    fmt = parse_format(text_format or DEFAULT_FORMAT)
    return [fmt.scene_text(fmt.quantize(read_scene(path)))
            for path in sorted(Path(data_dir).rglob("scene_*.jsonl"))[:limit]]


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int = 512, model_max_length: int = 8192):
    """Byte-level BPE (merges digits, spaces and ``|`` freely, like LFM2's) with <pad>, <s>, </s>."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.train_from_iterator(list(texts), trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
                                   model_max_length=model_max_length)


def build_tiny_lfm2(output_dir: str | Path, texts: Iterable[str], vocab_size: int = 512, hidden_size: int = 64,
                    layer_types: tuple[str, ...] = ("conv", "full_attention", "conv", "full_attention"),
                    max_position_embeddings: int = 8192, seed: int = 0) -> Path:
    """Save a random LFM2 (``Lfm2ForCausalLM``) and a BPE tokenizer trained on ``texts`` to ``output_dir``:
    a stand-in for ``LiquidAI/LFM2-350M`` with the same module names (about 0.2M parameters)."""
    from transformers import Lfm2Config, Lfm2ForCausalLM

    tokenizer = train_bpe_tokenizer(texts, vocab_size, max_position_embeddings)
    config = Lfm2Config(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                        block_auto_adjust_ff_dim=False, num_hidden_layers=len(layer_types),
                        layer_types=list(layer_types), num_attention_heads=4, num_key_value_heads=2,
                        max_position_embeddings=max_position_embeddings, pad_token_id=tokenizer.pad_token_id,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(seed)
    model = Lfm2ForCausalLM(config)
    out = Path(output_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    log.info("tiny LFM2 (%d layers %s, hidden %d, vocab %d, %.2fM parameters) saved to %s", len(layer_types),
             "/".join(layer_types), hidden_size, len(tokenizer), sum(p.numel() for p in model.parameters()) / 1e6,
             out)
    return out
