"""What export and import need working: torch, and the safetensors / gguf / jinja2 writers."""

from __future__ import annotations

from chatforge.core.deps import TORCH, Check, imports


def checks(cfg=None) -> list[Check]:
    return [TORCH, Check("safetensors, gguf, jinja2 (exports)", "safetensors gguf jinja2",
                         imports("safetensors.torch", "gguf", "jinja2.sandbox"))]
