"""One-to-one mapping between chatforge's GPT and Hugging Face Llama / Qwen3 models.

chatforge                                  Hugging Face (LlamaForCausalLM / Qwen3ForCausalLM)
tok_emb.weight                             model.embed_tokens.weight
layers.i.attn_norm.weight                  model.layers.i.input_layernorm.weight
layers.i.attn.qkv_proj.weight  rows [q|k|v] model.layers.i.self_attn.{q,k,v}_proj.weight
layers.i.attn.q_norm.weight / k_norm       model.layers.i.self_attn.{q,k}_norm.weight (Qwen3 only)
layers.i.attn.o_proj.weight                model.layers.i.self_attn.o_proj.weight
layers.i.mlp_norm.weight                   model.layers.i.post_attention_layernorm.weight
layers.i.mlp.gate_up_proj.weight rows [g|u] model.layers.i.mlp.{gate,up}_proj.weight
layers.i.mlp.down_proj.weight              model.layers.i.mlp.down_proj.weight
norm.weight                                model.norm.weight
lm_head.weight (or tok_emb when tied)      lm_head.weight (tie_word_embeddings)

Both use rotate-half RoPE, so no q/k permutation is needed. The export helper reuses this file;
`transformers` is imported only inside `hf_config`/`to_hf_model`.
"""

from __future__ import annotations

import torch

from chatforge.model.config import ModelConfig


def hf_architecture(c: ModelConfig) -> str:
    return "Qwen3ForCausalLM" if c.qk_norm else "LlamaForCausalLM"


def hf_config_dict(c: ModelConfig) -> dict:
    """The HF config.json fields that describe this model (bos/eos ids are the exporter's job)."""
    d = {
        "architectures": [hf_architecture(c)],
        "model_type": "qwen3" if c.qk_norm else "llama",
        "vocab_size": c.vocab_size,
        "hidden_size": c.d_model,
        "intermediate_size": c.ffn_dim,
        "num_hidden_layers": c.n_layer,
        "num_attention_heads": c.n_head,
        "num_key_value_heads": c.n_kv_head,
        "head_dim": c.head_dim,
        "max_position_embeddings": c.max_seq_len,
        "rms_norm_eps": c.norm_eps,
        "rope_theta": c.rope_theta,
        "tie_word_embeddings": c.tie_embeddings,
        "hidden_act": "silu",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "initializer_range": c.init_std,
    }
    if not c.qk_norm:
        d["mlp_bias"] = False
    return d


def to_hf_state_dict(sd: dict[str, torch.Tensor], c: ModelConfig) -> dict[str, torch.Tensor]:
    """chatforge state dict -> HF state dict (tensors are views/slices; clone before saving)."""
    H, Hk, D, F = c.n_head, c.n_kv_head, c.head_dim, c.ffn_dim
    out = {"model.embed_tokens.weight": sd["tok_emb.weight"], "model.norm.weight": sd["norm.weight"]}
    for i in range(c.n_layer):
        p, q = f"layers.{i}.", f"model.layers.{i}."
        out[q + "input_layernorm.weight"] = sd[p + "attn_norm.weight"]
        out[q + "post_attention_layernorm.weight"] = sd[p + "mlp_norm.weight"]
        wq, wk, wv = sd[p + "attn.qkv_proj.weight"].split((H * D, Hk * D, Hk * D), dim=0)
        out[q + "self_attn.q_proj.weight"] = wq
        out[q + "self_attn.k_proj.weight"] = wk
        out[q + "self_attn.v_proj.weight"] = wv
        out[q + "self_attn.o_proj.weight"] = sd[p + "attn.o_proj.weight"]
        if c.qk_norm:
            out[q + "self_attn.q_norm.weight"] = sd[p + "attn.q_norm.weight"]
            out[q + "self_attn.k_norm.weight"] = sd[p + "attn.k_norm.weight"]
        gate, up = sd[p + "mlp.gate_up_proj.weight"].split((F, F), dim=0)
        out[q + "mlp.gate_proj.weight"] = gate
        out[q + "mlp.up_proj.weight"] = up
        out[q + "mlp.down_proj.weight"] = sd[p + "mlp.down_proj.weight"]
    out["lm_head.weight"] = sd["tok_emb.weight"] if c.tie_embeddings else sd["lm_head.weight"]
    return out


def from_hf_state_dict(hf: dict[str, torch.Tensor], c: ModelConfig) -> dict[str, torch.Tensor]:
    """HF state dict -> chatforge state dict (the inverse of to_hf_state_dict)."""
    out = {"tok_emb.weight": hf["model.embed_tokens.weight"], "norm.weight": hf["model.norm.weight"]}
    for i in range(c.n_layer):
        p, q = f"layers.{i}.", f"model.layers.{i}."
        out[p + "attn_norm.weight"] = hf[q + "input_layernorm.weight"]
        out[p + "mlp_norm.weight"] = hf[q + "post_attention_layernorm.weight"]
        out[p + "attn.qkv_proj.weight"] = torch.cat(
            [hf[q + f"self_attn.{n}_proj.weight"] for n in ("q", "k", "v")], dim=0)
        out[p + "attn.o_proj.weight"] = hf[q + "self_attn.o_proj.weight"]
        if c.qk_norm:
            out[p + "attn.q_norm.weight"] = hf[q + "self_attn.q_norm.weight"]
            out[p + "attn.k_norm.weight"] = hf[q + "self_attn.k_norm.weight"]
        out[p + "mlp.gate_up_proj.weight"] = torch.cat(
            [hf[q + "mlp.gate_proj.weight"], hf[q + "mlp.up_proj.weight"]], dim=0)
        out[p + "mlp.down_proj.weight"] = hf[q + "mlp.down_proj.weight"]
    if not c.tie_embeddings:
        out["lm_head.weight"] = hf["lm_head.weight"]
    return out


def hf_config(c: ModelConfig):
    """A transformers LlamaConfig / Qwen3Config for this model."""
    import transformers  # noqa: PLC0415 - optional: transformers

    d = dict(hf_config_dict(c))
    d.pop("architectures"), d.pop("model_type")
    cls = transformers.Qwen3Config if c.qk_norm else transformers.LlamaConfig
    return cls(**d)


def to_hf_model(model, dtype: torch.dtype = torch.float32):
    """A transformers model holding the same weights as a chatforge GPT."""
    import transformers  # noqa: PLC0415 - optional: transformers

    c = model.config
    cls = transformers.Qwen3ForCausalLM if c.qk_norm else transformers.LlamaForCausalLM
    hf = cls(hf_config(c))
    sd = {k: v.detach().clone() for k, v in to_hf_state_dict(model.state_dict(), c).items()}
    missing, unexpected = hf.load_state_dict(sd, strict=False)
    if unexpected or [m for m in missing if m != "lm_head.weight"]:
        raise RuntimeError(f"HF mapping mismatch: missing {missing}, unexpected {unexpected}")
    if c.tie_embeddings:
        hf.tie_weights()
    return hf.to(dtype).eval()
