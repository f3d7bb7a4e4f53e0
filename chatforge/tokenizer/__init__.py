"""Byte-level BPE tokenizer: cl100k split pattern, trained fast, encoded by tiktoken.

    from chatforge.tokenizer import Tokenizer
    tok = Tokenizer.load(run_dir / "tokenizer")      # or Tokenizer.from_encoding("cl100k_base")
    ids = tok.encode(text)                            # never contains a special id
    bos = tok.special("<|endoftext|>")
"""

from chatforge.tokenizer.core import Tokenizer
from chatforge.tokenizer.spec import SPECIAL_TOKENS

__all__ = ["Tokenizer", "SPECIAL_TOKENS"]
