"""GGUF export: one file llama.cpp (and LM Studio, Ollama, ...) loads, written with `gguf`.

Architecture: `llama` when qk_norm is off, `qwen3` when it is on (the same two families as the HF
export). Weights are taken from the HF mapping (`chatforge.model.hf_map`), then renamed to GGUF's
tensor names. One real difference: llama.cpp's `llama` graph applies RoPE to *adjacent* pairs
(dims 2i, 2i+1), while our model (like HF) pairs dim i with i + head_dim/2; so the q and k rows of
each head are reordered (first half and second half interleaved), which is exactly the same
model. `qwen3` uses the rotate-half ("neox") RoPE in llama.cpp, so its weights go as they are.

Tokenizer: GGUF's byte-level BPE ("gpt2" model): the token strings and merges of the tokenizer
stage's tokenizer.json (the GPT-2 byte-to-unicode spelling), specials as control tokens, and the
pre-tokenizer name "llama-bpe". llama.cpp has no pre-tokenizer that is literally GPT-4's regex;
the Llama 3 one (which Llama 3, DBRX and Smaug share) differs from cl100k only in how a run of
whitespace *at the very end of a text* that holds a newline followed by spaces is split (cl100k
keeps "\\n  " in one piece via `\\s++$`, Llama 3 splits it as "\\n" + "  "). Everything else --
contractions, letters, 1-3 digit numbers, punctuation runs, newlines, spaces before words --
splits identically; tests/test_export_gguf.py and bench/verify_gguf.py check this on varied text.
The chat template is the one Jinja template; bos = <|endoftext|> (added by llama.cpp, and the
template's own copy is dropped by llama.cpp when it renders chats, so prompts match ours token
for token), eos = eot = <|im_end|>.

Quantization: f32 (exact), f16, q8_0 for the matrices; norms always stay f32 (llama.cpp expects
that and they are tiny). q8_0 needs rows whose length is a multiple of 32 (d_model, ffn size).
"""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np

from chatforge.chat.template import chat_template
from chatforge.core.atomic import atomic_path
from chatforge.core.errors import UserError
from chatforge.model.hf_map import to_hf_state_dict
from chatforge.tokenizer.hf import hf_token
from chatforge.tokenizer.patterns import GGUF_PRE_OF
from chatforge.tokenizer.spec import CL100K_PATTERN

QUANTS = ("f32", "f16", "q8_0")

# HF tensor name pieces -> GGUF tensor name pieces (per layer).
_LAYER_NAMES = {
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "self_attn.q_norm": "attn_q_norm",
    "self_attn.k_norm": "attn_k_norm",
    "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


def gguf_name(hf_name: str) -> str:
    if hf_name == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf_name == "model.norm.weight":
        return "output_norm.weight"
    if hf_name == "lm_head.weight":
        return "output.weight"
    parts = hf_name.split(".")  # model.layers.{i}.<module...>.weight
    i, module = parts[2], ".".join(parts[3:-1])
    return f"blk.{i}.{_LAYER_NAMES[module]}.{parts[-1]}"


def interleave_rope_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Reorder each head's rows from [first half | second half] to [x0, x_h, x1, x_h+1, ...]:
    the layout whose adjacent-pair RoPE equals our rotate-half RoPE."""
    rows, cols = w.shape
    d = rows // n_heads
    return w.reshape(n_heads, 2, d // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def gguf_tensors(model) -> dict[str, np.ndarray]:
    """GGUF tensor name -> float32 numpy array, in the layout llama.cpp expects."""

    c = model.config
    sd = to_hf_state_dict(model.state_dict(), c)
    if c.tie_embeddings:
        sd.pop("lm_head.weight")  # llama.cpp reuses token_embd when output.weight is absent
    out = {}
    for name, t in sd.items():
        a = t.detach().to("cpu").float().numpy().copy()
        if not c.qk_norm and name.endswith("self_attn.q_proj.weight"):
            a = interleave_rope_rows(a, c.n_head)
        elif not c.qk_norm and name.endswith("self_attn.k_proj.weight"):
            a = interleave_rope_rows(a, c.n_kv_head)
        out[gguf_name(name)] = np.ascontiguousarray(a)
    return out


def token_table(tokenizer, tokenizer_dir: Path) -> tuple[list[str], list[int], list[str]]:
    """(token strings, token types, merges) for every id below n_vocab."""

    path = Path(tokenizer_dir) / "tokenizer.json"
    try:
        merges = json.loads(path.read_text(encoding="utf-8"))["model"]["merges"]
    except (OSError, ValueError, KeyError):
        raise UserError(f"cannot read the BPE merges from '{path}'.") from None
    merges = [m if isinstance(m, str) else " ".join(m) for m in merges]
    by_id = {r: hf_token(t) for t, r in tokenizer.ranks.items()}
    specials = {i: s for s, i in tokenizer.special_tokens.items()}
    tokens, types = [], []
    for i in range(tokenizer.n_vocab):
        if i in specials:
            tokens.append(specials[i])
            types.append(gguf.TokenType.CONTROL)
        elif i in by_id:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.NORMAL)
        else:  # an id no token uses (tiktoken vocabularies can have holes)
            tokens.append(f"[UNUSED_{i}]")
            types.append(gguf.TokenType.UNUSED)
    return tokens, types, merges


def export_gguf(model, tokenizer, tokenizer_dir: str | Path, out_file: str | Path,
                quant: str = "f32", name: str = "chatforge") -> Path:
    if quant not in QUANTS:
        raise UserError(f"unknown --quant '{quant}' (choose one of {', '.join(QUANTS)}).")
    c = model.config
    if quant == "q8_0" and (c.d_model % 32 or c.ffn_dim % 32):
        raise UserError(f"q8_0 needs d_model and ffn size divisible by 32 (have {c.d_model}, {c.ffn_dim}).")
    out_file = Path(out_file)
    if out_file.is_dir():
        raise UserError(f"--out '{out_file}' is a folder; GGUF export writes one file (e.g. model.gguf).")
    arch = "qwen3" if c.qk_norm else "llama"
    pre = GGUF_PRE_OF.get(tokenizer.pattern)
    if pre is None:
        raise UserError("this tokenizer splits text with a regex llama.cpp has no name for; "
                        "GGUF cannot carry it (export to a Hugging Face folder instead).")
    if tokenizer.pattern != CL100K_PATTERN and name.startswith("chatforge"):
        name = tokenizer.name  # an import reads "chatforge" + llama-bpe as GPT-4's regex
    tokens, types, merges = token_table(tokenizer, Path(tokenizer_dir))
    if not merges:  # llama.cpp refuses a BPE vocabulary without merges
        raise UserError("this tokenizer has no BPE merges (bytes only); GGUF needs a trained tokenizer.")
    file_type = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
                 "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[quant]

    with atomic_path(out_file) as tmp:
        w = gguf.GGUFWriter(str(tmp), arch)
        w.add_name(name)
        w.add_file_type(file_type)
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
        w.add_vocab_size(tokenizer.n_vocab)
        w.add_context_length(c.max_seq_len)
        w.add_embedding_length(c.d_model)
        w.add_block_count(c.n_layer)
        w.add_feed_forward_length(c.ffn_dim)
        w.add_head_count(c.n_head)
        w.add_head_count_kv(c.n_kv_head)
        w.add_key_length(c.head_dim)
        w.add_value_length(c.head_dim)
        w.add_rope_dimension_count(c.head_dim)
        w.add_rope_freq_base(c.rope_theta)
        w.add_layer_norm_rms_eps(c.norm_eps)

        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        bos, eot = tokenizer.special("<|endoftext|>"), tokenizer.special("<|im_end|>")
        w.add_bos_token_id(bos)
        w.add_eos_token_id(eot)
        w.add_eot_token_id(eot)
        if "<|pad|>" in tokenizer.special_tokens:
            w.add_pad_token_id(tokenizer.special("<|pad|>"))
        w.add_add_bos_token(bool(tokenizer.chat.get("bos", True)))
        w.add_add_eos_token(False)
        w.add_chat_template(chat_template(tokenizer.chat))

        for tname, a in gguf_tensors(model).items():
            if a.ndim == 1 or quant == "f32":
                w.add_tensor(tname, a.astype(np.float32))
            elif quant == "f16":
                w.add_tensor(tname, a.astype(np.float16))
            else:
                q = gguf.quants.quantize(a, gguf.GGMLQuantizationType.Q8_0)
                w.add_tensor(tname, q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)

        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        tmp.chmod(0o644)  # mkstemp makes files private; an export is meant to be shared
    return out_file
