"""The Llama/Qwen3-family decoder: `GPT`, `KVCache`, `ModelConfig`."""

from chatforge.model.config import ModelConfig
from chatforge.model.gpt import GPT, KVCache

__all__ = ["GPT", "KVCache", "ModelConfig"]
