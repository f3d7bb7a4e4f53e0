"""Byte-level BPE tokenizer: cl100k split pattern, trained fast, encoded by tiktoken.

    from chatforge.tokenizer import Tokenizer
    tok = Tokenizer.load(run_dir / "tokenizer")      # or Tokenizer.from_encoding("cl100k_base")
    ids = tok.encode(text)                            # never contains a special id
    bos = tok.special("<|endoftext|>")
"""

from chatforge.core.stage import Stage
from chatforge.tokenizer import card
from chatforge.tokenizer.checks import checks
from chatforge.tokenizer.config import TokenizerConfig
from chatforge.tokenizer.core import Tokenizer
from chatforge.tokenizer.spec import SPECIAL_TOKENS


def _run(ctx) -> dict:
    from chatforge.tokenizer.stage import run  # noqa: PLC0415 - start-up time

    return run(ctx)


STAGE = Stage("tokenizer", _run, config={"tokenizer": TokenizerConfig}, needs=("data", "import"),
              checks=checks, report=(card.section,))

__all__ = ["STAGE", "SPECIAL_TOKENS", "Tokenizer"]
