"""Training only the top of a model: the cheaper fine-tuning step a real model on a CPU needs.

With the embedding and the bottom blocks frozen, the backward pass stops at the lowest trained
block, and neither the (tied) embedding's gradient nor its optimizer state is computed. On
SmolLM2-135M (2-core AVX512-BF16 EPYC, B4 x T256, bf16 autocast) the top 15 of 30 blocks train
at 1.7x the tokens/s of the full model (bench/smol_train.py, docs/results.md).
"""

from __future__ import annotations

from torch import nn


def train_top(model: nn.Module, n: int) -> int:
    """Leave only the top `n` blocks and the final norm trainable (n <= 0 or >= the depth: the
    whole model); -> the number of trainable parameters."""
    layers = model.layers
    for p in model.parameters():
        p.requires_grad_(True)
    if 0 < n < len(layers):
        model.tok_emb.weight.requires_grad_(False)
        if model.lm_head is not None:
            model.lm_head.weight.requires_grad_(True)  # an untied head is the top, not the embedding
        for block in layers[: len(layers) - n]:
            for p in block.parameters():
                p.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
