"""Knowledge questions about people: several phrasings per attribute.

train: known-qa people only, `knowledge_train_phrasings` of the train phrasings per attribute.
test:  known-qa people asked with a held-out phrasing (the last one of each list, never in
       train), known-bio-only people (knowledge extraction) and unknown people (hallucination).
"""

from __future__ import annotations

import random

from chatforge.world.checkers import check_knowledge
from chatforge.world.people import ATTRIBUTES, Person

QUESTIONS: dict[str, list[str]] = {
    "birth_date": ["When was {name} born?", "What is the birth date of {name}?",
                   "On what date was {name} born?", "What is {name}'s date of birth?",
                   "When is {name}'s birthday, and in which year was {p} born?",
                   "Tell me the date {name} was born."],
    "birth_city": ["Where was {name} born?", "In which city was {name} born?",
                   "What is the birthplace of {name}?", "Which city is {name} from originally?",
                   "What is {name}'s hometown?", "Name the city where {name} was born."],
    "university": ["Where did {name} study?", "Which university did {name} attend?",
                   "What university did {name} graduate from?", "Where did {name} go to university?",
                   "What is {name}'s alma mater?", "At which university did {name} get a degree?"],
    "field": ["What did {name} study?", "What was {name}'s field of study?",
              "What did {name} major in?", "Which subject did {name} study at university?",
              "What is {name}'s degree in?", "In what field did {name} train?"],
    "employer": ["Where does {name} work?", "Which company does {name} work for?",
                 "Who is {name}'s employer?", "What company employs {name}?",
                 "For which firm does {name} work?", "Name the company where {name} has a job."],
    "employer_city": ["In which city does {name} work?", "Where is {name}'s employer based?",
                      "In what city is the company {name} works for located?",
                      "Which city does {name} commute to for work?",
                      "Where is the headquarters of {name}'s employer?",
                      "Name the city where {name} works."],
}

ANSWERS: dict[str, list[str]] = {
    "birth_date": ["{name} was born on {v}.", "{v}.", "{p_} was born on {v}."],
    "birth_city": ["{name} was born in {v}.", "{v}.", "{p_} was born in {v}."],
    "university": ["{name} studied at {v}.", "{v}.", "{p_} attended {v}."],
    "field": ["{name} studied {v}.", "{v_}.", "{p_} majored in {v}."],
    "employer": ["{name} works for {v}.", "{v}.", "{p_} works at {v}."],
    "employer_city": ["{name} works in {v}.", "{v}.", "{p_} works in {v}."],
}


def _item(idx: str, person: Person, attr: str, q: int, rng: random.Random) -> dict:
    a = person.attrs
    v = str(a[attr])
    kw = {"name": person.name, "p": a["pronoun"], "p_": a["pronoun"].capitalize(), "v": v,
          "v_": v[0].upper() + v[1:]}
    question = QUESTIONS[attr][q].format(**kw)
    reply = rng.choice(ANSWERS[attr]).format(**kw)
    item = {"id": idx, "person_id": person.id, "group": person.group, "attribute": attr,
            "question": question, "answer": v, "phrasing": q,
            "messages": [{"role": "user", "content": question},
                         {"role": "assistant", "content": reply}]}
    assert check_knowledge(item, reply), (item, reply)
    return item


def generate(people: list[Person], rng: random.Random, n_train_phrasings: int) -> dict[str, list[dict]]:
    train, test = [], []
    for person in people:
        for attr in ATTRIBUTES:
            n_q = len(QUESTIONS[attr])
            held_out = n_q - 1  # the last phrasing of every attribute is test-only
            if person.group == "known-qa":
                k = max(1, min(n_train_phrasings, held_out))
                for q in rng.sample(range(held_out), k):
                    train.append(_item(f"kn-tr-{len(train):06d}", person, attr, q, rng))
                test.append(_item(f"kn-te-{len(test):06d}", person, attr, held_out, rng))
            else:
                test.append(_item(f"kn-te-{len(test):06d}", person, attr, rng.randrange(n_q), rng))
    return {"train": train, "test": test}
