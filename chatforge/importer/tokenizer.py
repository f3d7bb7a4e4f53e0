"""A model's own byte-level BPE vocabulary -> chatforge's tiktoken-based Tokenizer files.

GGUF ("gpt2" tokenizer model) and Hugging Face tokenizer.json store the same thing: token strings
in GPT-2's byte-to-unicode spelling (a space is 'Ġ'), a merge list, special tokens, and the name
or the regex of a pre-tokenizer. tiktoken needs (token bytes -> rank) plus one split regex, and
uses the rank as the id; so rank = the model's id. That is the same BPE as the merge list when
the model's ids grow with its merge order and every merged token has exactly one merge (true for
tokenizers trained the usual way, SmolLM2's and Qwen's included); `check_merge_order` verifies
it and refuses a vocabulary where it does not hold, rather than encoding text differently.

Pre-tokenizers: llama.cpp names them (tokenizer.ggml.pre); HF spells them out as JSON. Each is
translated into one regex with the same splits. SmolLM2's "digits one by one, then GPT-2's regex"
is two passes in HF and llama.cpp; in one regex a digit ends a run of spaces the way the end of
the text does, which is what `\\s+(?![^\\s\\p{N}])` says.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatforge.core.atomic import atomic_write_json, atomic_write_text
from chatforge.core.errors import UserError
from chatforge.tokenizer import Tokenizer
from chatforge.tokenizer.core import ranks_text
from chatforge.tokenizer.hf import unicode_to_bytes
from chatforge.tokenizer.patterns import (
    DIGITS_GPT2_PATTERN,
    GGUF_PRE,
    GPT2_PATTERN,
)
from chatforge.tokenizer.spec import CL100K_PATTERN, FORMAT, HF_FILE, HF_PATTERN, META_FILE, RANKS_FILE


@dataclass
class Vocab:
    """A byte-level BPE vocabulary as the model stores it."""

    tokens: list[str]  # by id, GPT-2 byte-level spelling (specials as they are written)
    special: set[int]  # ids BPE never produces: control / added tokens
    merges: list[str]  # "left right", highest priority first
    pattern: str  # the split regex, for tiktoken
    pre_tokenizer: dict[str, Any] | None = None  # HF JSON of the pre-tokenizer, for tokenizer.json
    normalizer: dict[str, Any] | None = None
    unused: set[int] = field(default_factory=set)  # ids no token uses (padding rows)


def pattern_from_gguf(pre: str | None, model_name: str) -> str:
    pre = (pre or "default").lower()
    if pre == "llama-bpe" and model_name.startswith("chatforge"):
        # our own export: its tokenizer splits with GPT-4's regex, which llama.cpp calls llama-bpe
        return CL100K_PATTERN
    if pre not in GGUF_PRE:
        raise UserError(f"the GGUF's pre-tokenizer '{pre}' is not supported "
                        f"(supported: {', '.join(sorted(GGUF_PRE))}).")
    return GGUF_PRE[pre]


def hf_pre_tokenizer_for(pattern: str) -> dict[str, Any]:
    """The tokenizer.json pre-tokenizer that splits like `pattern` (for files written from a GGUF)."""
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    if pattern == GPT2_PATTERN:
        return bl
    if pattern == DIGITS_GPT2_PATTERN:
        return {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, bl]}
    regex = HF_PATTERN if pattern == CL100K_PATTERN else pattern
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
        {**bl, "use_regex": False}]}


def pattern_from_hf(pre: dict[str, Any] | None) -> str:
    """tokenizer.json's pre_tokenizer -> one regex; UserError for shapes it cannot express."""
    def fail() -> UserError:
        return UserError(f"the tokenizer's pre-tokenizer {json.dumps(pre)[:200]} is not supported "
                         "(supported: ByteLevel, Digits + ByteLevel, Split(regex) + ByteLevel).")

    if not isinstance(pre, dict):
        raise fail()
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    kinds = [s.get("type") for s in steps]
    if kinds == ["ByteLevel"] and steps[0].get("use_regex", True) and not steps[0].get("add_prefix_space"):
        return GPT2_PATTERN
    if (kinds == ["Digits", "ByteLevel"] and steps[0].get("individual_digits")
            and steps[1].get("use_regex", True) and not steps[1].get("add_prefix_space")):
        return DIGITS_GPT2_PATTERN
    if (kinds == ["Split", "ByteLevel"] and not steps[1].get("use_regex", True)
            and steps[0].get("behavior") == "Isolated" and not steps[0].get("invert")
            and "Regex" in steps[0].get("pattern", {})):
        regex = steps[0]["pattern"]["Regex"]
        # our own HF export: the regex is GPT-4's without one possessive `+` Oniguruma lacks
        return CL100K_PATTERN if regex == HF_PATTERN else regex
    raise fail()


def _bytes_of(token: str) -> bytes | None:
    table = unicode_to_bytes()
    try:
        return bytes(table[ch] for ch in token)
    except KeyError:  # not byte-level spelling: only a special token can look like this
        return None


def ranks_and_specials(v: Vocab) -> tuple[dict[bytes, int], dict[str, int]]:
    ranks: dict[bytes, int] = {}
    specials: dict[str, int] = {}
    for i, tok in enumerate(v.tokens):
        if i in v.unused:
            continue
        b = None if i in v.special else _bytes_of(tok)
        if b is None:
            specials[tok] = i
        elif b in ranks:
            raise UserError(f"the vocabulary spells token {i} like token {ranks[b]} ({tok!r}); "
                            "tiktoken needs one id per byte string.")
        else:
            ranks[b] = i
    if not ranks:
        raise UserError("the vocabulary has no byte-level BPE tokens.")
    return ranks, specials


def check_merge_order(v: Vocab, ranks: dict[bytes, int]) -> None:
    """tiktoken merges the pair whose *result* has the lowest id; the model merges the pair that
    comes first in its merge list. They agree when each merge makes a new token whose id is larger
    than the previous merge's, so check exactly that."""
    prev = -1
    for n, m in enumerate(v.merges):
        left, _, right = m.partition(" ")
        a, b = _bytes_of(left), _bytes_of(right)
        rid = ranks.get(a + b) if a is not None and b is not None else None
        if rid is None:
            raise UserError(f"merge {n} ({m!r}) makes a token that is not in the vocabulary.")
        if rid <= prev:
            raise UserError(f"merge {n} ({m!r}) makes token {rid}, not above the previous merge's "
                            f"{prev}; this BPE cannot be run by tiktoken exactly.")
        prev = rid


def build(v: Vocab, name: str, chat: dict[str, Any] | None = None):
    """-> chatforge Tokenizer with the model's ids."""

    ranks, specials = ranks_and_specials(v)
    check_merge_order(v, ranks)
    tok = Tokenizer(ranks, specials, pattern=v.pattern, name=name)
    tok.chat = dict(chat or {})
    return tok


def tokenizer_json(v: Vocab) -> dict[str, Any]:
    """A Hugging Face tokenizer.json for the same vocabulary (what our HF/GGUF exports copy the
    merges from, and what the tests compare our encoding with)."""
    added = [{"id": i, "content": v.tokens[i], "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i in sorted(v.special)]
    vocab = {t: i for i, t in enumerate(v.tokens) if i not in v.special and i not in v.unused}
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": v.normalizer, "pre_tokenizer": v.pre_tokenizer or hf_pre_tokenizer_for(v.pattern),
        "post_processor": {**bl, "trim_offsets": False}, "decoder": bl,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab, "merges": v.merges},
    }


def save(tok, v: Vocab, path: str | Path, extra_meta: dict[str, Any] | None = None) -> None:
    """Our tokenizer directory: tiktoken ranks, the model's tokenizer.json, then the meta file
    (last: its presence marks a complete directory). `Tokenizer.save` would re-derive merges and
    write GPT-4's regex into tokenizer.json; an imported tokenizer keeps the model's own."""

    path = Path(path)
    text = ranks_text(tok.ranks)
    atomic_write_text(path / RANKS_FILE, text)
    atomic_write_text(path / HF_FILE, json.dumps(tokenizer_json(v), ensure_ascii=False))
    atomic_write_json(path / META_FILE, {
        "format": FORMAT, "name": tok.name, "pattern": tok.pattern, "special_tokens": tok.special_tokens,
        "n_ranks": len(tok.ranks), "n_vocab": tok.n_vocab,
        "ranks_sha256": hashlib.sha256(text.encode()).hexdigest(), "chat": tok.chat, **(extra_meta or {}),
    })
