"""The model: a Llama/Qwen3-family decoder (see gpt.py).

`GPT` and `KVCache` are imported lazily so that reading the model config (every CLI call does)
does not pay for importing torch.
"""

from chatforge.model.config import ModelConfig

__all__ = ["GPT", "KVCache", "ModelConfig"]


def __getattr__(name):
    if name in ("GPT", "KVCache"):
        from chatforge.model import gpt  # noqa: PLC0415 - start-up time

        return getattr(gpt, name)
    raise AttributeError(f"module 'chatforge.model' has no attribute {name!r}")
