"""A lean one-token decode step for the engine (CPU, small models, where per-op overhead is the
cost, not arithmetic).

At batch 1 a decode step of the cpu-preset model spends most of its time not in the matrix
multiplies but in the ~60 small PyTorch ops per layer and the Python around them (docs/engine.md).
This step computes the same function as `GPT.forward_hidden` + `GPT.logits` for one new token per
row, on a cache whose rows all hold the same number of tokens, with fewer ops:

- the RMSNorm weights (and a sqrt(d_model)) are folded into the matrix that follows them
  (attn_norm -> qkv, mlp_norm -> gate/up), so those norms are x * rsqrt(sum(x^2) + d*eps);
- RoPE's rotate_half is a column permutation (the sign lives in the sin table), so the q/k
  columns of W_qkv are appended a second time, permuted: one matmul gives q, k, v and
  rotate_half(q, k), and RoPE becomes one mul + one addcmul on all heads at once;
- the residual adds ride in `addmm` (x + y @ W_o, x + m @ W_down);
- the matrices are laid out as the CPU multiplies them fastest for a few rows when they stream
  from memory, not hot in cache: q/k/v, o and gate/up transposed (row-major K x N, faster than
  F.linear's layout), down_proj as stored (K = ffn > N = d_model: faster than transposed).

The packed matrices are rebuilt when any parameter is replaced or changed in place (its version
counter moves), so generation between optimizer steps (RL) sees the current weights. Results
equal the module path up to float rounding (the folds reorder a multiply). Models with QK-norm
(the norm sits between the projection and RoPE) use the module path.
"""

from __future__ import annotations

import math
import threading

import torch
import torch.nn.functional as F


def _roll_cols(w: torch.Tensor, n_heads: int, d: int) -> torch.Tensor:
    """The columns of w[K, n_heads*d] rolled by d/2 within each head: x @ result equals
    (x @ w) rolled per head, which with the model's signed sin table is RoPE's rotate_half."""
    w = w.reshape(w.shape[0], n_heads, 2, d // 2)
    return torch.cat((w[:, :, 1], w[:, :, 0]), dim=-1).reshape(w.shape[0], n_heads * d)


class DecodeStep:
    def __init__(self, model):
        self.model = model
        self._key = None
        self._lock = threading.Lock()  # batches may decode side by side (chat.turns.complete_many)

    def supported(self, cache) -> bool:
        m = self.model
        dev = m.tok_emb.weight.device
        return (cache.lengths is None and not m.config.qk_norm and dev.type == "cpu"
                and m.tok_emb.weight.dtype == torch.float32
                and not torch.is_autocast_enabled("cpu") and cache.k.dtype == torch.float32)

    def refresh(self) -> None:
        """Re-pack the weights if any parameter changed since the last pack."""
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        m = self.model
        key = tuple((p.data_ptr(), p._version) for p in m.parameters())
        if key == self._key:
            return
        c = m.config
        H, Hk, D = c.n_head, c.n_kv_head, c.head_dim
        nq, nk = H * D, Hk * D
        d = c.d_model
        sqrt_d = math.sqrt(d)
        with torch.no_grad():
            layers = []
            for blk in m.layers:
                # (d, q|k|v); sqrt(d) because the norm below uses sum(x^2), not mean(x^2)
                w_in = (blk.attn.qkv_proj.weight.t()
                        * (blk.attn_norm.weight[:, None] * sqrt_d)).contiguous()
                w_o = blk.attn.o_proj.weight.t().contiguous()
                w_gu = (blk.mlp.gate_up_proj.weight.t()
                        * (blk.mlp_norm.weight[:, None] * sqrt_d)).contiguous()
                # the down projection (K = ffn > N = d_model) streams faster untransposed
                w_d = blk.mlp.down_proj.weight.detach().t()
                layers.append((w_in, w_o, w_gu, w_d, self._eps(d * blk.attn_norm.eps, m),
                               self._eps(d * blk.mlp_norm.eps, m)))
            # cos/sin per position, tiled over the q and k heads: (max_len, (H+Hk)*D)
            cos = m.rope_cos.repeat(1, H + Hk).contiguous()
            sin = m.rope_sin.repeat(1, H + Hk).contiguous()
            self.perm = _roll_cols(torch.arange(nq + nk)[None], H + Hk, D)[0].to(cos.device)
            self.ones = torch.ones(d, 1, device=cos.device)
            self.eps_out = self._eps(d * m.norm.eps, m)
            self.w_norm_out = (m.norm.weight.detach() * sqrt_d).clone()
        self.layers, self.cos, self.sin = layers, cos, sin
        self.dims = (H, Hk, D, nq, nk, c.ffn_dim, H != Hk)
        self._key = key

    @staticmethod
    def _eps(value: float, m) -> torch.Tensor:
        # a float32 tensor, not a Python scalar: adding a scalar costs an extra conversion op
        return torch.full((1, 1), value, dtype=torch.float32, device=m.tok_emb.weight.device)

    def __call__(self, tokens: torch.Tensor, cache) -> torch.Tensor:
        """tokens[B] (one new token per row) -> final-normed hidden states [B, d_model] (what
        `GPT.forward_hidden` gives for the one position; `GPT.logits` turns them into logits, so
        a model that customises its logits keeps doing so); appends to the cache."""
        H, Hk, D, nq, nk, ffn, gqa = self.dims
        pos = cache.pos
        if pos + 1 > min(cache.max_len, self.cos.shape[0]):
            raise ValueError(f"KV cache full: {pos} cached + 1 new > {min(cache.max_len, self.cos.shape[0])}")
        B = tokens.shape[0]
        nqk = nq + nk
        cos, sin = self.cos[pos], self.sin[pos]
        kv = getattr(cache, "_layer_views", None)
        if kv is None:  # per-layer views of this cache, made once
            kv = cache._layer_views = [(cache.k[i], cache.v[i]) for i in range(cache.k.shape[0])]
        x = F.embedding(tokens, self.model.tok_emb.weight)  # (B, d)
        ones = self.ones
        for i, (w_in, w_o, w_gu, w_d, eps1, eps2) in enumerate(self.layers):
            # rms_norm(x) = x * rsqrt(mean(x^2) + eps) = sqrt(d) * x * rsqrt(sum(x^2) + d*eps);
            # sum(x^2) + d*eps in one addmm against a column of ones
            h = x * torch.addmm(eps1, x * x, ones).rsqrt_()
            a = h @ w_in  # (B, q | k | v)
            qk = a[:, :nqk]
            qk = torch.addcmul(qk * cos, qk.index_select(1, self.perm), sin)
            ck, cv = kv[i]
            ck[:, :, pos] = qk[:, nq:].view(B, Hk, D)
            cv[:, :, pos] = a[:, nqk : nqk + nk].view(B, Hk, D)
            y = F.scaled_dot_product_attention(qk[:, :nq].view(B, H, 1, D), ck[:, :, : pos + 1],
                                               cv[:, :, : pos + 1], enable_gqa=gqa)
            x = torch.addmm(x, y.view(B, nq), w_o)
            h = x * torch.addmm(eps2, x * x, ones).rsqrt_()
            gu = h @ w_gu
            x = torch.addmm(x, F.silu(gu[:, :ffn]).mul_(gu[:, ffn:]), w_d)
        cache.pos = pos + 1
        return x * torch.addmm(self.eps_out, x * x, ones).rsqrt_() * self.w_norm_out  # model.norm
