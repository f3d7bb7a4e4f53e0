"""Does a generated document pass the data stage's quality filters? A conservative stand-in.

The FineWeb recipe drops pages by Gopher rules computed on word tokens where punctuation marks
count as words: >= 80% of tokens must contain a letter, >= 2 distinct words of (the, be, to, of, and,
that, have, with) must occur, and no single 2/3/4-gram may cover more than 20/18/16% of the characters.
Template text can fail these by accident (short sentences full of dates, a long name repeated),
so every generated document is checked here with a safety margin and redrawn if it fails.
"""

from __future__ import annotations

import re
from collections import Counter

_TOKEN = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]")  # words and single punctuation marks
_ALPHA = re.compile(r"[^\W\d_]")
GOPHER_STOP = {"the", "be", "to", "of", "and", "that", "have", "with"}
TOP_NGRAM_MAX = {2: 0.16, 3: 0.14, 4: 0.12}  # filter thresholds 0.20 / 0.18 / 0.16 minus a margin


def word_problems(text: str, toks: list[str] | None = None) -> list[str]:
    """The cheap checks: length, share of real words, stop words."""
    toks = _TOKEN.findall(text) if toks is None else toks
    out = []
    alpha = sum(1 for t in toks if _ALPHA.search(t))
    if sum(1 for t in toks if t[0].isalnum() or t[0] == "_") < 55:
        out.append("short")
    if toks and alpha / len(toks) < 0.84:
        out.append("alpha")
    if len(GOPHER_STOP.intersection(toks)) < 3:  # the filter counts distinct stop words (>= 2)
        out.append("stop_words")
    return out


def problems(text: str) -> list[str]:
    toks = _TOKEN.findall(text)
    out = word_problems(text, toks)
    for n, limit in TOP_NGRAM_MAX.items():
        grams = Counter(" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1))
        if grams:
            g, c = grams.most_common(1)[0]
            if len(g) * c / max(1, len(text)) > limit:
                out.append(f"top_{n}_gram")
    if text.rstrip()[-1:] not in ".!?\"":
        out.append("no_terminal_punct")
    return out


def ok(text: str) -> bool:
    return not problems(text)
