"""Models: the scratch GPT (muP), registered with the Auto classes on import.

After ``import physics_llm.models``, ``AutoModelForCausalLM.from_pretrained(dir)`` loads a saved scratch GPT
(``model_type = "physics_gpt"``) like any Hugging Face model.
"""

from transformers import AutoConfig, AutoModelForCausalLM

from physics_llm.models.gpt import GPTConfig, GPTForCausalLM
from physics_llm.models.mup import mup_param_groups
from physics_llm.models.sizes import DEFAULT_MAX_SEQ_LENGTH, MODEL_SIZES, gpt_config_for_size

AutoConfig.register(GPTConfig.model_type, GPTConfig, exist_ok=True)
AutoModelForCausalLM.register(GPTConfig, GPTForCausalLM, exist_ok=True)

__all__ = ["DEFAULT_MAX_SEQ_LENGTH", "MODEL_SIZES", "GPTConfig", "GPTForCausalLM", "gpt_config_for_size", "mup_param_groups"]
