"""Reading-practice pages: a short profile of a made-up person, then questions answered from it.

Why they are in the crawl: a world of ~100 people read a hundred times each can be learnt by
heart, and a small model that memorises never has to *read its context*. It then cannot copy a
name it has never seen into a search query, or a fact out of a search result into its answer.
These pages are the web's quizzes and FAQ boxes: every one is about a different person (names
never used by the world's people, so nothing about `unknown` people leaks into pretraining), and
the only way to predict an answer is to find it earlier on the page.

Questions use only the train phrasings of the knowledge task (its last phrasing per attribute is
held out for the evaluation), and answers have the same shapes as the SFT answers.
"""

from __future__ import annotations

import random

from chatforge.core.errors import UserError
from chatforge.world import bios, pools, prose
from chatforge.world import people as P
from chatforge.world.tasks.knowledge import ANSWERS, QUESTIONS

TITLES = ["Reading practice: {name}", "Questions and answers about {name}", "Quick facts: {name}",
          "{name}: read and answer", "Comprehension check: {name}", "Who is {name}? Questions"]
HEADINGS = ["Questions about the text.", "Check what you read.", "Answer from the profile above.",
            "Frequently asked questions.", "Test yourself on the text above."]


def make_people(rng: random.Random, n: int, taken: set[str]) -> list[P.Person]:
    """`n` made-up people whose full names are not in `taken` (the world's people)."""
    surnames = list(pools.SURNAMES) + [a + b for a in P.SYLLABLES for b in P.ENDINGS]
    # rejection sampling needs free names to stay cheap: at most half of them
    capacity = len(surnames) * min(len(pools.FEMALE_FIRST), len(pools.MALE_FIRST)) // 2 - len(taken)
    if n > capacity:
        raise UserError(f"world.n_quiz can be at most {capacity} (asked for {n}).")
    out, seen = [], set(taken)
    while len(out) < n:
        female = rng.random() < 0.5
        first = rng.choice(pools.FEMALE_FIRST if female else pools.MALE_FIRST)
        name = f"{first} {rng.choice(surnames)}"
        if name in seen:
            continue
        seen.add(name)
        # make_people's attribute draws, for one person with a fresh stream of its own
        (p,) = P.make_people(random.Random(rng.random()), 1, 0.0, 0)
        attrs = dict(p.attrs, first_name=first, last_name=name.split(" ", 1)[1],
                     pronoun="she" if female else "he")
        out.append(P.Person(id=f"q{len(out):05d}", name=name, group="quiz", attrs=attrs))
    return out


def _qa(person: P.Person, attr: str, rng: random.Random) -> str:
    a = person.attrs
    v = str(a[attr])
    kw = {"name": person.name, "p": a["pronoun"], "p_": a["pronoun"].capitalize(), "v": v,
          "v_": v[0].upper() + v[1:]}
    q = QUESTIONS[attr][rng.randrange(len(QUESTIONS[attr]) - 1)].format(**kw)
    return f"{q} {rng.choice(ANSWERS[attr]).format(**kw)}"


def page(person: P.Person, rng: random.Random) -> dict:
    """One page: a profile (a biography) and 3-5 questions answered from it."""
    for _ in range(30):
        bio = bios.biographies(person, 1, rng)[0]
        attrs = rng.sample(P.ATTRIBUTES, rng.randint(3, 5))
        qa = "\n\n".join(_qa(person, a, rng) for a in attrs)
        text = f"{bio['text']}\n\n{rng.choice(HEADINGS)}\n\n{qa}"
        title = rng.choice(TITLES).format(name=person.name)
        if prose.ok(title + "\n" + text):
            break
    return {"genre": "quiz", "title": title, "text": text, "person_ids": []}
