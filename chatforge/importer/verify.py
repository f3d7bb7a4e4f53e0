"""The references an import is checked against (tests and bench/import_smollm2.py).

- `hf_tokenizer`: HF `tokenizers` running the model's own tokenizer.json that the import wrote
  (its BPE merges and pre-tokenizer, i.e. what the model was trained with), compared id for id
  with our tiktoken encoding.
- `transformers_from_gguf`: transformers' own GGUF reader and dequantizer, loaded into
  LlamaForCausalLM / Qwen3ForCausalLM without `accelerate` (which `from_pretrained(gguf_file=)`
  insists on): an implementation of the same file independent of ours.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer


def hf_tokenizer(tokenizer_dir: str | Path):
    return Tokenizer.from_file(str(Path(tokenizer_dir) / "tokenizer.json"))


def encoding_mismatches(ours, texts: list[str], tokenizer_dir: str | Path) -> list[str]:
    """Texts our tokenizer encodes differently from the reference. Texts that spell a special
    token are left out: HF turns "<|im_end|>" in text into the special id, chatforge by design
    never does (chatforge.tokenizer.core)."""
    ref = hf_tokenizer(tokenizer_dir)
    texts = [t for t in texts if not any(s in t for s in ours.special_tokens)]
    return [t for t in texts if ours.encode(t) != ref.encode(t, add_special_tokens=False).ids]


def transformers_from_gguf(path: str | Path):
    import transformers  # noqa: PLC0415 - optional: transformers
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint  # noqa: PLC0415 - optional: transformers
    from transformers.utils import logging  # noqa: PLC0415 - optional: transformers

    logging.disable_progress_bar()
    cfg = dict(load_gguf_checkpoint(str(path), return_tensors=False)["config"])
    kind = cfg.pop("model_type")
    cfg.pop("architectures", None)
    cls, ccls = ((transformers.Qwen3ForCausalLM, transformers.Qwen3Config) if kind == "qwen3"
                 else (transformers.LlamaForCausalLM, transformers.LlamaConfig))
    model = cls(ccls(**cfg)).eval()
    sd = load_gguf_checkpoint(str(path), return_tensors=True, model_to_load=model)["tensors"]
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if unexpected or [m for m in missing if m != "lm_head.weight"]:
        raise RuntimeError(f"transformers' GGUF mapping: missing {missing}, unexpected {unexpected}")
    if cfg.get("tie_word_embeddings"):
        model.tie_weights()
    return model.float()


@torch.no_grad()
def max_logit_diff(ours, theirs, ids: list[int]) -> float:
    x = torch.tensor([ids])
    return float((ours(x) - theirs(x).logits.float()).abs().max())
