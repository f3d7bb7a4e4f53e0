"""Demonstrations: the conversations the SFT mixture teaches each task set with.

The policy they teach, stated once: tools are used only when the system prompt lists them; then
arithmetic goes through the calculator, letter counting through python, and questions about
people through search. Without tools (no system prompt or "Tools: none.") the model answers from
what it knows and works step by step.

Tool results come from the run's real tools (`Mix.execute`), so what the model reads in training
is what the engine feeds it at inference. Every builder draws from the mixture's one random
stream, in the mixture's order.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chatforge.chat.prompts import system_prompt
from chatforge.tasks.people import FOLLOWUPS, eval_half, person_questions, possessive
from chatforge.tasks.taskset import take
from chatforge.tools.training import CachedExecutor, retool, tool_calls
from chatforge.world.checkers import check_knowledge
from chatforge.world.people import ATTRIBUTES

TOOLS_ON = system_prompt(True)
TOOLS_OFF = system_prompt(False)

FOLLOWUP_ANSWERS: dict[str, str] = {
    "birth_date": "{P} was born on {v}.", "birth_city": "{P} was born in {v}.",
    "university": "{P} studied at {v}.", "field": "{P} studied {v}.",
    "employer": "{P} works for {v}.", "employer_city": "{P} works in {v}.",
}
ANSWERS_FROM_SEARCH: dict[str, str] = {
    "birth_date": "{name} was born on {v}.", "birth_city": "{name} was born in {v}.",
    "university": "{name} studied at {v}.", "field": "{name} studied {v}.",
    "employer": "{name} works for {v}.", "employer_city": "{name} works in {v}.",
}
NOT_FOUND = "I could not find {what} in the search results."
NOT_FOUND_WHAT: dict[str, str] = {
    "birth_date": "the birth date of {name}", "birth_city": "the birthplace of {name}",
    "university": "the university of {name}", "field": "what {name} studied",
    "employer": "the employer of {name}", "employer_city": "the city where {name} works",
}
SEARCH_INTROS = ["Let me search for that.", "I will look that up.", "I'll search for {name}."]


@dataclass
class Mix:
    """What demonstrations are built with: the world, the mixture's random stream, the run's
    tools (each distinct call run once) and the [sft] section (counts and shares)."""
    world: Any
    rng: random.Random
    execute: CachedExecutor
    cfg: Any

    def __post_init__(self) -> None:
        self.people = {p.id: p for p in self.world.people}

    def plain_system(self) -> str | None:
        """Tools off: most often no system prompt at all, sometimes the explicit 'Tools: none.'."""
        return TOOLS_OFF if self.rng.random() < 0.4 else None


def with_system(messages: list[dict], system: str | None) -> dict:
    msgs = [dict(m) for m in messages]
    return {"messages": ([{"role": "system", "content": system}] if system else []) + msgs}


def search_query(question: str) -> str:
    """The query the assistant writes: the user's question, copied. The search tool drops
    stopwords and matches answer-type words ("born", "company"), so the question finds the
    page; copying is also the easiest query for a small model to learn."""
    return question


def search_conversation(person: Any, attribute: str, question: str, execute: Callable[[str, str], str],
                        rng: random.Random) -> dict:
    v = str(person.attrs[attribute])
    query = search_query(question)
    intro = rng.choice(SEARCH_INTROS).format(name=person.name)
    result = execute("search", query)
    if check_knowledge({"attribute": attribute, "answer": v}, result):
        final = ANSWERS_FROM_SEARCH[attribute].format(name=person.name, v=v)
    else:
        # Never train an answer the result does not support: that would teach making things up.
        final = NOT_FOUND.format(what=NOT_FOUND_WHAT[attribute].format(name=person.name))
    segs = [{"type": "text", "text": intro},
            {"type": "tool_call", "tool": "search", "input": query},
            {"type": "tool_result", "output": result},
            {"type": "text", "text": final}]
    return {"messages": [{"role": "system", "content": TOOLS_ON},
                         {"role": "user", "content": question},
                         {"role": "assistant", "content": segs}]}


def followup_conversation(first: dict, person: Any, rng: random.Random,
                          system: Callable[[], str | None]) -> dict:
    """The first question's conversation, then a pronoun follow-up about another attribute."""
    attr = rng.choice([a for a in ATTRIBUTES if a != first["attribute"]])
    p = person.attrs["pronoun"]
    q = rng.choice(FOLLOWUPS[attr]).format(p=p, o=possessive(p))
    ans = FOLLOWUP_ANSWERS[attr].format(P=p.capitalize(), v=person.attrs[attr])
    msgs = [*first["messages"], {"role": "user", "content": q}, {"role": "assistant", "content": ans}]
    return with_system(msgs, system())


def _known_qa(mix: Mix) -> list[dict]:
    return [it for it in mix.world.tasks("knowledge", "train") if it["group"] == "known-qa"]


def knowledge(mix: Mix, n: int) -> list[dict]:
    return [with_system(it["messages"], mix.plain_system()) for it in take(mix.rng, _known_qa(mix), n)]


def followup(mix: Mix, n: int) -> list[dict]:
    return [followup_conversation(it, mix.people[it["person_id"]], mix.rng, mix.plain_system)
            for it in take(mix.rng, _known_qa(mix), n)]


def worked(task: str, solution: str):
    """Train problems solved step by step (tools off)."""
    def build(mix: Mix, n: int) -> list[dict]:
        return [with_system(it["solutions"][solution]["messages"], mix.plain_system())
                for it in take(mix.rng, mix.world.tasks(task, "train"), n)]
    return build


def with_tool(task: str, solution: str):
    """Train problems solved through a tool call, its result produced by the run's real tool."""
    def build(mix: Mix, n: int) -> list[dict]:
        convs = [with_system(it["solutions"][solution]["messages"], TOOLS_ON)
                 for it in take(mix.rng, mix.world.tasks(task, "train"), n)]
        mix.execute.prefetch([call for c in convs for call in tool_calls(c)])
        return [retool(c, mix.execute) for c in convs]
    return build


def identity(mix: Mix, n: int) -> list[dict]:
    out = []
    for it in take(mix.rng, mix.world.tasks("identity", "train"), n):
        r = mix.rng.random()
        out.append(with_system(it["messages"], TOOLS_ON if r < 0.3 else mix.plain_system()))
    return out


def search(mix: Mix, n: int) -> list[dict]:
    """Questions about the unknown people's training half answered through search, plus a share
    (`search_known_fraction`) about known-qa people; the last phrasing of each fact stays held out."""
    world, rng = mix.world, mix.rng
    unknown = [p for p in world.people if p.group == "unknown" and not eval_half(p.id)]
    known_qa = [p for p in world.people if p.group == "known-qa"]
    n_known = round(n * mix.cfg.search_known_fraction)
    chosen = (take(rng, [(p, a) for p in unknown for a in ATTRIBUTES], n)
              + take(rng, [(p, a) for p in known_qa for a in ATTRIBUTES], n_known))
    chosen = [(p, a, rng.choice(person_questions(p, a)[:-1])) for p, a in chosen]
    mix.execute.prefetch([("search", search_query(q)) for _, _, q in chosen])
    return [search_conversation(p, a, q, mix.execute, rng) for p, a, q in chosen]
