"""Scenes as text: the header codec, the registered text formats (how a frame is written, predicted and
integrated), PhysicsTokenizer, training windows and prompts.

See docs/text_format.md for the formats with worked examples.
"""

from physics_llm.tokenization.codec import QuantizedScene, frame_marker, quantize, render_header
from physics_llm.tokenization.formats import (
    DEFAULT_FORMAT,
    FORMAT_FILE,
    LEGACY_FORMAT,
    State,
    TextFormat,
    get_format,
    list_formats,
    load_format,
    parse_format,
    register_format,
    resolve_format,
    save_format,
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
    "DEFAULT_FORMAT", "FORMAT_FILE", "IGNORE_INDEX", "LEGACY_FORMAT", "PromptBuilder", "QuantizedScene", "State",
    "TextFormat", "build_physics_tokenizer", "build_windows_dataset", "cut_windows", "encode_scene",
    "frame_marker", "get_format", "list_formats", "load_format", "pack_windows", "parse_format", "quantize",
    "register_format", "render_header", "resolve_format", "save_format", "scene_windows", "tokenize_segments",
]
