"""Validation bits per byte for any checkpoint of a run, on the pretrain stage's held-out split.

The same windows the pretrain stage measured (its `val` shards, its sequence length and its
`eval_tokens` budget), so the base model's figure here is the one pretraining reported, and a
chat model's shows what fine-tuning cost the document simulator. Only for checkpoints that share
the run's tokenizer: the shards are token ids (an imported model with its own vocabulary gets
None, not a figure on different text).
"""

from __future__ import annotations

import contextlib
from pathlib import Path


def same_tokenizer(tok_dir: Path | None, run_dir: Path) -> bool:
    ours = Path(run_dir) / "tokenizer" / "tokenizer.tiktoken"
    theirs = Path(tok_dir) / "tokenizer.tiktoken" if tok_dir else None
    return bool(theirs and ours.is_file() and theirs.is_file() and ours.read_bytes() == theirs.read_bytes())


def val_bpb(model, tokenizer, tok_dir: Path | None, run_dir: Path, cfg) -> tuple[float, float] | None:
    """(bits per byte, its standard error) or None (no pretrain shards, or another tokenizer)."""
    import math

    from chatforge.pretrain import shards as sh
    from chatforge.pretrain.evaluate import token_byte_lengths, val_loss_bpb

    tokens_dir = Path(run_dir) / "pretrain" / "tokens"
    if sh.load_index(tokens_dir) is None or not same_tokenizer(tok_dir, run_dir):
        return None
    val_shards = sh.open_split(tokens_dir, "val")
    seq_len = min(cfg.pretrain.seq_len or cfg.model.max_seq_len, model.config.max_seq_len)
    val_len = min(seq_len, max(1, sum(len(s) for s in val_shards) - 1))
    val = sh.TokenBatches(val_shards, val_len, cfg.pretrain.batch_size, cfg.run.seed, shuffle=False, require=False)
    if val.windows_per_epoch() == 0:
        return None
    device = next(model.parameters()).device
    windows = max(1, cfg.pretrain.eval_tokens // max(1, val_len))
    _, bpb, se = val_loss_bpb(model, val, windows, token_byte_lengths(tokenizer).to(device), contextlib.nullcontext)
    return (bpb, se) if math.isfinite(bpb) else None
