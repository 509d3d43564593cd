"""physics-llm: teach language models 2D rigid-body physics from text."""

__version__ = "0.1.0"
