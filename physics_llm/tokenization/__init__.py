"""Scenes as text: the codec (scene <-> text), PhysicsTokenizer, training windows and prompts.

See docs/text_format.md for the format with a worked example.
"""

from physics_llm.tokenization.codec import (
    QuantizedScene,
    forced_prefix,
    frame_marker,
    frame_segments,
    integrate,
    parse_predicted,
    predicted_part,
    quantize,
    render_frames,
    render_header,
)
from physics_llm.tokenization.prompt import PromptBuilder
from physics_llm.tokenization.tokenizer import build_physics_tokenizer
from physics_llm.tokenization.windows import (
    IGNORE_INDEX,
    build_windows_dataset,
    cut_windows,
    encode_scene,
    pack_windows,
    scene_windows,
    tokenize_segments,
)

__all__ = [
    "IGNORE_INDEX", "PromptBuilder", "QuantizedScene", "build_physics_tokenizer", "build_windows_dataset",
    "cut_windows", "encode_scene", "forced_prefix", "frame_marker", "frame_segments", "integrate",
    "pack_windows", "parse_predicted", "predicted_part", "quantize", "render_frames", "render_header",
    "scene_windows", "tokenize_segments",
]
