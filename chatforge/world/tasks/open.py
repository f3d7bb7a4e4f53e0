"""Open-ended prompts (jokes, short poems, descriptions, stories) for preference learning.

There is no reference answer; `chatforge.world.gold.gold_score` plays the human labeler. Each item
carries what the scorer needs: the topic, words that show an answer is about it, and a length range.
"""

from __future__ import annotations

import random

from chatforge.world import people as P
from chatforge.world import pools

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
    for t, kws in [("cats", ["cat"]), ("the sea", ["sea", "ocean", "wave"]),
                   ("winter", ["winter", "snow", "cold"]), ("coffee", ["coffee", "cup"]),
                   ("a rainy day", ["rain"]), ("bicycles", ["bicycle", "bike"]), ("the moon", ["moon"]),
                   ("a library", ["library", "book"]), ("trains", ["train"]),
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


# ---- demonstrations: what a good answer looks like, for the SFT mixture ------------------------
# A few hand-written shapes per kind, filled with the item's topic and one of its keywords. They
# are the "labeler-written demonstrations" of InstructGPT's first step: on topic, fluent, not
# repetitive, the right length (poems in lines). Train items only; the scorer never sees them.

_NAMES = ["Mira", "Tomas", "Ada", "Jonah", "Lena", "Felix", "Rosa", "Owen", "Ines", "Hugo"]
_MOODS = ["quiet", "bright", "windy", "golden", "misty", "busy", "gentle", "crisp"]

_DEMOS = {
    "joke": [
        "Why did the tourist bring a ladder to {t}? "
        "Because everyone said the {k} there was on another level!",
        "Here is one about {t}: I tried to tell a joke about {k}, "
        "but it only made sense to people who had been there. Luckily, everyone in {t} laughed.",
        "What did one friend say to the other about {t}? \"I would explain the {k}, but you really had to be "
        "there.\"",
        "A visitor asked how long {t} had been famous for {k}. "
        "The guide smiled and said, \"Longer than my jokes, and those are very old.\"",
    ],
    "poem": [
        "In {t} the morning light is {m},\nthe {k} hums softly through the day,\nand every street remembers "
        "someone\nwho came to visit and chose to stay.",
        "A {m} wind over {t},\nthe smell of {k} in the air,\n"
        "I walk until the evening falls\nand leave a little of my heart there.",
        "Oh {t}, of {k} and of rain,\nyou keep your stories close and warm;\nI count the lights along your "
        "hills\nand wait with you for the coming storm.",
    ],
    "describe": [
        "{T} is a {m} subject that many people enjoy. It is best known for {k}, and visitors often say it "
        "feels welcoming from the very first moment. There is always something new to notice, even on a "
        "second or third visit.",
        "People who know {t} talk first about the {k}. On a {m} day it is easy to see why: everything seems "
        "calm and full of small details. It is a good place to slow down, look around and learn a little "
        "history.",
        "{T} has a character of its own. Its name is tied to {k}, and the people there are proud of it. Most "
        "guests leave with a few photographs, a good meal behind them and a plan to return.",
    ],
    "story": [
        "{N} arrived in {t} on a {m} afternoon with a small bag and no plans. At the station a stranger "
        "pointed her toward the old quarter, where everyone seemed to talk about {k}. She spent the evening "
        "listening to their stories and writing them in a notebook. By the end of the week she had a job, "
        "a favourite cafe and a friend who promised to show her the hills.",
        "When {N} first came to {t}, the town was preparing for its festival of {k}. Nobody had time to give "
        "directions, so {N} simply followed the music. It led to a square full of lanterns, where an old "
        "woman handed out bread to anyone who passed. {N} stayed until midnight and decided that some "
        "places are best found by getting lost.",
        "The train was late, and {N} reached {t} after dark. A boy selling maps explained that the whole "
        "town lived on {k}, and that visitors always arrived at the wrong hour. He walked {N} to a small "
        "inn by the water. In the morning the view from the window was so {m} that {N} forgot all about "
        "the long journey.",
    ],
}


def demo(item: dict) -> str:
    """A good answer to a train item (deterministic per item), for supervised fine-tuning."""
    rng = random.Random(f"open-demo:{item['id']}")
    kws = [k for k in item.get("keywords", []) if k.lower() != item["topic"].lower()] or [item["topic"]]
    topic = item["topic"]
    text = rng.choice(_DEMOS[item["kind"]]).format(t=topic, T=topic[:1].upper() + topic[1:],
                                                  k=rng.choice(kws), m=rng.choice(_MOODS),
                                                  N=rng.choice(_NAMES))
    return text
