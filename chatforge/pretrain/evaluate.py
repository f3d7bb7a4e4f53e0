"""Watching a base model learn: validation loss, bits per byte, and samples from fixed prompts.

Bits per byte divides the summed loss (in bits) by the number of UTF-8 bytes the predicted
tokens stand for. Unlike loss per token it does not depend on the tokenizer, so runs with
different vocabularies compare. Special tokens stand for no bytes and are left out of both sums.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import torch


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
    from chatforge.train.dist import all_reduce_sum

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


def sample_prompts(tokens_dir: str | Path, tokenizer, n: int = 3, words: int = 4) -> list[str]:
    """Default prompts: the first few words of the first n validation documents (fixed for the
    run, drawn from the data itself, so they read like the documents the model is learning)."""
    from chatforge.pretrain.shards import load_index, open_split

    index = load_index(tokens_dir)
    bos = index["bos_id"]
    prompts: list[str] = []
    for split in ("val", "train"):
        for shard in open_split(tokens_dir, split):
            starts = [int(i) for i in (shard[:200_000] == bos).nonzero()[0][:50]]
            for a in starts:
                ids = [int(t) for t in shard[a + 1: a + 64] if int(t) != bos]
                text = tokenizer.decode(ids).strip()
                head = " ".join(text.split()[:words])
                if head and head not in prompts:
                    prompts.append(head)
                if len(prompts) == n:
                    return prompts
    return prompts or ["The"]


def generate(model: torch.nn.Module, tokenizer, prompts: list[str], max_new_tokens: int,
             temperature: float, top_k: int, seed: int, autocast: Callable) -> list[str]:
    """Continuations of `prompts`, each after <|endoftext|> as documents are in training, all
    prompts batched in one engine call; the engine's private generator leaves the training RNG
    untouched (which exact resume relies on)."""
    from chatforge.engine import Engine

    was_training = model.training
    eot = tokenizer.special("<|endoftext|>")
    limit = model.config.max_seq_len - max_new_tokens
    ids = [([eot] + tokenizer.encode(p))[-max(1, limit):] for p in prompts]
    try:
        with autocast():
            outs = Engine(model, tokenizer).generate(
                ids, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k or None,
                seed=seed, stop_ids=[eot])
    finally:
        model.train(was_training)
    return [tokenizer.decode([t for t in o.tokens if not tokenizer.is_special(t)]) for o in outs]
