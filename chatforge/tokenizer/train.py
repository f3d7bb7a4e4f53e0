"""Training: byte-level BPE with the cl100k split pattern, through a fast Rust trainer.

Two trainers are wired in, both Rust with Python bindings, both fed by a streaming iterator:
`rustbpe` (trains directly in tiktoken's terms, splitting with the same regex engine as tiktoken)
and Hugging Face `tokenizers` (a Split pre-tokenizer with the cl100k pattern, then ByteLevel).
On this corpus they learn the same vocabulary; bench/bench_tokenizer.py measures both, and the
faster one is the default (docs/tokenizer.md has the numbers).

Whatever a trainer returns goes through `consistent_ranks`: byte tokens take ranks 0..255 in byte
order, then every learned token in creation order, *keeping it only if tiktoken's algorithm can
actually produce it*. A trainer can learn the same byte string twice through two different pairs
(HF keeps both merges and one id; tiktoken would know one rank), and a token whose pieces never
end adjacent when merging lowest-rank-first would be dead weight that no encoder ever emits.
After this step the rank order is the merge order and each token splits into exactly one pair of
lower-ranked tokens, which is what makes tiktoken, the reference encoder and the HF
tokenizer.json agree id for id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator

import rustbpe
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

from chatforge.core.errors import UserError
from chatforge.tokenizer.hf import unicode_to_bytes
from chatforge.tokenizer.reference import ReferenceEncoder
from chatforge.tokenizer.spec import CL100K_PATTERN, HF_PATTERN

TRAINERS = ("rustbpe", "hf")
MIN_RANKS = 257  # the 256 bytes and at least one merge


def consistent_ranks(learned: Iterable[bytes]) -> tuple[dict[bytes, int], int]:
    """Ranks from learned tokens in creation order: bytes first, then every token that BPE can
    reach from its own bytes using only earlier tokens. Returns (ranks, number dropped)."""
    ranks = {bytes([b]): b for b in range(256)}
    ref = ReferenceEncoder(ranks)  # shares the dict, so it sees each token as it is added
    dropped = 0
    for token in learned:
        if len(token) < 2 or token in ranks:
            dropped += len(token) >= 2
            continue
        rank = len(ranks)
        if len(ref.bpe(token, max_rank=rank)) != 2:
            dropped += 1
            continue
        ranks[token] = rank
    return ranks, dropped


def merges_of(ranks: dict[bytes, int]) -> list[tuple[bytes, bytes]]:
    """The merge that creates each non-byte token, in rank order (for the HF tokenizer.json)."""
    ref = ReferenceEncoder(ranks)
    out = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) > 1:
            left, right = ref.bpe(token, max_rank=rank)
            out.append((left, right))
    return out


def _train_rustbpe(texts: Iterator[str], n_ranks: int) -> list[bytes]:
    tok = rustbpe.Tokenizer()
    tok.train_from_iterator(texts, n_ranks, pattern=CL100K_PATTERN)
    learned = sorted(((bytes(t), r) for t, r in tok.get_mergeable_ranks()), key=lambda kv: kv[1])
    return [t for t, _ in learned]


def _batches(texts: Iterator[str], size: int = 1000) -> Iterator[list[str]]:
    batch: list[str] = []
    for t in texts:
        batch.append(t)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _train_hf(texts: Iterator[str], n_ranks: int) -> list[bytes]:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(HF_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    trainer = trainers.BpeTrainer(vocab_size=n_ranks, show_progress=False, min_frequency=0,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_batches(texts), trainer)
    u2b = unicode_to_bytes()
    learned = []
    for merge in json.loads(tok.to_str())["model"]["merges"]:
        left, right = merge if isinstance(merge, list) else merge.split(" ")
        learned.append(bytes(u2b[c] for c in left + right))
    return learned


def train_ranks(texts: Iterable[str], n_ranks: int, trainer: str = "rustbpe",
                on_text: Callable[[str], None] | None = None) -> tuple[dict[bytes, int], int]:
    """Learn up to `n_ranks` BPE tokens (256 bytes included) from `texts`.

    `on_text` sees each text as the trainer pulls it (progress). Returns (ranks, dropped), where
    dropped counts learned tokens that were duplicates or unreachable (see module doc)."""
    if trainer not in TRAINERS:
        raise UserError(f"unknown tokenizer trainer '{trainer}' (choose one of {', '.join(TRAINERS)}).")
    if n_ranks < MIN_RANKS:
        raise UserError(f"the tokenizer needs at least {MIN_RANKS} BPE tokens (256 bytes + merges).")

    def feed() -> Iterator[str]:
        for t in texts:
            if on_text is not None:
                on_text(t)
            yield t

    learned = (_train_rustbpe if trainer == "rustbpe" else _train_hf)(feed(), n_ranks)
    return consistent_ranks(learned)
