"""Looking at tokens: a coloured view (tiktokenizer in the terminal) and the merge-by-merge view.

Token bytes that are not valid UTF-8 on their own (a CJK character or an emoji split across
tokens) are shown as \\xNN escapes, so every byte of every token is visible.
"""

from __future__ import annotations

from chatforge.tokenizer.core import Tokenizer
from chatforge.tokenizer.reference import ReferenceEncoder

# Pastel backgrounds with black text: adjacent tokens differ, and whitespace tokens stay visible.
_BACKGROUNDS = (153, 187, 223, 217, 189, 158, 229, 183)
_RESET = "\x1b[0m"


def token_text(b: bytes) -> str:
    return b.decode("utf-8", errors="backslashreplace")


def quoted(text: str) -> str:
    """A token for a plain listing: quoted, with control characters escaped (\\xNN stays)."""
    return '"' + text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


def _paint(text: str, i: int) -> str:
    return f"\x1b[48;5;{_BACKGROUNDS[i % len(_BACKGROUNDS)]}m\x1b[30m{text}{_RESET}"


def _visible(text: str) -> str:
    # A newline cannot carry a background colour, so mark it before breaking the line.
    return text.replace("\t", "\u2192\t").replace("\r", "\u240d").replace("\n", "\u21b5\n")


def render(tok: Tokenizer, ids: list[int], data: bytes, color: bool) -> str:
    """The tokens of `data` (already encoded as `ids`), coloured or as a plain table."""
    pieces = [tok.id_to_bytes(i) for i in ids]
    summary = (f"{len(ids)} tokens, {len(data)} bytes, "
               f"{len(data.decode('utf-8', errors='replace'))} characters"
               + (f", {len(data) / len(ids):.2f} bytes/token" if ids else "") + f" ({tok.name})")
    if color:
        text = "".join(_paint(_visible(token_text(p)), k) for k, p in enumerate(pieces))
        id_line = " ".join(_paint(str(i), k) for k, i in enumerate(ids))
        return f"{text}\n\n{id_line}\n\n{summary}"
    rows = [f"{k:>6} {i:>7}  {quoted(token_text(p))}"
            for k, (i, p) in enumerate(zip(ids, pieces))]
    return "\n".join([f"{'#':>6} {'id':>7}  token", *rows, summary])


def explain(ref: ReferenceEncoder, data: bytes, color: bool) -> str:
    """Each piece of `data` and the merges that turned its bytes into tokens, lowest rank first."""

    def seg(parts: list[bytes]) -> str:
        if color:
            return "".join(_paint(_visible(token_text(p)).replace("\n", ""), k) for k, p in enumerate(parts))
        return " ".join(quoted(token_text(p)) for p in parts)

    out = []
    for piece, trace in ref.explain(data):
        out.append(f"piece {quoted(token_text(piece))}: {len(piece)} bytes, "
                   f"{len(trace)} merges")
        out.append(f"  {'bytes':>12}  {seg([bytes([b]) for b in piece])}")
        for step in trace:
            made = step.parts[step.index]
            out.append(f"  rank {step.rank:>7}  {seg(step.parts)}   "
                       f"(+ {quoted(token_text(made))})")
        final = trace[-1].parts if trace else [bytes([b]) for b in piece]
        out.append(f"  {'ids':>12}  {[ref.ranks[p] for p in final]}")
    return "\n".join(out)
