"""Watching a base model learn: samples from fixed prompts drawn from its own validation documents.

(Its validation loss and bits per byte are chatforge.eval.bpb's.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from chatforge.engine import Engine
from chatforge.engine.sampling import SamplingParams
from chatforge.train.shards import load_index, open_split


def sample_prompts(tokens_dir: str | Path, tokenizer, n: int = 3, words: int = 4) -> list[str]:
    """Default prompts: the first few words of the first n validation documents (fixed for the
    run, drawn from the data itself, so they read like the documents the model is learning)."""
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
    was_training = model.training
    eot = tokenizer.special("<|endoftext|>")
    limit = model.config.max_seq_len - max_new_tokens
    ids = [([eot] + tokenizer.encode(p))[-max(1, limit):] for p in prompts]
    try:
        with autocast():
            outs = Engine(model, tokenizer).generate(
                ids, max_new_tokens=max_new_tokens, sampling=SamplingParams(temperature, top_k or None),
                seed=seed, stop_ids=[eot])
    finally:
        model.train(was_training)
    return [tokenizer.decode([t for t in o.tokens if not tokenizer.is_special(t)]) for o in outs]
