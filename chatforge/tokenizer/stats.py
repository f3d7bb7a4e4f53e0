"""Bytes per token on held-out text: how well a vocabulary compresses text it was not trained on."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chatforge.tokenizer.core import Tokenizer


def bytes_per_token(tok: Tokenizer, texts: Iterable[str]) -> dict[str, Any]:
    texts = list(texts)
    n_bytes = sum(len(t.encode("utf-8", errors="surrogateescape")) for t in texts)
    n_tokens = sum(len(ids) for ids in tok.encode_batch(texts))
    return {"tokenizer": tok.name, "n_vocab": tok.n_vocab, "bytes": n_bytes, "tokens": n_tokens,
            "bytes_per_token": round(n_bytes / n_tokens, 4) if n_tokens else 0.0}


def compare(toks: list[Tokenizer], texts: Iterable[str]) -> list[dict[str, Any]]:
    texts = list(texts)
    return [bytes_per_token(t, texts) for t in toks]


def table(rows: list[dict[str, Any]]) -> str:
    head = f"{'tokenizer':<20} {'n_vocab':>8} {'bytes':>12} {'tokens':>12} {'bytes/token':>12}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['tokenizer']:<20} {r['n_vocab']:>8} {r['bytes']:>12,} {r['tokens']:>12,} "
                     f"{r['bytes_per_token']:>12.3f}")
    return "\n".join(lines)
