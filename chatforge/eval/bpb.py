"""Validation bits per byte: the measure, and for any checkpoint of a run on the pretrain stage's
held-out split.

Bits per byte divides the summed loss (in bits) by the number of UTF-8 bytes the predicted
tokens stand for. Unlike loss per token it does not depend on the tokenizer, so runs with
different vocabularies compare. Special tokens stand for no bytes and are left out of both sums.

The same windows the pretrain stage measured (its `val` shards, its sequence length and its
`eval_tokens` budget), so the base model's figure here is the one pretraining reported, and a
chat model's shows what fine-tuning cost the document simulator. A checkpoint with another
vocabulary (an imported model) reads the same held-out documents, decoded from the shards and
encoded with its own tokenizer, each after the model's `<|endoftext|>` where it has one (else
joined by blank lines): bits per byte count the text's bytes, not tokens, so the figures compare.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from chatforge.tokenizer import Tokenizer
from chatforge.train import shards as sh
from chatforge.train.dist import all_reduce_sum


def token_byte_lengths(tokenizer) -> torch.Tensor:
    """LongTensor[n_vocab]: UTF-8 bytes of each token, 0 for special tokens and unused ids."""
    out = torch.zeros(tokenizer.n_vocab, dtype=torch.long)
    for i in range(tokenizer.n_vocab):
        if tokenizer.is_special(i):
            continue
        try:
            out[i] = len(tokenizer.id_to_bytes(i))
        except Exception:  # an id no token uses
            pass
    return out


@torch.no_grad()
def val_loss_bpb(model: torch.nn.Module, val, max_windows: int, byte_lens: torch.Tensor,
                 autocast: Callable) -> tuple[float, float, float]:
    """(mean loss in nats per token, bits per byte, standard error of the bits per byte) over the
    first max_windows validation windows, summed across ranks. The standard error comes from the
    spread of bits per byte between windows (each a `seq_len` stretch of held-out documents): two
    runs whose bpb differ by less than ~3 of them are not told apart by this split."""
    was_training = model.training
    model.eval()
    device = byte_lens.device
    # nats, tokens, bytes (byte tokens only), windows, sum and sum of squares of per-window bpb
    sums = torch.zeros(6, dtype=torch.float64, device=device)
    for x, y in val.all_windows(max_windows):
        x, y = x.to(device), y.to(device)
        with autocast():
            logits = model(x)
        nll = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="none")
        nbytes = byte_lens[y.flatten()]
        counted = nbytes > 0
        sums[0] += nll[counted].double().sum()
        sums[1] += counted.sum()
        sums[2] += nbytes.sum()
        rows_nats = (nll.view(y.shape) * counted.view(y.shape)).double().sum(1)
        rows_bytes = nbytes.view(y.shape).double().sum(1)
        ok = rows_bytes > 0
        w_bpb = rows_nats[ok] / math.log(2) / rows_bytes[ok]
        sums[3] += ok.sum()
        sums[4] += w_bpb.sum()
        sums[5] += (w_bpb ** 2).sum()
    all_reduce_sum(sums)
    model.train(was_training)
    nats, tokens, nbytes, n, s1, s2 = sums.tolist()
    if tokens == 0:
        return float("nan"), float("nan"), float("nan")
    se = math.sqrt(max(0.0, s2 / n - (s1 / n) ** 2) / max(1.0, n - 1)) if n > 1 else float("nan")
    return nats / tokens, nats / math.log(2) / max(nbytes, 1.0), se


def same_tokenizer(tok_dir: Path | None, run_dir: Path) -> bool:
    ours = Path(run_dir) / "tokenizer" / "tokenizer.tiktoken"
    theirs = Path(tok_dir) / "tokenizer.tiktoken" if tok_dir else None
    return bool(theirs and ours.is_file() and theirs.is_file() and ours.read_bytes() == theirs.read_bytes())


def val_texts(run_dir: Path, shards, bos: int) -> list[str]:
    """The held-out documents as text: the shards cut at the run's document token, decoded."""
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
    tokens_dir = Path(run_dir) / "pretrain" / "tokens"
    index = sh.load_index(tokens_dir)
    if index is None:
        return None
    val_shards = sh.open_split(tokens_dir, "val")
    if not same_tokenizer(tok_dir, run_dir):
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
    val = sh.TokenBatches(val_shards, val_len, cfg.pretrain.batch_size, cfg.run.seed, shuffle=False,
                          require=False)
    if val.windows_per_epoch() == 0:
        return None
    device = next(model.parameters()).device
    windows = max(1, cfg.pretrain.eval_tokens // max(1, val_len))
    _, bpb, se = val_loss_bpb(model, val, windows, token_byte_lengths(tokenizer).to(device),
                              contextlib.nullcontext)
    return (bpb, se) if math.isfinite(bpb) else None
