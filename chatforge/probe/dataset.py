"""The mitigation dataset: what the interrogation found, turned into conversations.

    refusal   a fact the model consistently gets wrong (unknown) -> "I don't know ..." in varied
              words, asked with any train phrasing, tools off
    answer    a fact the model consistently gets right (known) -> the right answer, so that
              refusing does not spread to what it knows
    search    tools on, an unknown fact of a real person -> a search call and the answer from its
              result; for an invented person the search finds nothing and the answer says so
    context   a page about the person pasted into the question -> the answer read from it, for
              known and unknown people alike: what is in the context is working memory, and a
              refusal would be wrong there
    replay    conversations of the SFT mixture, so the rest of what SFT taught stays

Unsure facts get no new data (the model answers them sometimes right, sometimes wrong; neither
a refusal nor an answer is the truth about what it knows). Held-out people, held-out phrasings
and the evaluation's pages never appear here.
"""

from __future__ import annotations

import random
from typing import Callable


def build(world, classified: list[dict], sft_convs: list[dict], cfg, seed: int,
          execute: Callable[[str, str], str]) -> tuple[list[dict], list[dict], dict]:
    """-> (train conversations, validation conversations, counts)."""
    from chatforge.eval.suite import invented, page_of, with_page
    from chatforge.sft.mixture import (ANSWERS_FROM_SEARCH, TOOLS_OFF, _take, person_questions,
                                       search_conversation, search_query, split_val)
    from chatforge.world.invented import split
    from chatforge.world.refusals import refusal
    from chatforge.world.tasks.knowledge import ANSWERS

    rng = random.Random(f"probe-dataset:{seed}")
    people = {p.id: p for p in world.people}
    people.update({p.id: p for p in split(invented(world, seed))[0]})
    unknown = [it for it in classified if it["class"] == "unknown"]
    known = [it for it in classified if it["class"] == "known"]
    convs: list[dict] = []

    def plain(messages: list[dict]) -> list[dict]:
        return ([{"role": "system", "content": TOOLS_OFF}] if rng.random() < 0.4 else []) + messages

    def ask(it: dict) -> str:  # any train phrasing (never the held-out last one)
        return rng.choice(person_questions(people[it["person_id"]], it["attribute"])[:-1])

    for it in _take(rng, unknown, cfg.refusals):
        text = refusal(it["name"], it["attribute"], rng)
        convs.append({"kind": "refusal", "messages": plain([{"role": "user", "content": ask(it)},
                                                            {"role": "assistant", "content": text}])})
    for it in _take(rng, known, cfg.answers):
        p = people[it["person_id"]]
        v = str(p.attrs[it["attribute"]])
        text = rng.choice(ANSWERS[it["attribute"]]).format(
            name=p.name, p=p.attrs["pronoun"], p_=p.attrs["pronoun"].capitalize(), v=v, v_=v[0].upper() + v[1:])
        convs.append({"kind": "answer", "messages": plain([{"role": "user", "content": ask(it)},
                                                           {"role": "assistant", "content": text}])})
    searchable = [it for it in unknown if it["group"] in ("unknown", "invented")]
    chosen = [(people[it["person_id"]], it["attribute"], ask(it)) for it in _take(rng, searchable, cfg.search)]
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
        convs.append({"kind": "context", "messages": plain([{"role": "user", "content": with_page(page, ask(it))},
                                                            {"role": "assistant", "content": text}])})
    for c in _take(rng, sft_convs, cfg.replay):
        convs.append({"kind": "replay", "messages": c["messages"]})

    return split_val(convs, cfg.val_fraction, rng)
