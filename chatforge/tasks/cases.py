"""The held-out test cases of each task set: what the evaluation suite asks.

Each builder takes the registry's `Draw` and returns the set's cases, drawing from the shared
random stream. Knowledge questions are asked with their held-out phrasing; unknown people come
from the half kept for evaluation (`eval_half`); invented people from the half no stage trains
on; pasted pages are fresh biographies, never a training document.
"""

from __future__ import annotations

from collections.abc import Callable

from chatforge.chat.prompts import system_prompt
from chatforge.tasks.people import (
    FOLLOWUPS,
    eval_half,
    invented,
    page_of,
    person_questions,
    possessive,
    with_page,
)
from chatforge.tasks.taskset import Draw, TaskSet
from chatforge.world import heldout
from chatforge.world.invented import split
from chatforge.world.people import ATTRIBUTES

TOOLS_ON = system_prompt(True)
TOOLS_OFF = system_prompt(False)


def _first_question(item: dict) -> list[dict]:
    return [m for m in item["messages"] if m["role"] == "user"][:1]


def _ask(question: str, system: str | None = None) -> list[dict]:
    return (([{"role": "system", "content": system}] if system else [])
            + [{"role": "user", "content": question}])


def _unknown_for_eval(d: Draw) -> list[dict]:
    return [i for i in d.knowledge("unknown") if eval_half(i["person_id"])]


def knowledge(group: str):
    def build(ts: TaskSet, d: Draw) -> list[dict]:
        return [ts.case(_first_question(it), it) for it in d.sample(d.knowledge(group))]
    return build


def followup(ts: TaskSet, d: Draw) -> list[dict]:
    """A first turn about a known-qa person as the world wrote it, then a pronoun question about
    another of their facts."""
    out = []
    for it in d.sample(d.knowledge("known-qa")):
        person = d.people[it["person_id"]]
        attr = d.rng.choice([a for a in ATTRIBUTES if a != it["attribute"]])
        p = person.attrs["pronoun"]
        q = d.rng.choice(FOLLOWUPS[attr]).format(p=p, o=possessive(p))
        target = {"attribute": attr, "answer": str(person.attrs[attr])}
        out.append(ts.case([*it["messages"], {"role": "user", "content": q}], target))
    return out


def identity(ts: TaskSet, d: Draw) -> list[dict]:
    # the earlier turns as written; the model writes the last
    return [ts.case(list(it["messages"][:-1]), it) for it in d.sample(d.world.tasks("identity", "test"))]


def problems(task: str, system: str | None = None):
    """Arithmetic or letters questions; the sets of one task share their draw (the same problems
    with and without tools)."""
    def build(ts: TaskSet, d: Draw) -> list[dict]:
        items = d.shared(task, lambda: d.sample(d.world.tasks(task, "test")))
        return [ts.case(_ask(it["question"], system), it) for it in items]
    return build


def search_unknown(ts: TaskSet, d: Draw) -> list[dict]:
    return [ts.case([{"role": "system", "content": TOOLS_ON}, *_first_question(it)], it)
            for it in d.sample(_unknown_for_eval(d))]


def tools_off(ts: TaskSet, d: Draw) -> list[dict]:
    """Half arithmetic, half letters, under "Tools: none.": the first of the problems the tool sets ask."""
    half = max(1, d.n // 2)
    out = []
    for task in ("arithmetic", "letters"):
        items = d.shared(task, lambda task=task: d.sample(d.world.tasks(task, "test")))
        out += [ts.case(_ask(it["question"], TOOLS_OFF), it) for it in items[:half]]
    return out


def refusal_unknown(ts: TaskSet, d: Draw) -> list[dict]:
    return [ts.case(_first_question(it), it) for it in d.sample(_unknown_for_eval(d))]


def refusal_invented(ts: TaskSet, d: Draw) -> list[dict]:
    asked = []
    for p in split(invented(d.world, d.seed))[1]:
        for attr in ATTRIBUTES:
            q = d.rng.choice(person_questions(p, attr))
            asked.append({"person_id": p.id, "attribute": attr, "answer": str(p.attrs[attr]), "question": q})
    return [ts.case(_ask(it["question"]), it) for it in d.sample(asked)]


def refusal_heldout(ts: TaskSet, d: Draw) -> list[dict]:
    """Invented people, companies and places from the held-out generator (world/heldout.py), which
    no training data draws from; its own random stream, so it changes no other set's draw."""
    qs = heldout.questions(d.seed, d.n if d.n > 0 else 300, {p.name for p in d.world.people})
    return [ts.case(_ask(q["question"]), q) for q in qs]


def general(source: Callable[[], list[dict]]):
    """Real-world facts (tasks/general.py, tasks/general_heldout.py), the first n in a fixed order:
    the same items for every checkpoint and run, so a row reads against the imported model's."""
    def build(ts: TaskSet, d: Draw) -> list[dict]:
        qs = source()
        return [ts.case(_ask(q["question"]), q) for q in (qs[:d.n] if d.n > 0 else qs)]
    return build


def in_context(group: str):
    """The question with a page about the person pasted in: answerable from the context alone."""
    def build(ts: TaskSet, d: Draw) -> list[dict]:
        pool = d.knowledge("known-qa") if group == "known-qa" else _unknown_for_eval(d)
        return [ts.case(_ask(with_page(page_of(d.people[it["person_id"]], d.seed), it["question"])), it)
                for it in d.sample(pool)]
    return build
