"""The decoder: a Llama / Qwen3-family GPT in one file.

token embedding -> n_layer x [RMSNorm -> attention (RoPE, optional QK-norm, optional GQA) -> +res,
RMSNorm -> SwiGLU MLP -> +res] -> RMSNorm -> output projection (tied to the embedding or not).
No biases anywhere, so the weights map one-to-one onto Hugging Face `LlamaForCausalLM`
(qk_norm=False) or `Qwen3ForCausalLM` (qk_norm=True); `chatforge/model/hf_map.py` does it.

Two fusions for speed on small CPU models (where every extra kernel shows in the profile):
q/k/v are one `qkv_proj` matrix (rows: q heads, then k heads, then v heads) and gate/up are one
`gate_up_proj` matrix (rows: gate, then up). The HF mapping just splits them by rows.

RoPE uses HF's "rotate half" convention: dimension i of a head pairs with i + head_dim/2.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from chatforge.core.errors import UserError
from chatforge.model.config import ModelConfig


def _small_rows(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and torch.is_inference_mode_enabled() and x.numel() <= 64 * x.shape[-1]


def linear_t(x: torch.Tensor, weight: torch.Tensor, holder: object) -> torch.Tensor:
    """x @ weight.T. For a few rows on CPU under inference mode (decoding), multiply by a cached
    row-major copy of weight.T instead: a batch-1 decode step is faster than with F.linear, which
    walks the weight in the slower order (docs/model.md). The copy is rebuilt whenever
    the weight is replaced or changed in place (an optimizer step bumps its version), so
    generation between training steps (RL) always sees current weights."""
    if not _small_rows(x):
        return F.linear(x, weight)
    key = (weight.data_ptr(), weight._version, weight.dtype)
    cached = getattr(holder, "_wt_cache", None)
    if cached is None or cached[0] != key:
        cached = (key, weight.detach().t().contiguous())
        holder._wt_cache = cached
    return x @ cached[1]


class Linear(nn.Linear):
    """A bias-free nn.Linear that decodes through `linear_t` (same parameters; results equal up to
    float rounding)."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__(d_in, d_out, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear_t(x, self.weight, self)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # F.rms_norm is one fused kernel; the hand-written pow/mean/rsqrt chain is four.
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


def rope_tables(head_dim: int, max_len: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and signed sin of shape (max_len, head_dim), in float32, computed as HF does.

    Rotate-half RoPE is x * cos + rotate_half(x) * sin with rotate_half(x) = [-x2, x1]. Storing
    sin as [-sin, sin] turns that into x * cos + roll(x, head_dim/2) * sin_signed: three kernels
    (mul, roll, addcmul) instead of the five or seven of the textbook forms, which matters because
    RoPE runs on q and k in every layer."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    freqs = torch.outer(torch.arange(max_len, dtype=torch.float32), inv_freq)
    cos, sin = freqs.cos(), freqs.sin()
    return torch.cat((cos, cos), dim=-1), torch.cat((-sin, sin), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin_signed: torch.Tensor) -> torch.Tensor:
    """RoPE on x[..., T, heads, head_dim]; the tables broadcast as [..., T, 1, head_dim]."""
    return torch.addcmul(x * cos, x.roll(x.shape[-1] // 2, dims=-1), sin_signed)


def one_query_attention(q: torch.Tensor, keys: torch.Tensor, vals: torch.Tensor,
                        mask: torch.Tensor | None) -> torch.Tensor:
    """Attention of one new token per row (a decode step) in bf16: q (B, H, 1, D) against the
    cache's keys/vals (B, Hk, S, D), grouped-query heads sharing a key head, mask (B, 1, 1, S) or
    None. The same function as scaled_dot_product_attention with scores and softmax in float32,
    4-10x faster: on CPU the bf16 SDPA kernel with a mask spends ~10 ms where this spends ~1-2
    (48 rows, 300 keys; it was a third of every bf16 evaluation, docs/engine.md)."""
    B, H, _, D = q.shape
    Hk, S = keys.shape[1], keys.shape[2]
    scores = torch.matmul(q.reshape(B, Hk, H // Hk, D).float(), keys.float().transpose(-1, -2))
    scores.mul_(D ** -0.5)
    if mask is not None:
        scores.masked_fill_(~mask.reshape(B, 1, 1, S), float("-inf"))
    probs = torch.softmax(scores, dim=-1).to(vals.dtype)
    return torch.matmul(probs, vals).reshape(B, H, 1, D)


class KVCache:
    """Preallocated keys/values for every layer: k, v of shape (n_layer, B, n_kv_head, max_len, head_dim).

    `pos` is the number of tokens already cached (the longest row's count when rows differ).
    `lengths` is None while every row holds `pos` tokens; the engine sets it (a LongTensor[B])
    when rows hold different numbers of tokens (prompts of different lengths prefilled together,
    right-padded). Then each row writes its new tokens at its own length, RoPE uses per-row
    positions, and attention masks every key at or beyond the row's own position.
    """

    def __init__(self, n_layer: int, batch: int, n_kv_head: int, max_len: int, head_dim: int,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu", zeroed: bool = True):
        shape = (n_layer, batch, n_kv_head, max_len, head_dim)
        alloc = torch.zeros if zeroed else torch.empty  # empty: the caller writes every slot
        self.k = alloc(shape, dtype=dtype, device=device)
        self.v = alloc(shape, dtype=dtype, device=device)
        self.pos = 0
        self.lengths: torch.Tensor | None = None

    @classmethod
    def for_model(cls, model: GPT, batch: int, max_len: int | None = None,
                  dtype: torch.dtype | None = None) -> KVCache:
        c = model.config
        max_len = max_len or c.max_seq_len
        p = model.tok_emb.weight
        return cls(c.n_layer, batch, c.n_kv_head, max_len, c.head_dim, dtype or p.dtype, p.device)

    @property
    def batch(self) -> int:
        return self.k.shape[1]

    @property
    def max_len(self) -> int:
        return self.k.shape[3]

    def set_lengths(self, lengths: torch.Tensor | list[int]) -> None:
        """Declare how many tokens each row really holds (after a right-padded prefill)."""
        lengths = torch.as_tensor(lengths, dtype=torch.long, device=self.k.device)
        if bool((lengths == lengths[0]).all()):
            self.lengths, self.pos = None, int(lengths[0])
        else:
            self.lengths, self.pos = lengths, int(lengths.max())

    def row_lengths(self) -> torch.Tensor:
        if self.lengths is not None:
            return self.lengths
        return torch.full((self.batch,), self.pos, dtype=torch.long, device=self.k.device)

    def select_rows(self, index: torch.Tensor | list[int], max_len: int | None = None) -> KVCache:
        """A new cache whose row i is a copy of row index[i] (e.g. one prompt -> many samples), with
        `max_len` positions (default: as many as this one; more to grow it)."""
        index = torch.as_tensor(index, dtype=torch.long, device=self.k.device)
        n_layer, _, h, L, d = self.k.shape
        # the copied slots are written once, not zeroed first; the rest is zeroed, as masked slots
        # are still read (and 0 * NaN from uninitialised memory would poison the attention sum)
        out = KVCache(n_layer, len(index), h, max_len or L, d, self.k.dtype, self.k.device, zeroed=False)
        torch.index_select(self.k[:, :, :, : self.pos], 1, index, out=out.k[:, :, :, : self.pos])
        torch.index_select(self.v[:, :, :, : self.pos], 1, index, out=out.v[:, :, :, : self.pos])
        out.k[:, :, :, self.pos:].zero_()
        out.v[:, :, :, self.pos:].zero_()
        if self.lengths is None:
            out.pos = self.pos
        else:
            out.set_lengths(self.lengths[index])
        return out


class Attention(nn.Module):
    def __init__(self, c: ModelConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.n_head, self.n_kv_head, self.head_dim = c.n_head, c.n_kv_head, c.head_dim
        self.qkv_proj = Linear(c.d_model, (c.n_head + 2 * c.n_kv_head) * c.head_dim)
        self.o_proj = Linear(c.n_head * c.head_dim, c.d_model)
        self.q_norm = RMSNorm(c.head_dim, c.norm_eps) if c.qk_norm else None
        self.k_norm = RMSNorm(c.head_dim, c.norm_eps) if c.qk_norm else None

    def forward(self, x, cos, sin, cache: KVCache | None, pos_info):
        B, T, _ = x.shape
        H, Hk, D = self.n_head, self.n_kv_head, self.head_dim
        qkv = self.qkv_proj(x).view(B, T, H + 2 * Hk, D)
        # q and k heads sit next to each other: norm and rotate them in one go (half the kernels)
        qk, v = qkv.split((H + Hk, Hk), dim=2)
        if self.q_norm is not None:
            w = torch.cat((self.q_norm.weight.expand(H, D), self.k_norm.weight.expand(Hk, D)))
            qk = F.rms_norm(qk, (D,), None, self.q_norm.eps) * w.to(qk.dtype)
        q, k = apply_rope(qk, cos, sin).split((H, Hk), dim=2)
        q = q.transpose(1, 2)  # (B, H, T, D)
        gqa = H != Hk
        if cache is None:
            y = F.scaled_dot_product_attention(q, k.transpose(1, 2), v.transpose(1, 2),
                                               is_causal=True, enable_gqa=gqa)
        else:
            ck, cv = cache.k[self.layer_idx], cache.v[self.layer_idx]
            kind, pos, mask, rows, cols, S = pos_info
            if kind == "uniform":
                ck[:, :, pos : pos + T] = k.transpose(1, 2)
                cv[:, :, pos : pos + T] = v.transpose(1, 2)
            else:  # per-row positions: advanced indexing puts (B, T) first, then heads
                ck[rows, :, cols] = k.to(ck.dtype)
                cv[rows, :, cols] = v.to(cv.dtype)
            keys, vals = ck[:, :, :S], cv[:, :, :S]
            if keys.dtype != q.dtype:  # bf16 autocast with a float32 cache
                keys, vals = keys.to(q.dtype), vals.to(q.dtype)
            if T == 1 and q.dtype != torch.float32:
                y = one_query_attention(q, keys, vals, mask)
            else:
                y = F.scaled_dot_product_attention(q, keys, vals, attn_mask=mask,
                                                   is_causal=mask is None and T > 1, enable_gqa=gqa)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, H * D))


class MLP(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.ffn = c.ffn_dim
        self.gate_up_proj = Linear(c.d_model, 2 * self.ffn)
        self.down_proj = Linear(self.ffn, c.d_model)

    def forward(self, x):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, c: ModelConfig, layer_idx: int):
        super().__init__()
        self.attn_norm = RMSNorm(c.d_model, c.norm_eps)
        self.attn = Attention(c, layer_idx)
        self.mlp_norm = RMSNorm(c.d_model, c.norm_eps)
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, cache, pos_info):
        x = x + self.attn(self.attn_norm(x), cos, sin, cache, pos_info)
        return x + self.mlp(self.mlp_norm(x))


class GPT(nn.Module):
    """The model. `config.vocab_size` must be set (from the tokenizer) before building.

    forward(idx, kv_cache=None) -> float32 logits [B, T, V].
    forward(idx, targets=..., loss_mask=None, reduction="mean") -> scalar float32 loss instead:
      cross-entropy of logits[b, t] against targets[b, t]; positions whose target is < 0 or whose
      loss_mask is 0 are left out; "mean" divides by the number of counted positions, "sum" does
      not (for exact averaging across micro-batches / ranks: sum, then divide by the total count).
    forward_hidden(idx, kv_cache=None) -> final-normed hidden states [B, T, d_model] (reward heads).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()
        self.config = config
        c = config
        self.tok_emb = nn.Embedding(c.vocab_size, c.d_model)
        self.layers = nn.ModuleList(Block(c, i) for i in range(c.n_layer))
        self.norm = RMSNorm(c.d_model, c.norm_eps)
        self.lm_head = None if c.tie_embeddings else Linear(c.d_model, c.vocab_size)
        cos, sin = rope_tables(c.head_dim, c.max_seq_len, c.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.reset_parameters()

    # ---- construction -------------------------------------------------------------------

    @classmethod
    def build(cls, config: ModelConfig, vocab_size: int) -> GPT:
        """A fresh model whose vocabulary comes from the tokenizer."""
        return cls(dataclasses.replace(config, vocab_size=vocab_size))

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Normal(0, init_std) for every matrix; the two projections that write into the residual
        stream (o_proj, down_proj) are scaled by 1/sqrt(2 n_layer) so the stream's variance does
        not grow with depth (GPT-2); norm weights start at 1."""
        std = self.config.init_std
        for name, p in self.named_parameters():
            if p.dim() == 1:
                nn.init.ones_(p)
            elif name.endswith(("o_proj.weight", "down_proj.weight")):
                nn.init.normal_(p, 0.0, std / math.sqrt(2 * self.config.n_layer))
            else:
                nn.init.normal_(p, 0.0, std)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: torch.device | str = "cpu") -> GPT:
        """Load a checkpoint file holding at least {"model_config": dict, "model": state_dict}
        (what the training core writes). Compile/DDP name prefixes are tolerated."""

        path = Path(path)
        if not path.is_file():
            raise UserError(f"checkpoint '{path}' does not exist.")
        try:
            obj = torch.load(path, map_location=device, weights_only=True)
        except Exception as e:  # a truncated or foreign file
            raise UserError(f"checkpoint '{path}' could not be read ({type(e).__name__}).") from None
        if not isinstance(obj, dict) or "model" not in obj or "model_config" not in obj:
            raise UserError(f"checkpoint '{path}' has no model weights and config in it.")
        return cls.from_state(obj["model_config"], obj["model"], device)

    @classmethod
    def from_state(cls, model_config: dict, state_dict: dict, device: torch.device | str = "cpu") -> GPT:
        known = {f.name for f in dataclasses.fields(ModelConfig)}
        cfg = ModelConfig(**{k: v for k, v in model_config.items() if k in known})
        with torch.device("meta"):
            model = cls(cfg)
        sd = {_strip_prefix(k): v for k, v in state_dict.items()}
        if "head.weight" in sd and any(k.startswith("gpt.") for k in sd):
            raise UserError("this checkpoint is a reward model (chatforge rm): it scores answers and "
                            "does not write them; point at a chat model's checkpoint instead.")
        try:
            model.load_state_dict(sd, assign=True)
        except RuntimeError:
            raise UserError("the checkpoint's weights do not match its model config (a foreign or damaged "
                            "file).") from None
        cos, sin = rope_tables(cfg.head_dim, cfg.max_seq_len, cfg.rope_theta)
        model.rope_cos, model.rope_sin = cos, sin
        return model.to(device)

    # ---- size ---------------------------------------------------------------------------

    def num_params(self, non_embedding: bool = False) -> int:
        """Unique parameters (a tied output matrix counts once); non_embedding leaves out the
        token embedding (and the untied output matrix)."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.tok_emb.weight.numel()
            if self.lm_head is not None:
                n -= self.lm_head.weight.numel()
        return n

    def flops_per_token(self, seq_len: int | None = None) -> int:
        """Training FLOPs per token (forward + backward) at context length seq_len:

            6 * N_matmul + 12 * n_layer * n_head * head_dim * seq_len

        N_matmul = the weights used in matrix multiplies: every non-embedding matrix plus the
        output projection (d_model * vocab, counted even when tied: the lookup is free, the
        projection is not). The second term is attention's QK^T and AV (2 matmuls, 2 FLOPs per
        multiply-add, x3 for backward) without halving for the causal mask, as in PaLM (App. B)
        and nanoGPT's MFU estimate. Norm weights are negligible and left out. Inference costs a third.
        """
        c = self.config
        seq_len = seq_len or c.max_seq_len
        n_matmul = sum(p.numel() for n, p in self.named_parameters()
                       if p.dim() == 2 and n != "tok_emb.weight")
        if self.lm_head is None:
            n_matmul += c.d_model * c.vocab_size
        return 6 * n_matmul + 12 * c.n_layer * c.n_head * c.head_dim * seq_len

    # ---- forward ------------------------------------------------------------------------

    def _positions(self, T: int, cache: KVCache | None):
        """RoPE tables for this call, shaped to broadcast over heads, plus what attention needs
        to write into and read from the cache."""
        cos, sin = self.rope_cos, self.rope_sin
        if cache is None:
            if T > cos.shape[0]:
                raise ValueError(f"sequence of {T} tokens exceeds max_seq_len {cos.shape[0]}")
            return cos[:T, None, :], sin[:T, None, :], None
        if cache.pos + T > min(cache.max_len, cos.shape[0]):
            raise ValueError(f"KV cache full: {cache.pos} cached + {T} new "
                             f"> {min(cache.max_len, cos.shape[0])}")
        if cache.lengths is None:
            pos = cache.pos
            S = pos + T
            mask = None
            if pos > 0 and T > 1:  # a chunk after a prefix: query i sees keys <= pos + i
                mask = torch.ones(T, S, dtype=torch.bool, device=cos.device).tril(diagonal=pos)
            info = ("uniform", pos, mask, None, None, S)
            return cos[pos:S, None, :], sin[pos:S, None, :], info
        lengths = cache.lengths
        cols = lengths[:, None] + torch.arange(T, device=lengths.device)  # (B, T) absolute positions
        rows = torch.arange(lengths.shape[0], device=lengths.device)[:, None]
        S = cache.pos + T
        mask = torch.arange(S, device=lengths.device)[None, None, :] <= cols[:, :, None]  # (B, T, S)
        info = ("rows", None, mask[:, None], rows, cols, S)
        return cos[cols][:, :, None, :], sin[cols][:, :, None, :], info

    def forward_hidden(self, idx: torch.Tensor, kv_cache: KVCache | None = None) -> torch.Tensor:
        T = idx.shape[1]
        cos, sin, info = self._positions(T, kv_cache)
        x = self.tok_emb(idx)
        dt = torch.get_autocast_dtype(x.device.type) if torch.is_autocast_enabled(x.device.type) else x.dtype
        cos, sin = cos.to(dt), sin.to(dt)  # so bf16 q/k are not promoted to float32
        for block in self.layers:
            x = block(x, cos, sin, kv_cache, info)
        if kv_cache is not None:
            if kv_cache.lengths is None:
                kv_cache.pos += T
            else:
                kv_cache.lengths = kv_cache.lengths + T
                kv_cache.pos += T
        return self.norm(x)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        if self.lm_head is not None:
            return self.lm_head(h).float()
        return linear_t(h, self.tok_emb.weight, self.tok_emb).float()

    def forward(self, idx: torch.Tensor, kv_cache: KVCache | None = None, *,
                targets: torch.Tensor | None = None, loss_mask: torch.Tensor | None = None,
                reduction: str = "mean") -> torch.Tensor:
        logits = self.logits(self.forward_hidden(idx, kv_cache))
        if targets is None:
            return logits
        V = logits.shape[-1]
        loss = F.cross_entropy(logits.view(-1, V), targets.reshape(-1), ignore_index=-1, reduction="none")
        weight = (targets.reshape(-1) >= 0).to(loss.dtype)
        if loss_mask is not None:
            weight = weight * loss_mask.reshape(-1).to(loss.dtype)
        total = (loss * weight).sum()
        if reduction == "sum":
            return total
        return total / weight.sum().clamp(min=1.0)


def _strip_prefix(key: str) -> str:
    for prefix in ("_orig_mod.", "module."):
        while key.startswith(prefix):
            key = key[len(prefix):]
    return key
