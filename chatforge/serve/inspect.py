"""What the web page's learner views show: tokens (ours next to cl100k_base) and the model at work.

`inside(model, tokenizer, ids)` runs the model once, normally, with a forward pre-hook on every
attention module. The hook only *reads* the attention's inputs (the normed residual stream and
the RoPE tables) and recomputes the attention weights from the module's own projections:
softmax(q k^T / sqrt(d)) under the causal mask, per head, with grouped-query heads sharing their
key head. The model's code is untouched and its output is the real forward pass; the weights
are what `scaled_dot_product_attention` computes internally but never returns.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

import torch

from chatforge.model.gpt import apply_rope
from chatforge.tokenizer import Tokenizer

_lock = threading.Lock()  # one inspection at a time: they are for people, not for throughput


def token_text(tokenizer, i: int) -> str:
    if tokenizer.is_special(i):
        return next(s for s, j in tokenizer.special_tokens.items() if j == i)
    return tokenizer.id_to_bytes(i).decode("utf-8", errors="replace")


def tokens_view(tokenizer, text: str, limit: int = 4000) -> dict:
    ids = tokenizer.encode(text)
    shown = ids[:limit]
    return {"name": tokenizer.name, "n_vocab": tokenizer.n_vocab, "count": len(ids),
            "truncated": len(ids) > limit,
            "tokens": [{"id": i, "text": token_text(tokenizer, i)} for i in shown]}


@lru_cache(maxsize=1)
def cl100k():
    return Tokenizer.from_encoding("cl100k_base")


def attention_weights(attn, x, cos, sin):
    """[B, H, T, T] attention probabilities of one Attention module for input x (already normed)."""
    B, T, _ = x.shape
    H, Hk, D = attn.n_head, attn.n_kv_head, attn.head_dim
    q, k, _v = attn.qkv_proj(x).view(B, T, H + 2 * Hk, D).split((H, Hk, Hk), dim=2)
    if attn.q_norm is not None:
        q, k = attn.q_norm(q), attn.k_norm(k)
    q, k = apply_rope(q, cos, sin).transpose(1, 2), apply_rope(k, cos, sin).transpose(1, 2)
    k = k.repeat_interleave(H // Hk, dim=1)  # query head h reads key head h // (H / Hk)
    scores = (q.float() @ k.float().transpose(-1, -2)) / math.sqrt(D)
    causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
    return scores.masked_fill(~causal, float("-inf")).softmax(dim=-1)


def inside(model, tokenizer, ids: list[int], top: int = 5) -> dict:
    """Attention maps per layer and head, and the top next-token probabilities at each position."""
    captured: list = []

    def hook(module, args):
        x, cos, sin = args[0], args[1], args[2]
        captured.append(attention_weights(module, x, cos, sin)[0])

    with _lock, torch.inference_mode():
        handles = [layer.attn.register_forward_pre_hook(hook) for layer in model.layers]
        try:
            logits = model(torch.tensor([ids], device=model.tok_emb.weight.device))[0]
        finally:
            for h in handles:
                h.remove()
    probs = logits.float().softmax(dim=-1)
    p, idx = probs.topk(min(top, probs.shape[-1]), dim=-1)
    p, idx = p.tolist(), idx.tolist()
    T = len(ids)
    maps = [a.tolist() for a in captured]
    return {
        "tokens": [{"id": i, "text": token_text(tokenizer, i)} for i in ids],
        "n_layer": len(maps), "n_head": len(maps[0]) if maps else 0,
        # lower triangle only: row t holds the weights of keys 0..t
        "attention": [[[[round(w, 4) for w in head[t][: t + 1]] for t in range(T)] for head in a]
                      for a in maps],
        "top": [[{"id": i, "text": token_text(tokenizer, i), "p": round(q, 4)}
                 for q, i in zip(p[t], idx[t])] for t in range(T)],
    }
