"""The Hugging Face side: tokenizer.json (+ tokenizer_config.json) with the same ids as tiktoken.

HF byte-level BPE stores tokens as strings in which every byte is one printable character (the
GPT-2 byte-to-unicode table: printable Latin-1 bytes stand for themselves, the other 68 bytes are
shifted to U+0100 and up, so a space is 'Ġ'). The BPE model applies the listed merges lowest
index first, which is tiktoken's lowest-rank-first as long as (1) merge i creates the token of
rank 256 + i and (2) that merge is the token's only way to form. `train.consistent_ranks` and
`train.merges_of` guarantee both; the tests check the ids against tiktoken on varied text.
Special tokens are `added_tokens`, so `transformers` recognises them in text as usual for HF
tokenizers — chatforge itself never encodes through this file.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chatforge.tokenizer.spec import HF_PATTERN


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    shifted = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + shifted)
            shifted += 1
    return table


@lru_cache(maxsize=1)
def unicode_to_bytes() -> dict[str, int]:
    return {c: b for b, c in bytes_to_unicode().items()}


def hf_token(token: bytes) -> str:
    table = bytes_to_unicode()
    return "".join(table[b] for b in token)


def tokenizer_json(ranks: dict[bytes, int], merges: list[tuple[bytes, bytes]],
                   specials: dict[str, int]) -> dict[str, Any]:
    vocab = {hf_token(t): r for t, r in sorted(ranks.items(), key=lambda kv: kv[1])}
    # "left right" strings rather than [left, right] pairs: every HF tokenizers release and
    # llama.cpp's converter read them, and byte-level tokens never contain a plain space.
    merge_strs = [f"{hf_token(a)} {hf_token(b)}" for a, b in merges]
    added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True}
             for s, i in sorted(specials.items(), key=lambda kv: kv[1])]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": HF_PATTERN}, "behavior": "Isolated",
                 "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                 "use_regex": False},
            ],
        },
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                           "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                    "use_regex": False},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
            "ignore_merges": False, "vocab": vocab, "merges": merge_strs,
        },
    }


def tokenizer_config(specials: dict[str, int]) -> dict[str, Any]:
    """transformers' tokenizer_config.json: AutoTokenizer.from_pretrained(dir) loads the dir."""
    decoder = {str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                        "single_word": False, "special": True} for s, i in specials.items()}
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<|endoftext|>",
        "eos_token": "<|endoftext|>",
        "pad_token": "<|pad|>" if "<|pad|>" in specials else None,
        "unk_token": None,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1_000_000,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": [s for s in specials if s not in ("<|endoftext|>", "<|pad|>")],
    }


def special_tokens_map(specials: dict[str, int]) -> dict[str, Any]:
    return {
        "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
        "pad_token": "<|pad|>" if "<|pad|>" in specials else None,
        "additional_special_tokens": [s for s in specials if s not in ("<|endoftext|>", "<|pad|>")],
    }
