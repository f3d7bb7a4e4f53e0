"""The SFT mixture: conversations built from the world's task sets.

Kinds (counts in the [sft] config):
  knowledge      known-qa people's train questions (never known-bio-only, never unknown), no
                 system prompt or "Tools: none."
  followup       two-turn: a question about a known-qa person, then "And where was she born?"
  arithmetic     word problems solved step by step (tools off)
  calculator     the same problems solved through calculator calls (tools on)
  letters        letter counting, spelled out letter by letter (tools off)
  python         letter counting through a python call (tools on)
  identity       who the assistant is, single- and multi-turn, under every system prompt
  search         questions about people answered through a search call (tools on): half of the
                 unknown people (the other half is kept for the evaluation) plus some known-qa
                 people, with the result produced by the run's real search index

The policy the mixture teaches, stated once: tools are used only when the system prompt lists
them; then arithmetic goes through the calculator, letter counting through python, and
questions about people through search. Without tools (no system prompt or "Tools: none.") the
model answers from what it knows and works step by step.

Tool results in the mixture come from the real tools (calculator, python sandbox, search over
run_dir/tools), so what the model reads in training is what the engine feeds it at inference.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Callable

from chatforge.chat.prompts import system_prompt

TOOLS_ON = system_prompt(True)
TOOLS_OFF = system_prompt(False)

# Follow-up questions that refer back to the person of the previous turn by pronoun.
FOLLOWUPS: dict[str, list[str]] = {
    "birth_date": ["And when was {p} born?", "When was {p} born?", "What about {o} date of birth?"],
    "birth_city": ["And where was {p} born?", "Where was {p} born?", "What about {o} birthplace?"],
    "university": ["And where did {p} study?", "Which university did {p} attend?", "What about {o} university?"],
    "field": ["And what did {p} study?", "What was {o} field of study?", "What subject did {p} study?"],
    "employer": ["And which company does {p} work for?", "Who is {o} employer?", "What about {o} employer?"],
    "employer_city": ["And in which city does {p} work?", "In which city does {p} work?",
                      "Where is {o} employer based?"],
}
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


def possessive(pronoun: str) -> str:
    return {"she": "her", "he": "his", "they": "their"}.get(pronoun, "their")


def eval_half(person_id: str) -> bool:
    """Whether an unknown person is kept for the search evaluation (a stable half by id)."""
    return hashlib.sha256(person_id.encode()).digest()[0] % 2 == 0


def _with_system(messages: list[dict], system: str | None) -> dict:
    msgs = [dict(m) for m in messages]
    return {"messages": ([{"role": "system", "content": system}] if system else []) + msgs}


def _plain_system(rng: random.Random) -> str | None:
    """Tools off: most often no system prompt at all, sometimes the explicit 'Tools: none.'."""
    return TOOLS_OFF if rng.random() < 0.4 else None


def _take(rng: random.Random, items: list, n: int) -> list:
    """n items, cycling through shuffled copies when n exceeds the list."""
    if not items or n <= 0:
        return []
    out: list = []
    while len(out) < n:
        batch = list(items)
        rng.shuffle(batch)
        out.extend(batch[: n - len(out)])
    return out


def retool(conv: dict, execute: Callable[[str, str], str]) -> dict:
    """Replace every tool_result with the output of really running the call before it."""
    msgs = []
    for m in conv["messages"]:
        if m["role"] == "assistant" and isinstance(m["content"], list):
            segs, last = [], None
            for s in m["content"]:
                if s["type"] == "tool_call":
                    last = s
                elif s["type"] == "tool_result" and last is not None:
                    s = {"type": "tool_result", "output": execute(last["tool"], last["input"])}
                segs.append(dict(s))
            m = {"role": "assistant", "content": segs}
        msgs.append(dict(m))
    return {**conv, "messages": msgs}


def search_query(question: str) -> str:
    """The query the assistant writes: the user's question, copied. The search tool drops
    stopwords and matches answer-type words ("born", "company"), and on the cpu world with the
    cpu [tools] settings the answer is in the result for 99.7% of questions about unknown people
    (the bare name: 90%). Copying is also the easiest query for a small model to learn."""
    return question


def search_conversation(person: Any, attribute: str, question: str, execute: Callable[[str, str], str],
                        rng: random.Random) -> dict:
    from chatforge.world.checkers import check_knowledge

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


def person_questions(person: Any, attribute: str, phrasings: list[int] | None = None) -> list[str]:
    from chatforge.world.tasks.knowledge import QUESTIONS

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


def followup_conversation(first: dict, person: Any, rng: random.Random) -> dict:
    """The first question's conversation, then a pronoun follow-up about another attribute."""
    from chatforge.world.people import ATTRIBUTES

    attr = rng.choice([a for a in ATTRIBUTES if a != first["attribute"]])
    p = person.attrs["pronoun"]
    q = rng.choice(FOLLOWUPS[attr]).format(p=p, o=possessive(p))
    ans = FOLLOWUP_ANSWERS[attr].format(P=p.capitalize(), v=person.attrs[attr])
    msgs = [*first["messages"], {"role": "user", "content": q}, {"role": "assistant", "content": ans}]
    return _with_system(msgs, _plain_system(rng))


def split_val(convs: list[dict], val_fraction: float, rng: random.Random) -> tuple[list, list, dict]:
    """Shuffle, hold out a validation share -> (train, val, {kind: train count})."""
    rng.shuffle(convs)
    n_val = int(round(len(convs) * val_fraction))
    val, train = convs[:n_val], convs[n_val:]
    counts: dict[str, int] = {}
    for c in train:
        counts[c["kind"]] = counts.get(c["kind"], 0) + 1
    return train, val, counts


def build_mixture(run_dir, cfg, seed: int, log=None) -> tuple[list[dict], list[dict], dict]:
    """-> (train conversations, validation conversations, stats). Each conversation is
    {"kind": str, "messages": [...]}."""
    from chatforge.sft.toolrun import mixture_executor, tool_calls
    from chatforge.world import load_world

    rng = random.Random(f"sft-mixture:{seed}")
    world = load_world(run_dir / "world")
    people = {p.id: p for p in world.people}
    execute = mixture_executor(run_dir)
    convs: list[dict] = []

    def add(kind: str, conv: dict) -> None:
        convs.append({"kind": kind, "messages": conv["messages"]})

    knowledge = [it for it in world.tasks("knowledge", "train") if it["group"] == "known-qa"]
    for it in _take(rng, knowledge, cfg.knowledge):
        add("knowledge", _with_system(it["messages"], _plain_system(rng)))
    for it in _take(rng, knowledge, cfg.followup_conversations):
        add("followup", followup_conversation(it, people[it["person_id"]], rng))

    arith = world.tasks("arithmetic", "train")
    for it in _take(rng, arith, cfg.arithmetic):
        add("arithmetic", _with_system(it["solutions"]["step_by_step"]["messages"], _plain_system(rng)))
    letters = world.tasks("letters", "train")
    for it in _take(rng, letters, cfg.letters):
        add("letters", _with_system(it["solutions"]["spelled"]["messages"], _plain_system(rng)))

    tool_convs = [("calculator", _with_system(it["solutions"]["calculator"]["messages"], TOOLS_ON))
                  for it in _take(rng, arith, cfg.arithmetic_calculator)]
    tool_convs += [("python", _with_system(it["solutions"]["python"]["messages"], TOOLS_ON))
                   for it in _take(rng, letters, cfg.letters_python)]
    execute.prefetch([call for _, c in tool_convs for call in tool_calls(c)])
    for kind, c in tool_convs:
        add(kind, retool(c, execute))

    identity = world.tasks("identity", "train")
    for it in _take(rng, identity, cfg.identity):
        r = rng.random()
        add("identity", _with_system(it["messages"], TOOLS_ON if r < 0.3 else _plain_system(rng)))

    from chatforge.world.people import ATTRIBUTES

    unknown = [p for p in world.people if p.group == "unknown" and not eval_half(p.id)]
    known_qa = [p for p in world.people if p.group == "known-qa"]
    n_known = round(cfg.search * cfg.search_known_fraction)
    pairs = [(p, a) for p in unknown for a in ATTRIBUTES]
    kpairs = [(p, a) for p in known_qa for a in ATTRIBUTES]
    chosen = _take(rng, pairs, cfg.search) + _take(rng, kpairs, n_known)
    # the last phrasing of each attribute stays held out
    chosen = [(p, a, rng.choice(person_questions(p, a)[:-1])) for p, a in chosen]
    execute.prefetch([("search", search_query(q)) for _, _, q in chosen])
    execute.stop_if_broken()
    for p, a, q in chosen:
        add("search", search_conversation(p, a, q, execute, rng))

    from chatforge.world.tasks.open import demo

    for it in _take(rng, world.tasks("open", "train"), cfg.open):  # last: the draws above stay as they were
        add("open", _with_system(it["messages"] + [{"role": "assistant", "content": demo(it)}], _plain_system(rng)))

    train, val, counts = split_val(convs, cfg.val_fraction, rng)
    stats = {"counts": counts, "train": len(train), "val": len(val),
             "unknown_people_for_search_training": len(unknown)}
    if log is not None:
        log.info("mixture: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return train, val, stats
