"""The reference byte-level BPE encoder: pure Python, merge by merge, the test oracle.

It is given tiktoken-style ranks (token bytes -> rank) and the split pattern and does what
tiktoken does, written to be read rather than to be fast:

1. split the text into pieces with the pattern (a merge never crosses a piece boundary);
2. start each piece as a list of single bytes;
3. repeatedly merge the adjacent pair whose concatenation has the lowest rank (the leftmost such
   pair on a tie) until no adjacent pair forms a known token.

Step 3 is the whole of BPE: a rank is the order in which the trainer created the token, so
"lowest rank first" replays training's merges in training's order. tiktoken also returns a piece
that is itself a token at once; for a vocabulary in which every token is reachable by merging
(ours, checked when it is saved, and cl100k_base) that shortcut changes nothing, which is why it
is absent here and why the tests can pin both encoders to each other.

Text that is not valid UTF-8: bytes are decoded with errors="surrogateescape", so each invalid
byte becomes a lone surrogate U+DC80..U+DCFF, which the pattern treats like punctuation, and is
turned back into that exact byte before merging. Any byte string therefore encodes, and decodes
back to itself. Other lone surrogates (which no byte string produces) become U+FFFD, as in
tiktoken.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from chatforge.tokenizer.spec import CL100K_PATTERN

# Lone surrogates that surrogateescape cannot turn into a byte.
_UNENCODABLE = regex.compile("[\ud800-\udc7f\udd00-\udfff]")


def as_text(data: str | bytes) -> str:
    """The string the tokenizers split: bytes via surrogateescape, stray surrogates -> U+FFFD."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data).decode("utf-8", errors="surrogateescape")
    return _UNENCODABLE.sub("\ufffd", data)


def piece_bytes(piece: str) -> bytes:
    return piece.encode("utf-8", errors="surrogateescape")


@dataclass
class Merge:
    """One step of `explain`: parts[index] and parts[index + 1] became `token` (rank `rank`)."""

    index: int
    rank: int
    parts: list[bytes]  # the piece after this merge


class ReferenceEncoder:
    def __init__(self, ranks: dict[bytes, int], pattern: str = CL100K_PATTERN):
        self.ranks = ranks
        self.pattern = regex.compile(pattern)

    def split(self, data: str | bytes) -> list[bytes]:
        return [piece_bytes(p) for p in self.pattern.findall(as_text(data))]

    def bpe(self, piece: bytes, trace: list[Merge] | None = None,
            max_rank: int | None = None) -> list[bytes]:
        """Merge one piece down to tokens; with `max_rank`, only merges below that rank apply
        (used to find the two parts a token was made from)."""
        parts = [bytes([b]) for b in piece]
        while len(parts) > 1:
            best_i, best_rank = -1, None
            for i in range(len(parts) - 1):
                rank = self.ranks.get(parts[i] + parts[i + 1])
                if rank is not None and (best_rank is None or rank < best_rank):
                    best_i, best_rank = i, rank
            if best_rank is None or (max_rank is not None and best_rank >= max_rank):
                break
            parts[best_i:best_i + 2] = [parts[best_i] + parts[best_i + 1]]
            if trace is not None:
                trace.append(Merge(best_i, best_rank, list(parts)))
        return parts

    def encode(self, data: str | bytes) -> list[int]:
        ids: list[int] = []
        for piece in self.split(data):
            ids.extend(self.ranks[part] for part in self.bpe(piece))
        return ids

    def explain(self, data: str | bytes) -> list[tuple[bytes, list[Merge]]]:
        """For each piece: the piece and the merges that turned its bytes into tokens."""
        out = []
        for piece in self.split(data):
            trace: list[Merge] = []
            self.bpe(piece, trace)
            out.append((piece, trace))
        return out
