"""Labelers rank K answers to one prompt, best first.

`gold` plays the human: the world's hidden scorer (chatforge/world/gold.py) orders the answers,
and answers it scores the same are ordered at random, as a person would toss a coin between two
equally bad answers. That coin is the labeler's own noise: `self_consistency` measures it (the
share of pairs a second labelling orders the same way), the ceiling of any reward model's
agreement with it. People rank in the web page (source "web"), into the same store.
"""

from __future__ import annotations

import random
from itertools import combinations

from chatforge.world.gold import gold_score

LABELERS = ("gold",)


def gold_ranking(item: dict, answers: list[str], rng: random.Random) -> list[int]:
    scores = [gold_score(item, a) for a in answers]
    coin = [rng.random() for _ in answers]
    return sorted(range(len(answers)), key=lambda i: (-scores[i], coin[i]))


def pairs(ranking: list[int]) -> list[tuple[int, int]]:
    """(better, worse) answer indices for every pair a ranking orders."""
    return [(ranking[i], ranking[j]) for i, j in combinations(range(len(ranking)), 2)]


def agreement(a: list[int], b: list[int]) -> tuple[int, int]:
    """(pairs ordered the same, pairs) between two rankings of the same answers."""
    pos = {x: i for i, x in enumerate(b)}
    same = sum(pos[w] < pos[lo] for w, lo in pairs(a))
    return same, len(a) * (len(a) - 1) // 2


def self_consistency(items: list[dict], answers: list[list[str]], seed: int) -> dict:
    """Rank every item twice (independent coins) and count the pairs ordered the same way."""
    same = total = 0
    for n, (item, ans) in enumerate(zip(items, answers)):
        a = gold_ranking(item, ans, random.Random(f"consistency-a:{seed}:{n}"))
        b = gold_ranking(item, ans, random.Random(f"consistency-b:{seed}:{n}"))
        s, t = agreement(a, b)
        same, total = same + s, total + t
    return {"pairs": total, "same": same, "rate": round(same / total, 4) if total else None}
