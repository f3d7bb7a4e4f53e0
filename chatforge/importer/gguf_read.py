"""Read a llama / qwen3 GGUF file: config, float32 weights in chatforge's layout, vocabulary.

Every tensor goes through `gguf.quants.dequantize` (F32, F16, BF16, Q4_0, Q4_1, Q8_0, K-quants,
...), so a quantized file becomes the float model llama.cpp computes with, up to its own rounding
of activations. Names are mapped GGUF -> HF -> chatforge (reusing the export's table and
`hf_map`), so the two directions cannot disagree.

RoPE: llama.cpp's `llama` graph rotates adjacent pairs (2i, 2i+1); convert_hf_to_gguf.py (and our
export) therefore interleaves each head's q/k rows. We undo it so rotate-half RoPE (ours, HF's)
gives the same model. `qwen3` uses rotate-half in llama.cpp too, so its rows stay as they are.

The file is read defensively: a missing, truncated or foreign file, an unknown architecture or
quantization, or a tensor of the wrong shape ends in one UserError sentence.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import torch

from chatforge.core.errors import UserError
from chatforge.export.gguf import _LAYER_NAMES
from chatforge.importer.tokenizer import Vocab, pattern_from_gguf
from chatforge.importer.weights import Read, to_chatforge
from chatforge.model.config import ModelConfig

ARCHES = ("llama", "qwen3")


def deinterleave_rope_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Inverse of chatforge.export.gguf.interleave_rope_rows: [x0, x_h, x1, x_h+1, ...] per head
    back to [first half | second half]."""
    rows, cols = w.shape
    d = rows // n_heads
    return w.reshape(n_heads, d // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)


def _hf_name(gguf_name: str) -> str | None:
    fixed = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    if gguf_name in fixed:
        return fixed[gguf_name]
    parts = gguf_name.split(".")
    back = {v: k for k, v in _LAYER_NAMES.items()}
    if len(parts) == 4 and parts[0] == "blk" and parts[2] in back and parts[3] == "weight":
        return f"model.layers.{parts[1]}.{back[parts[2]]}.weight"
    return None


class _Fields:
    def __init__(self, reader, path: Path):
        self.fields, self.path = reader.fields, path

    def get(self, key: str, default=None):
        f = self.fields.get(key)
        if f is None:
            return default
        try:
            v = f.contents()
        except Exception:  # a damaged field is a damaged file
            raise UserError(f"'{self.path}' has an unreadable GGUF field '{key}'.") from None
        return v

    def need(self, key: str):
        v = self.get(key)
        if v is None:
            raise UserError(f"'{self.path}' lacks the GGUF field '{key}'.")
        return v


def _round32(x) -> float:
    # GGUF stores eps and theta as float32: 1e-5 comes back as 9.9999997e-06. The shortest
    # decimal that rounds to the same float32 is what the model's own config said.
    return float(str(np.float32(x)))


def _open(path: Path):
    if not path.is_file():
        raise UserError(f"'{path}' is not a file.")
    with open(path, "rb") as fh:
        if fh.read(4) != b"GGUF":
            raise UserError(f"'{path}' is not a GGUF file (it does not start with the GGUF magic).")
    try:
        return gguf.GGUFReader(str(path))
    except Exception as e:  # truncated/garbage files fail in many ways inside gguf
        raise UserError(f"'{path}' is not a readable GGUF file: it is truncated or damaged "
                        f"(the gguf reader failed with {type(e).__name__}).") from None


def _config(f: _Fields, arch: str, path: Path, tie: bool, n_tokens: int,
            max_seq_len: int | None) -> ModelConfig:
    scaling = f.get(f"{arch}.rope.scaling.type")
    if scaling not in (None, "none"):
        raise UserError(f"'{path}' uses RoPE scaling '{scaling}', "
                        "which chatforge's model does not implement.")
    n_head = int(f.need(f"{arch}.attention.head_count"))
    d_model = int(f.need(f"{arch}.embedding_length"))
    head_dim = int(f.get(f"{arch}.attention.key_length", d_model // n_head))
    if int(f.get(f"{arch}.attention.value_length", head_dim)) != head_dim:
        raise UserError(f"'{path}' has keys and values of different sizes; "
                        "chatforge's attention needs them equal.")
    if int(f.get(f"{arch}.rope.dimension_count", head_dim)) != head_dim:
        raise UserError(f"'{path}' rotates only part of each head (partial RoPE), "
                        "which chatforge does not implement.")
    ctx = int(f.get(f"{arch}.context_length", 2048))
    cfg = ModelConfig(
        n_layer=int(f.need(f"{arch}.block_count")), d_model=d_model, n_head=n_head,
        n_kv_head=int(f.get(f"{arch}.attention.head_count_kv", n_head)),
        ffn_hidden=int(f.need(f"{arch}.feed_forward_length")),
        max_seq_len=min(ctx, max_seq_len) if max_seq_len else ctx,
        rope_theta=_round32(f.get(f"{arch}.rope.freq_base", 10000.0)),
        qk_norm=arch == "qwen3", tie_embeddings=tie,
        norm_eps=_round32(f.get(f"{arch}.attention.layer_norm_rms_epsilon", 1e-5)),
        vocab_size=int(f.get(f"{arch}.vocab_size", n_tokens)),
        head_size=head_dim if head_dim != d_model // n_head else 0,
    )
    cfg.validate()
    return cfg


def _tensor(t, name: str, arch: str, cfg: ModelConfig, path: Path) -> torch.Tensor:
    """One tensor, dequantized to float32 in the HF layout."""
    shape = tuple(int(x) for x in reversed(t.shape))  # GGUF lists the fastest dimension first
    try:
        a = gguf.quants.dequantize(t.data, t.tensor_type)
        a = np.asarray(a, dtype=np.float32).reshape(shape)
    except NotImplementedError:
        raise UserError(f"tensor '{name}' in '{path}' is {t.tensor_type.name}, a type the gguf package "
                        "cannot dequantize.") from None
    except Exception as e:  # a torn tensor
        raise UserError(f"tensor '{name}' in '{path}' cannot be read ({type(e).__name__}); "
                        "the file is damaged or truncated.") from None
    if arch == "llama" and name.endswith("attn_q.weight"):
        a = deinterleave_rope_rows(a, cfg.n_head)
    elif arch == "llama" and name.endswith("attn_k.weight"):
        a = deinterleave_rope_rows(a, cfg.n_kv_head)
    if not (a.flags.writeable and a.flags.c_contiguous):  # F32 tensors are views of the read-only map
        a = np.array(a, order="C")
    return torch.from_numpy(a)


def _weights(tensors: dict, arch: str, cfg: ModelConfig, path: Path) -> dict[str, torch.Tensor]:
    hf: dict[str, torch.Tensor] = {}
    for name, t in tensors.items():
        hf_name = _hf_name(name)
        if hf_name is None:
            if name.startswith("rope_freqs"):
                raise UserError(f"'{path}' carries RoPE frequency factors (Llama 3.1 scaling), which "
                                "chatforge's model does not implement.")
            raise UserError(f"'{path}' holds a tensor '{name}' that a {arch} model in chatforge "
                            "has no place for.")
        hf[hf_name] = _tensor(t, name, arch, cfg, path)
    return hf


def _vocab(f: _Fields, tokens: list, path: Path) -> Vocab:
    model = f.get("tokenizer.ggml.model")
    if model != "gpt2":
        raise UserError(f"'{path}' has a '{model}' tokenizer; chatforge imports byte-level BPE ('gpt2') "
                        "tokenizers only (not SentencePiece).")
    types = f.get("tokenizer.ggml.token_type") or [1] * len(tokens)
    T = gguf.TokenType
    return Vocab(
        tokens=list(tokens),
        special={i for i, ty in enumerate(types) if ty in (T.CONTROL, T.USER_DEFINED)},
        unused={i for i, ty in enumerate(types) if ty in (T.UNUSED, T.UNKNOWN)},
        merges=list(f.get("tokenizer.ggml.merges") or []),
        pattern=pattern_from_gguf(f.get("tokenizer.ggml.pre"), str(f.get("general.name", ""))),
    )


def read_gguf(path: str | Path, max_seq_len: int | None = None) -> Read:
    path = Path(path)
    reader = _open(path)
    f = _Fields(reader, path)
    arch = f.need("general.architecture")
    if arch not in ARCHES:
        raise UserError(f"'{path}' holds a '{arch}' model; chatforge imports {' and '.join(ARCHES)} models.")
    tensors = {t.name: t for t in reader.tensors}
    tokens = f.need("tokenizer.ggml.tokens")
    cfg = _config(f, arch, path, "output.weight" not in tensors, len(tokens), max_seq_len)
    state = to_chatforge(_weights(tensors, arch, cfg, path), cfg, str(path))
    vocab = _vocab(f, tokens, path)

    def tok(key: str) -> str | None:
        i = f.get(key)
        return tokens[int(i)] if i is not None and 0 <= int(i) < len(tokens) else None

    qtypes = sorted({t.tensor_type.name for t in reader.tensors})
    return Read(cfg, state, vocab, f.get("tokenizer.chat_template"), tok("tokenizer.ggml.bos_token_id"),
                tok("tokenizer.ggml.eos_token_id"), bool(f.get("tokenizer.ggml.add_bos_token", False)),
                {"source_format": "gguf", "architecture": arch, "source_name": str(f.get("general.name", "")),
                 "tensor_types": qtypes})
