"""An induction circuit written into a fresh model's weights: an initialisation, not a new layer.

A model that cannot copy from its context cannot use tools (a number into the calculator, a name
into a search query). Induction heads, the circuit that copies, form late in training: after
~10^5.7 x sqrt(batch x context) tokens by Aoyama, Wilcox and Schneider (2025), more than the
cpu preset's whole budget, and on this project's 2.5M-parameter model not at all within 9.2M
tokens of pure copy exercises (docs/sft.md). The known bottleneck is the attention pattern
("What Happens During the Loss Plateau?", 2025; Olsson et al. 2022 saw induction form almost at
once when keys mix in the previous token). So the two heads are built into the initial weights:

- layer 0, head 0, a **previous-token head**: its query and key read one constant embedding
  dimension, placed on RoPE's fast frequency pairs so that q.k peaks at the previous position;
  its value copies the token subspace T of the residual stream and its output writes that into a
  subspace P that the embeddings leave at zero. After layer 0, position t holds its own token in
  T and the previous token in P.
- layer 1, head 0, an **induction head**: its query reads T (the current token), its key reads P
  (the token before each earlier position), both through the same random projection and only on
  RoPE's slow pairs (nearly position-free over the context), so position s scores high when the
  token before s is the current token; its value reads T at s (the token that followed the
  earlier occurrence) and its output adds it to T, which the tied unembedding turns into a high
  logit for that token.

Everything else keeps the ordinary random initialisation, and every weight stays trainable, so
pretraining is free to keep, refine or undo the circuit. The architecture and the parameter set
are unchanged: the Hugging Face / GGUF mapping stays exact.

Dimensions: T = [0, dT), P = [dT, 2 dT), the constant at 2 dT, with dT = head_dim (so it needs
d_model > 2 head_dim and n_layer >= 2). A larger `rope_theta` leaves more slow pairs for the
content match (1e6, Qwen's value, gives 32 of 64 head dimensions at context 256).
"""

from __future__ import annotations

import math

import torch

from chatforge.core.errors import UserError


def _inv_freq(c) -> torch.Tensor:
    D = c.head_dim
    return 1.0 / (c.rope_theta ** (torch.arange(0, D, 2).float() / D))


def _check(model) -> None:
    c = model.config
    if c.n_layer < 2 or c.d_model <= 2 * c.head_dim or not c.tie_embeddings:
        raise UserError("the induction-circuit initialisation needs n_layer >= 2, d_model > 2 x head "
                        f"size ({c.d_model} vs {c.head_dim}) and tied embeddings.")


@torch.no_grad()
def init_induction_circuit(model, match_dims: int = 0, prev_margin: float = 8.0,
                           match_margin: float = 12.0, write_scale: float = 2.0,
                           match_distance: int = 256) -> dict:
    """Write the two heads into `model` (fresh from GPT.build). Returns what was built, for logs.

    `prev_margin`: logits by which the previous position beats every other one in layer 0.
    `match_margin`: the induction head's mean score for a matching position (non-matches score
    ~0 with a spread of match_margin / sqrt(match_dims)). `write_scale`: the size of what each head
    writes, relative to the embeddings' per-dimension scale. `match_distance`: the content match
    uses RoPE pairs that turn by less than 0.3 rad over this many positions."""
    _check(model)
    c = model.config
    D, H, Hk = c.head_dim, c.n_head, c.n_kv_head
    T, P, K = slice(0, D), slice(D, 2 * D), 2 * D  # token subspace, previous-token subspace, constant
    emb = model.tok_emb.weight
    std = float(emb[:, T].std())
    emb[:, P] = 0.0
    const = 5 * std  # the constant dimension stands out of the rest after RMSNorm
    emb[:, K] = const
    inv = _inv_freq(c)

    # --- layer 0, head 0: previous-token attention from the constant dimension ---------------
    l0 = model.layers[0]
    xhat = l0.attn_norm(emb)  # what the first attention reads, per token
    k0 = float(xhat[:, K].mean())
    fast = [i for i in range(D // 2) if inv[i] >= 0.05] or [0]
    d_rel = torch.arange(-(c.max_seq_len - 1), 1).float()  # key - query
    prof = torch.cos((d_rel[:, None] + 1) * inv[fast][None, :]).sum(1)
    gap = float(prof[d_rel == -1] - prof[d_rel != -1].max())
    if gap <= 1e-3:
        raise UserError(f"rope_theta {c.rope_theta} leaves no fast RoPE pairs for a previous-token head.")
    a = math.sqrt(prev_margin * math.sqrt(D) / gap) / k0
    w0 = l0.attn.qkv_proj.weight  # rows: q heads (H*D), k heads (Hk*D), v heads (Hk*D)
    q0, k0r, v0 = 0, H * D, (H + Hk) * D
    w0[q0:q0 + D, :] = 0.0
    w0[k0r:k0r + D, :] = 0.0
    for i in fast:  # pair i is (dim i, dim i + D/2), turned by theta_i per position
        w0[q0 + i, K] = a
        w0[k0r + i, K] = a * math.cos(float(inv[i]))
        w0[k0r + i + D // 2, K] = a * math.sin(float(inv[i]))
    # value: copy T; output: into P. RMSNorm makes T's entries ~1 where the embedding had ~std,
    # so the output is scaled back to the embeddings' size.
    w0[v0:v0 + D, :] = 0.0
    w0[v0:v0 + D, T] = torch.eye(D)
    o0 = l0.attn.o_proj.weight  # (d, H*D)
    o0[:, 0:D] = 0.0
    o0[P, 0:D] = torch.eye(D) * (write_scale * std)

    # --- layer 1, head 0: match T (query) against P (key), copy T ----------------------------
    l1 = model.layers[1]
    slow = [i for i in range(D // 2) if inv[i] * match_distance <= 0.3]
    if match_dims:
        slow = slow[-max(1, match_dims // 2):]
    if len(slow) < 4:
        raise UserError(f"rope_theta {c.rope_theta} leaves {len(slow)} slow RoPE pairs for content matching "
                        f"at distance {match_distance}; raise model.rope_theta (1e6 gives 16 at 256).")
    dims = [i for i in slow] + [i + D // 2 for i in slow]
    g = torch.Generator().manual_seed(0)
    R = torch.randn(len(dims), D, generator=g) / math.sqrt(D)  # shared projection of T and P
    w1 = l1.attn.qkv_proj.weight
    w1[q0:q0 + D, :] = 0.0
    w1[k0r:k0r + D, :] = 0.0
    # calibrate on the layer-1 input of a synthetic pair (token in T, same token in P)
    x = emb.clone()
    x[:, P] = emb[:, T] * write_scale
    xh = l1.attn_norm(x)
    match = ((xh[:, T] @ R.T) * (xh[:, P] @ R.T)).sum(1).mean()
    b = math.sqrt(match_margin * math.sqrt(D) / float(match))
    for j, dim in enumerate(dims):
        w1[q0 + dim, T] = b * R[j]
        w1[k0r + dim, P] = b * R[j]
    w1[v0:v0 + D, :] = 0.0
    w1[v0:v0 + D, T] = torch.eye(D)
    o1 = l1.attn.o_proj.weight
    o1[:, 0:D] = 0.0
    o1[T, 0:D] = torch.eye(D) * (write_scale * 3 * std)
    return {"prev_pairs": len(fast), "prev_gap": round(gap, 3), "match_dims": len(dims),
            "embedding_std": round(std, 4)}
