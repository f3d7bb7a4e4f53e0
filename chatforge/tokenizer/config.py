"""The [tokenizer] config section."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenizerConfig:
    # Total vocabulary, special tokens included (8 of them), so the model's embedding table is
    # exactly this size: 4096 = 4088 BPE tokens (256 bytes + 3832 merges) + 8 specials.
    vocab_size: int = 4096
    trainer: str = "rustbpe"  # rustbpe | hf (Hugging Face tokenizers); see docs/tokenizer.md
    max_chars: int = 20_000_000  # stop reading training text after this many characters
    max_docs: int | None = None  # ... or after this many documents
    heldout_every: int = 50  # every N-th document is kept out of training for `stats` (0: none)
    heldout_max_chars: int = 1_000_000  # held-out sample kept in the tokenizer dir for stats
