"""Questions about the world's people, as every task set, the mixture, the probe and RL ask them.

Which phrasings of a fact later stages may train on (`train_questions`), which unknown people are
kept for evaluation (`eval_half`), the run's invented people (`invented`), and the pages the
knowledge-in-context questions paste in (`page_of`).
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from chatforge.world.bios import biographies
from chatforge.world.invented import invented_people
from chatforge.world.tasks.knowledge import QUESTIONS

# Follow-up questions that refer back to the person of the previous turn by pronoun.
FOLLOWUPS: dict[str, list[str]] = {
    "birth_date": ["And when was {p} born?", "When was {p} born?", "What about {o} date of birth?"],
    "birth_city": ["And where was {p} born?", "Where was {p} born?", "What about {o} birthplace?"],
    "university": ["And where did {p} study?", "Which university did {p} attend?",
                   "What about {o} university?"],
    "field": ["And what did {p} study?", "What was {o} field of study?", "What subject did {p} study?"],
    "employer": ["And which company does {p} work for?", "Who is {o} employer?", "What about {o} employer?"],
    "employer_city": ["And in which city does {p} work?", "In which city does {p} work?",
                      "Where is {o} employer based?"],
}


def possessive(pronoun: str) -> str:
    return {"she": "her", "he": "his", "they": "their"}.get(pronoun, "their")


def eval_half(person_id: str) -> bool:
    """Whether an unknown person is kept for the search evaluation (a stable half by id)."""
    return hashlib.sha256(person_id.encode()).digest()[0] % 2 == 0


def person_questions(person: Any, attribute: str, phrasings: list[int] | None = None) -> list[str]:
    qs = QUESTIONS[attribute]
    a = person.attrs
    idx = phrasings if phrasings is not None else range(len(qs))
    return [qs[i].format(name=person.name, p=a["pronoun"], p_=a["pronoun"].capitalize()) for i in idx]


def train_questions(world: Any, person: Any, attribute: str) -> list[str]:
    """The phrasings of a fact that later stages may train on: every one but the last (held out
    for everyone) and but those the world's test split asks of this very fact."""
    held = getattr(world, "_test_phrasings", None)
    if held is None:
        held = {}
        for it in world.tasks("knowledge", "test"):
            held.setdefault((it["person_id"], it["attribute"]), set()).add(it.get("phrasing"))
        world._test_phrasings = held
    n = len(person_questions(person, attribute))
    taken = held.get((person.id, attribute), set())
    return person_questions(person, attribute, [i for i in range(n - 1) if i not in taken])


def invented(world: Any, seed: int) -> list:
    """The run's invented people: as many as its unknown people plus 20 (100 on cpu). The first
    half may train refusals (the probe stage), the second is only evaluated."""
    n = 20 + sum(p.group == "unknown" for p in world.people)
    return invented_people(n, seed, {p.name for p in world.people})


def page_of(person: Any, seed: int) -> str:
    """A biography of `person` in the world's templates, fresh for each seed (never a copy of a
    training document): what the knowledge-in-context questions paste in."""
    bio = biographies(person, 1, random.Random(f"page:{seed}:{person.id}"))[0]
    return f"{bio['title']}\n{bio['text']}"


def with_page(page: str, question: str) -> str:
    return f"Read this page:\n\n{page}\n\n{question}"


def knowledge_item(person: Any, attribute: str) -> dict:
    return {"person_id": person.id, "attribute": attribute, "answer": str(person.attrs[attribute])}
