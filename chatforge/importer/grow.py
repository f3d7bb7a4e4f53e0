"""Special tokens a model's vocabulary lacks, added to it: new ids after its last row.

SmolLM2's vocabulary has ChatML but not chatforge's tool markers (`<|tool_call|>` ...). Written
as text, a marker is several ordinary tokens that anyone can type, so a user or a web page
returned by search could forge a tool call or close a tool result; as special tokens they are
ids that only the renderer and the engine produce (chatforge.tokenizer never encodes text to a
special id). Each new row of the embedding (and of an untied output matrix) starts at the mean
of the existing rows, so the new tokens start out as "an average token" rather than as noise
with a large logit (the usual choice when a vocabulary grows: Hewitt 2021).
"""

from __future__ import annotations

import dataclasses

import torch

from chatforge.importer.weights import Read


def add_specials(r: Read, names: tuple[str, ...]) -> tuple[Read, list[str]]:
    """-> (the same model with `names` that its vocabulary lacks added, the names added)."""
    have = {r.vocab.tokens[i] for i in r.vocab.special}
    new = [n for n in names if n not in have]
    if not new:
        return r, []
    first = max(len(r.vocab.tokens), r.config.vocab_size)
    tokens = list(r.vocab.tokens) + [f"<|unused_{i}|>" for i in range(len(r.vocab.tokens), first)]
    unused = set(r.vocab.unused) | set(range(len(r.vocab.tokens), first))
    ids = list(range(first, first + len(new)))
    vocab = dataclasses.replace(r.vocab, tokens=tokens + new, special=set(r.vocab.special) | set(ids),
                                unused=unused)
    size = first + len(new)
    state = dict(r.state)
    for key in ("tok_emb.weight", "lm_head.weight"):
        if key in state:
            w = state[key]
            rows = w.mean(0, keepdim=True).expand(size - w.shape[0], -1)
            state[key] = torch.cat([w, rows]).contiguous()
    config = dataclasses.replace(r.config, vocab_size=size)
    return dataclasses.replace(r, config=config, state=state, vocab=vocab,
                               meta={**r.meta, "added_specials": dict(zip(new, ids))}), new
