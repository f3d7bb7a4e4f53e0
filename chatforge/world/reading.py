"""Reading passages: pages about people invented on the spot, then questions answered from them.

Each passage is two or three biographies written with the world's own templates, about people
made up for this passage alone (first names and surnames from the world's pools, or surnames
built from syllables), followed by questions in the world's train phrasings and their answers.
The answers can only come from reading the page above: the people exist nowhere else, and a new
passage is drawn every time, so nothing here can be learnt by heart. It is the natural-language
form of the copy exercises (chatforge/pretrain/reading.py): a fact restated at a distance, found
by a cue (the name and the attribute) instead of an exact repeat. Pretraining and fine-tuning mix
them in (`pretrain.reading_passages`, shared by `sft.reading_rows`), and the passage probe
(chatforge/eval/copying.py) measures the skill on passages no run has seen.
"""

from __future__ import annotations

import random

from chatforge.world.bios import biographies
from chatforge.world.people import ATTRIBUTES, ENDINGS, SYLLABLES, make_people
from chatforge.world.tasks.knowledge import ANSWERS, QUESTIONS


def _invented(rng: random.Random, k: int):
    people = make_people(rng, k, 1.0, 0)
    seen = set()
    for p in people:
        if rng.random() < 0.5:  # a surname no world person has
            last = rng.choice(SYLLABLES) + rng.choice(ENDINGS)
            p.attrs["last_name"], p.name = last, f"{p.attrs['first_name']} {last}"
        if p.name in seen:
            return None
        seen.add(p.name)
    return people


def passage(rng: random.Random, n_people: tuple[int, int] = (2, 3), n_questions: tuple[int, int] = (3, 6),
            form: int | None = None) -> tuple[str, list[tuple[str, str, str, str]]]:
    """(page, [(question, before, value, after), ...]). The page ends with a blank line; the
    question is "Question: ...\nAnswer:", the answer is before + value + after (" Ines Zeller
    works for" + " Silverline Press" + ".\n"), in one of the world's answer forms (`form`: that
    one; None: drawn). The answer, and above all its value, can only come from reading the page."""
    people = None
    while people is None:
        people = _invented(rng, rng.randint(*n_people))
    page = "\n\n".join(biographies(p, 1, rng)[0]["text"] for p in people) + "\n\n"
    qa = []
    for _ in range(rng.randint(*n_questions)):
        p, attr = rng.choice(people), rng.choice(ATTRIBUTES)
        a = p.attrs
        v = str(a[attr])
        kw = {"name": p.name, "p": a["pronoun"], "p_": a["pronoun"].capitalize()}
        q = rng.choice(QUESTIONS[attr][:-1]).format(**kw, v=v)  # the last phrasing is the eval's
        template = ANSWERS[attr][rng.randrange(len(ANSWERS[attr])) if form is None else form]
        slot = "{v_}" if "{v_}" in template else "{v}"
        before, after = template.split(slot)
        value = v[0].upper() + v[1:] if slot == "{v_}" else v
        before = " " + before.format(**kw)
        qa.append((f"Question: {q}\nAnswer:", before.rstrip(), " " + value, after + "\n"))
    return page, qa
