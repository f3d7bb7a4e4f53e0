"""Validation bits per byte for any checkpoint of a run, on the pretrain stage's held-out split.

The same windows the pretrain stage measured (its `val` shards, its sequence length and its
`eval_tokens` budget), so the base model's figure here is the one pretraining reported, and a
chat model's shows what fine-tuning cost the document simulator. A checkpoint with another
vocabulary (an imported model) reads the same held-out documents, decoded from the shards and
encoded with its own tokenizer, each after the model's `<|endoftext|>` where it has one (else
joined by blank lines): bits per byte count the text's bytes, not tokens, so the figures compare.
"""

from __future__ import annotations

import contextlib
from pathlib import Path


def same_tokenizer(tok_dir: Path | None, run_dir: Path) -> bool:
    ours = Path(run_dir) / "tokenizer" / "tokenizer.tiktoken"
    theirs = Path(tok_dir) / "tokenizer.tiktoken" if tok_dir else None
    return bool(theirs and ours.is_file() and theirs.is_file() and ours.read_bytes() == theirs.read_bytes())


def val_texts(run_dir: Path, shards, bos: int) -> list[str]:
    """The held-out documents as text: the shards cut at the run's document token, decoded."""
    from chatforge.tokenizer import Tokenizer

    tok = Tokenizer.load(Path(run_dir) / "tokenizer")
    out = []
    for shard in shards:
        cuts = [i for i in (shard == bos).nonzero()[0].tolist()] + [len(shard)]
        for a, b in zip(cuts, cuts[1:]):
            if b > a + 1:
                out.append(tok.decode(shard[a + 1:b].tolist()))
    return out


def val_bpb(model, tokenizer, tok_dir: Path | None, run_dir: Path, cfg) -> tuple[float, float] | None:
    """(bits per byte, its standard error), or None when the run has no pretrain shards."""
    import math

    from chatforge.pretrain import shards as sh
    from chatforge.pretrain.evaluate import token_byte_lengths, val_loss_bpb

    tokens_dir = Path(run_dir) / "pretrain" / "tokens"
    index = sh.load_index(tokens_dir)
    if index is None:
        return None
    val_shards = sh.open_split(tokens_dir, "val")
    if not same_tokenizer(tok_dir, run_dir):
        import numpy as np

        try:  # the model's own document token, as the run's shards have theirs (it stands for no bytes)
            sep, tail = [tokenizer.special("<|endoftext|>")], ""
        except Exception:
            sep, tail = [], "\n\n"
        ids: list[int] = []
        for text in val_texts(run_dir, val_shards, index["bos_id"]):
            ids += sep + tokenizer.encode(text + tail)
        val_shards = [np.asarray(ids, dtype=np.int64)]
    seq_len = min(cfg.pretrain.seq_len or cfg.model.max_seq_len, model.config.max_seq_len)
    val_len = min(seq_len, max(1, sum(len(s) for s in val_shards) - 1))
    val = sh.TokenBatches(val_shards, val_len, cfg.pretrain.batch_size, cfg.run.seed, shuffle=False, require=False)
    if val.windows_per_epoch() == 0:
        return None
    device = next(model.parameters()).device
    windows = max(1, cfg.pretrain.eval_tokens // max(1, val_len))
    _, bpb, se = val_loss_bpb(model, val, windows, token_byte_lengths(tokenizer).to(device), contextlib.nullcontext)
    return (bpb, se) if math.isfinite(bpb) else None
