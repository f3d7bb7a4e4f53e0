"""The mitigation dataset: what the interrogation found, turned into conversations.

    refusal   a fact the model consistently gets wrong (unknown) -> "I don't know ..." in varied
              words, asked with any train phrasing, tools off. With refuse = "person" (default)
              only facts of people it knows nothing about: a 2.6M model cannot tell its known
              facts of a person from its unknown ones, so fact-level refusals spread to what it
              knows (over-refusal with "fact": docs/probe.md)
    answer    a fact the model consistently gets right (known) -> the right answer, so that
              refusing does not spread to what it knows
    search    tools on, an unknown fact of a real person -> a search call and the answer from its
              result; for an invented person the search finds nothing and the answer says so
    context   a page about the person pasted into the question -> the answer read from it, for
              known and unknown people alike: what is in the context is working memory, and a
              refusal would be wrong there
    replay    conversations of the SFT mixture, so the rest of what SFT taught stays
    tools     SFT conversations calling each tool other than search (`other_tools` of each), so
              the search conversations above do not make every tool call a search
    identity  identity conversations of the SFT mixture ("Who built you?" must not become a
              refusal)

Unsure facts (answered sometimes right, sometimes wrong) join the answer pool with
`unsure = "answer"`: the model half knows them, and a refusal there spreads to what it knows
(see docs/probe.md); `"skip"` gives them no new data. Held-out people, held-out phrasings and
the evaluation's pages never appear here.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from chatforge.tasks.demos import ANSWERS_FROM_SEARCH, TOOLS_OFF, search_conversation, search_query
from chatforge.tasks.people import invented, page_of, train_questions, with_page
from chatforge.tasks.taskset import take as _take
from chatforge.tools.training import tool_calls
from chatforge.tune.split import split_val
from chatforge.world.invented import split
from chatforge.world.refusals import refusal
from chatforge.world.tasks.knowledge import ANSWERS


def _searches(rng: random.Random, unknown: list[dict], cfg) -> list[dict]:
    """The unknown facts the search conversations ask about: real people's (the search finds the
    answer) and invented people's (it finds nothing), the latter `cfg.search_invented` of them when
    that is set. Taught mostly "nothing found", a model says it after results that hold the answer."""
    if cfg.search_invented < 0:
        return _take(rng, [it for it in unknown if it["group"] in ("unknown", "invented")], cfg.search)
    n_invented = round(cfg.search * cfg.search_invented)
    return (_take(rng, [it for it in unknown if it["group"] == "unknown"], cfg.search - n_invented)
            + _take(rng, [it for it in unknown if it["group"] == "invented"], n_invented))


def _tools(conv: dict) -> set[str]:
    return {tool for tool, _ in tool_calls(conv)}


def build(world, classified: list[dict], sft_convs: list[dict], cfg, seed: int,
          execute: Callable[[str, str], str]) -> tuple[list[dict], list[dict], dict]:
    """-> (train conversations, validation conversations, counts)."""
    rng = random.Random(f"probe-dataset:{seed}")
    people = {p.id: p for p in world.people}
    people.update({p.id: p for p in split(invented(world, seed))[0]})
    unknown = [it for it in classified if it["class"] == "unknown"]
    if cfg.refuse == "person":  # a person with anything known is someone the model knows
        knows = {it["person_id"] for it in classified if it["class"] != "unknown"}
        unknown = [it for it in unknown if it["person_id"] not in knows]
    known = [it for it in classified
             if it["class"] == "known" or (it["class"] == "unsure" and cfg.unsure == "answer")]
    convs: list[dict] = []

    def plain(messages: list[dict]) -> list[dict]:
        return ([{"role": "system", "content": TOOLS_OFF}] if rng.random() < 0.4 else []) + messages

    def ask(it: dict) -> str:  # any train phrasing (never one the evaluation asks)
        return rng.choice(train_questions(world, people[it["person_id"]], it["attribute"]))

    for it in _take(rng, unknown, cfg.refusals):
        text = refusal(it["name"], it["attribute"], rng)
        convs.append({"kind": "refusal", "messages": plain([{"role": "user", "content": ask(it)},
                                                            {"role": "assistant", "content": text}])})
    for it in _take(rng, known, cfg.answers):
        p = people[it["person_id"]]
        v = str(p.attrs[it["attribute"]])
        text = rng.choice(ANSWERS[it["attribute"]]).format(
            name=p.name, p=p.attrs["pronoun"], p_=p.attrs["pronoun"].capitalize(), v=v,
            v_=v[0].upper() + v[1:])
        convs.append({"kind": "answer", "messages": plain([{"role": "user", "content": ask(it)},
                                                           {"role": "assistant", "content": text}])})
    chosen = [(people[it["person_id"]], it["attribute"], ask(it)) for it in _searches(rng, unknown, cfg)]
    if chosen:
        execute.prefetch([("search", search_query(q)) for _, _, q in chosen])
        execute.stop_if_broken()
    for p, a, q in chosen:
        convs.append({"kind": "search", "messages": search_conversation(p, a, q, execute, rng)["messages"]})
    readable = [it for it in classified if it["group"] != "invented"]
    for it in _take(rng, readable, cfg.context):
        p = people[it["person_id"]]
        page = page_of(p, seed + 2 + rng.randrange(1000))  # never the evaluation's page (seed)
        text = ANSWERS_FROM_SEARCH[it["attribute"]].format(name=p.name, v=p.attrs[it["attribute"]])
        convs.append({"kind": "context",
                      "messages": plain([{"role": "user", "content": with_page(page, ask(it))},
                                         {"role": "assistant", "content": text}])})
    for c in _take(rng, sft_convs, cfg.replay):
        convs.append({"kind": "replay", "messages": c["messages"]})
    for c in _take(rng, [c for c in sft_convs if c.get("kind") == "identity"], cfg.identity):
        convs.append({"kind": "identity", "messages": c["messages"]})
    for tool in sorted({t for c in sft_convs for t in _tools(c)} - {"search"}):
        for c in _take(rng, [c for c in sft_convs if _tools(c) == {tool}], cfg.other_tools):
            convs.append({"kind": "tools", "messages": c["messages"]})

    return split_val(convs, cfg.val_fraction, rng)
