"""What both readers hand over, and the one check-and-rename from HF names to chatforge's.

A reader produces HF-named float32 tensors (a GGUF reader after renaming and un-permuting); this
file checks every tensor a model of that config needs is there with the right shape, then
renames through `chatforge.model.hf_map.from_hf_state_dict` (the export's inverse), so a file
that lies about its sizes fails with a sentence rather than deep inside `load_state_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from chatforge.core.errors import UserError
from chatforge.importer.tokenizer import Vocab
from chatforge.model.config import ModelConfig
from chatforge.model.hf_map import from_hf_state_dict


@dataclass
class Read:
    config: ModelConfig
    state: dict[str, torch.Tensor]  # chatforge names, float32
    vocab: Vocab
    chat_template: str | None
    bos: str | None  # token strings, as the model's files name them
    eos: str | None
    add_bos: bool
    meta: dict  # what the source was, for the checkpoint's meta


def expected_shapes(c: ModelConfig) -> dict[str, tuple[int, ...]]:
    H, Hk, D, F, d = c.n_head, c.n_kv_head, c.head_dim, c.ffn_dim, c.d_model
    out = {"model.embed_tokens.weight": (c.vocab_size, d), "model.norm.weight": (d,)}
    if not c.tie_embeddings:
        out["lm_head.weight"] = (c.vocab_size, d)
    for i in range(c.n_layer):
        p = f"model.layers.{i}."
        out |= {p + "input_layernorm.weight": (d,), p + "post_attention_layernorm.weight": (d,),
                p + "self_attn.q_proj.weight": (H * D, d), p + "self_attn.k_proj.weight": (Hk * D, d),
                p + "self_attn.v_proj.weight": (Hk * D, d), p + "self_attn.o_proj.weight": (d, H * D),
                p + "mlp.gate_proj.weight": (F, d), p + "mlp.up_proj.weight": (F, d),
                p + "mlp.down_proj.weight": (d, F)}
        if c.qk_norm:
            out |= {p + "self_attn.q_norm.weight": (D,), p + "self_attn.k_norm.weight": (D,)}
    return out


def to_chatforge(hf: dict[str, torch.Tensor], c: ModelConfig, where: str) -> dict[str, torch.Tensor]:
    want = expected_shapes(c)
    if c.tie_embeddings and "lm_head.weight" in hf:
        hf = {k: v for k, v in hf.items() if k != "lm_head.weight"}  # a saved copy of the tied matrix
    for name, shape in want.items():
        if name not in hf:
            raise UserError(f"'{where}' lacks the weight '{name}' that its config implies.")
        if tuple(hf[name].shape) != shape:
            raise UserError(f"weight '{name}' in '{where}' has shape {tuple(hf[name].shape)}, "
                            f"its config implies {shape}.")
    extra = sorted(set(hf) - set(want))
    if extra:
        raise UserError(f"'{where}' holds weights chatforge's model has no place for "
                        f"(e.g. '{extra[0]}': biases or another architecture).")
    return {k: v.float().contiguous() for k, v in from_hf_state_dict(hf, c).items()}
