"""Hugging Face export: a folder `AutoModelForCausalLM` / `AutoTokenizer` load offline.

    config.json               LlamaForCausalLM (qk_norm off) or Qwen3ForCausalLM (qk_norm on)
    generation_config.json    bos, eos = [<|im_end|>, <|endoftext|>], pad
    model.safetensors         float32 (or --dtype bfloat16/float16) weights, HF names
    tokenizer.json            the tokenizer stage's own HF file (same ids as tiktoken)
    tokenizer_config.json     + chat_template (also as chat_template.jinja), eos <|im_end|>
    special_tokens_map.json

The weights go through `chatforge.model.hf_map` (the one mapping, owned by the model), the chat
template is `chatforge.chat.template.CHAT_TEMPLATE` (the one template, pinned to the renderer).
The end-of-turn token `<|im_end|>` is the eos, as for Qwen's chat models, so `generate` stops at
the end of an answer; `<|endoftext|>` stays the bos and also stops generation (a base model
ends documents with it). A tied output matrix is stored once (safetensors refuses shared
tensors) and `tie_word_embeddings` tells transformers to tie it back.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

from chatforge.chat.template import chat_template
from chatforge.core.atomic import atomic_dir
from chatforge.core.errors import UserError
from chatforge.model.hf_map import hf_config_dict, to_hf_state_dict
from chatforge.tokenizer import hf as tok_hf

DTYPES = ("float32", "bfloat16", "float16")


def hf_files(model, tokenizer, tokenizer_dir: Path) -> dict[str, object]:
    """The JSON/text files of the export (everything but the weights), by file name."""
    c = model.config
    bos, eos = tokenizer.special("<|endoftext|>"), tokenizer.special("<|im_end|>")
    pad = tokenizer.special_tokens.get("<|pad|>")
    config = {**hf_config_dict(c), "bos_token_id": bos, "eos_token_id": eos, "pad_token_id": pad,
              "torch_dtype": "float32", "use_cache": True}
    if c.qk_norm:
        config.update(use_sliding_window=False, sliding_window=None, max_window_layers=c.n_layer)
    gen = {"bos_token_id": bos, "eos_token_id": [eos, bos], "pad_token_id": pad,
           "do_sample": False}
    tcfg = tok_hf.tokenizer_config(tokenizer.special_tokens)
    template = chat_template(tokenizer.chat)
    tcfg.update(eos_token="<|im_end|>", chat_template=template,
                model_max_length=c.max_seq_len)
    smap = tok_hf.special_tokens_map(tokenizer.special_tokens)
    smap["eos_token"] = "<|im_end|>"
    src = tokenizer_dir / "tokenizer.json"
    if not src.is_file():
        raise UserError(f"the tokenizer folder '{tokenizer_dir}' has no tokenizer.json to export.")
    return {"config.json": config, "generation_config.json": gen, "tokenizer_config.json": tcfg,
            "special_tokens_map.json": smap, "chat_template.jinja": template,
            "tokenizer.json": src}


def hf_state_dict(model, dtype: str = "float32") -> dict:
    if dtype not in DTYPES:
        raise UserError(f"unknown dtype '{dtype}' (choose one of {', '.join(DTYPES)}).")
    td = getattr(torch, dtype)
    sd = to_hf_state_dict(model.state_dict(), model.config)
    if model.config.tie_embeddings:
        sd.pop("lm_head.weight")
    return {k: v.detach().to("cpu", td).contiguous().clone() for k, v in sd.items()}


def export_hf(model, tokenizer, tokenizer_dir: str | Path, out_dir: str | Path,
              dtype: str = "float32", source: str = "") -> Path:
    """Write the export folder atomically (a crash leaves no half-written folder)."""

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out '{out_dir}' exists and is not a folder.")
    files = hf_files(model, tokenizer, Path(tokenizer_dir))
    files["config.json"]["torch_dtype"] = dtype
    weights = hf_state_dict(model, dtype)
    with atomic_dir(out_dir) as tmp:
        save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "pt", "source": source})
        for name, content in files.items():
            if isinstance(content, Path):
                shutil.copyfile(content, tmp / name)
            elif isinstance(content, str):
                (tmp / name).write_text(content, encoding="utf-8")
            else:
                (tmp / name).write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
        tmp.chmod(0o755)  # mkdtemp makes folders private; an export is meant to be shared
        for f in tmp.iterdir():
            f.chmod(0o644)
    return out_dir
