"""What a reader notices first in a batch of answers: length, repetition, variety.

    words        mean words per answer
    repetition   mean share of an answer's word trigrams that repeat an earlier one in it
    distinct2    distinct word bigrams / all bigrams, over the whole batch (low = every answer alike)
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z']+|\d+")


def text_stats(texts: list[str]) -> dict:
    words = [[w.lower() for w in _WORD.findall(t)] for t in texts]
    reps = []
    for w in words:
        grams = [tuple(w[i:i + 3]) for i in range(len(w) - 2)]
        reps.append(1 - len(set(grams)) / len(grams) if grams else 0.0)
    bigrams = [tuple(w[i:i + 2]) for w in words for i in range(len(w) - 1)]
    n = max(1, len(texts))
    return {"words": round(sum(map(len, words)) / n, 2), "repetition": round(sum(reps) / n, 4),
            "distinct2": round(len(set(bigrams)) / len(bigrams), 4) if bigrams else 0.0}
