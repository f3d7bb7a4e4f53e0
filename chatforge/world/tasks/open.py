"""Open-ended prompts (jokes, short poems, descriptions, stories) for preference learning.

There is no reference answer; `chatforge.world.gold.gold_score` plays the human labeler. Each item
carries what the scorer needs: the topic, words that show an answer is about it, and a length range.
"""

from __future__ import annotations

import random

from chatforge.world import pools
from chatforge.world import people as P

KINDS = {
    # kind: (prompts, min_words, max_words)
    "joke": (["Tell me a joke about {t}.", "Do you know a funny joke about {t}?",
              "Make me laugh with a short joke about {t}."], 8, 60),
    "poem": (["Write a short poem about {t}.", "Can you write a few lines of poetry about {t}?",
              "Compose a little poem about {t}."], 15, 90),
    "describe": (["Describe {t} in a few sentences.", "What is {t} like?",
                  "Give me a short description of {t}."], 25, 120),
    "story": (["Write a very short story set in {t}.", "Tell me a short story that takes place in {t}.",
               "Write a tiny tale about a visitor to {t}."], 40, 180),
}


def _topics() -> list[tuple[str, list[str]]]:
    """(topic, keywords) pairs: world cities and companies, plus everyday subjects."""
    out = []
    for c in pools.CITIES:
        d = P.city(c[0])
        out.append((d["name"], [d["name"]] + [w for w in d["known_for"].split() if len(w) > 3]))
    for co in pools.COMPANIES:
        d = P.company(co[0])
        out.append((d["name"], [d["name"].split()[0]] + [w for w in d["industry"].split() if len(w) > 3]))
    for t, kws in [("cats", ["cat"]), ("the sea", ["sea", "ocean", "wave"]), ("winter", ["winter", "snow", "cold"]),
                   ("coffee", ["coffee", "cup"]), ("a rainy day", ["rain"]), ("bicycles", ["bicycle", "bike"]),
                   ("the moon", ["moon"]), ("a library", ["library", "book"]), ("trains", ["train"]),
                   ("gardening", ["garden", "plant", "flower"])]:
        out.append((t, kws))
    return out


def generate(rng: random.Random, n_train: int, n_test: int) -> dict[str, list[dict]]:
    topics = _topics()

    def one(idx: str) -> dict:
        kind = rng.choice(sorted(KINDS))
        prompts, lo, hi = KINDS[kind]
        # stories need a place; the others take any topic
        choices = topics[: len(pools.CITIES)] if kind == "story" else topics
        topic, kws = rng.choice(choices)
        prompt = rng.choice(prompts).format(t=topic)
        return {"id": idx, "kind": kind, "prompt": prompt, "topic": topic, "keywords": kws,
                "min_words": lo, "max_words": hi,
                "messages": [{"role": "user", "content": prompt}]}

    return {"train": [one(f"op-tr-{i:06d}") for i in range(n_train)],
            "test": [one(f"op-te-{i:06d}") for i in range(n_test)]}
