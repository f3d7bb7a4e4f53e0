"""The chat model a post-training stage starts from: an earlier stage's newest checkpoint."""

from __future__ import annotations

from typing import Any

import torch

from chatforge.core.device import pick_device
from chatforge.core.errors import UserError
from chatforge.tokenizer import Tokenizer
from chatforge.train import checkpoint as ckpt
from chatforge.train.dist import setup


def load_chat_stage(ctx: Any, source: str, label: str):
    """A one-process stage that continues from `source`'s chat model (probe, RL, RLHF, ...):
    -> (model on its device, tokenizer, tokenizer dir, the checkpoint's meta, dist info)."""
    dist = setup(pick_device(ctx.config.run.device))
    if dist.world_size > 1:
        raise UserError(f"the {label} stage runs on one process; start it without torchrun.")
    torch.manual_seed(ctx.config.run.seed)
    model, tok_dir, meta = ckpt.load_model(ctx.input_dir(source), dist.device)
    tok_dir = tok_dir or ctx.input_dir("tokenizer")
    return model, Tokenizer.load(tok_dir), tok_dir, meta, dist
