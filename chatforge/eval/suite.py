"""Evaluate a chat model on the world's held-out task sets, greedy, through the engine.

Each task set is a list of conversations (ending with a user turn) plus a checker; the model
answers each one (running tools when the system prompt switches them on), and the checker reads
the text the assistant wrote (tool calls and results left out). Sample sizes are bounded
(`eval_items` per set, 200 on cpu: every set's items are distinct, and every accuracy comes with
a Wilson 95% interval, `ci95`, so differences inside it are not read as real).

    knowledge_known_qa    held-out phrasings about known-qa people (tools off)
    knowledge_bio_only    people whose facts were only in pretraining: extraction (tools off)
    followup              "And where was she born?" after a first turn about the same person
    identity              held-out identity phrasings (100% expected)
    arithmetic            test problems, step by step (tools off)
    arithmetic_calculator the same with the calculator (tools on)
    letters               letter counting spelled out (tools off)
    letters_python        letter counting through python (tools on)
    search_unknown        people the model never saw, answered through search (tools on)
    tools_off             arithmetic/letters with "Tools: none.": share of answers without a call
    refusal_unknown       the same held-out unknown people, tools off: "correct" is a refusal
    refusal_invented      people with invented names (world/invented.py), tools off: the same
    context_known         known-qa questions with a page about the person pasted in the question
    context_unknown       unknown people, with their page pasted in: answerable from context only

Hallucination (`hallucination_rate`): the share of refusal_unknown and refusal_invented answers
that say something, neither refuse nor happen to be right: confident wrong answers.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable

from chatforge.chat.prompts import system_prompt
from chatforge.chat.render import assistant_text
from chatforge.eval.stats import wilson

TOOLS_ON = system_prompt(True)
TOOLS_OFF = system_prompt(False)


def _sample(rng: random.Random, items: list, n: int) -> list:
    items = list(items)
    rng.shuffle(items)
    return items[:n] if n > 0 else items


def _sys(system: str | None, msgs: list[dict]) -> list[dict]:
    return ([{"role": "system", "content": system}] if system else []) + msgs


def invented(world, seed: int) -> list:
    """The run's invented people: as many as its unknown people plus 20 (100 on cpu). The first
    half may train refusals (the probe stage), the second is only evaluated."""
    from chatforge.world.invented import invented_people

    n = 20 + sum(p.group == "unknown" for p in world.people)
    return invented_people(n, seed, {p.name for p in world.people})


def page_of(person, seed: int) -> str:
    """A biography of `person` in the world's templates, fresh for each seed (never a copy of a
    training document): what the knowledge-in-context questions paste in."""
    from chatforge.world.bios import biographies

    bio = biographies(person, 1, random.Random(f"page:{seed}:{person.id}"))[0]
    return f"{bio['title']}\n{bio['text']}"


def with_page(page: str, question: str) -> str:
    return f"Read this page:\n\n{page}\n\n{question}"


def _refused_or_right(check):
    from chatforge.world.refusals import is_refusal

    return lambda it, text: bool(text.strip()) and not is_refusal(text) and not check(it, text)


def build_sets(world, n: int, seed: int) -> dict[str, list[dict]]:
    """Task name -> cases {"messages", "item", "check": (item, text) -> bool, "tools": bool}."""
    from chatforge.sft.mixture import FOLLOWUPS, eval_half, possessive
    from chatforge.world.checkers import check_knowledge
    from chatforge.world.people import ATTRIBUTES

    rng = random.Random(f"sft-eval:{seed}")
    people = {p.id: p for p in world.people}
    check = world.check
    kn = world.tasks("knowledge", "test")

    def q_only(item: dict) -> list[dict]:
        return [m for m in item["messages"] if m["role"] == "user"][:1]

    def case(msgs, item, task, tools=False):
        return {"messages": msgs, "item": item, "check": lambda it, text, t=task: check(t, it, text),
                "tools": tools}

    sets: dict[str, list[dict]] = {}
    sets["knowledge_known_qa"] = [case(q_only(it), it, "knowledge")
                                  for it in _sample(rng, [i for i in kn if i["group"] == "known-qa"], n)]
    sets["knowledge_bio_only"] = [case(q_only(it), it, "knowledge")
                                  for it in _sample(rng, [i for i in kn if i["group"] == "known-bio-only"], n)]
    fol = []
    for it in _sample(rng, [i for i in kn if i["group"] == "known-qa"], n):
        person = people[it["person_id"]]
        attr = rng.choice([a for a in ATTRIBUTES if a != it["attribute"]])
        p = person.attrs["pronoun"]
        q = rng.choice(FOLLOWUPS[attr]).format(p=p, o=possessive(p))
        target = {"attribute": attr, "answer": str(person.attrs[attr])}
        msgs = [*it["messages"], {"role": "user", "content": q}]
        fol.append({"messages": msgs, "item": target, "check": check_knowledge, "tools": False})
    sets["followup"] = fol
    ident = []
    for it in _sample(rng, world.tasks("identity", "test"), n):
        msgs = list(it["messages"][:-1])  # earlier turns as written; the model writes the last
        ident.append(case(msgs, it, "identity"))
    sets["identity"] = ident
    ar = _sample(rng, world.tasks("arithmetic", "test"), n)
    le = _sample(rng, world.tasks("letters", "test"), n)
    sets["arithmetic"] = [case([{"role": "user", "content": it["question"]}], it, "arithmetic") for it in ar]
    sets["arithmetic_calculator"] = [case(_sys(TOOLS_ON, [{"role": "user", "content": it["question"]}]), it,
                                          "arithmetic", True) for it in ar]
    sets["letters"] = [case([{"role": "user", "content": it["question"]}], it, "letters") for it in le]
    sets["letters_python"] = [case(_sys(TOOLS_ON, [{"role": "user", "content": it["question"]}]), it,
                                   "letters", True) for it in le]
    unk = [i for i in kn if i["group"] == "unknown" and eval_half(i["person_id"])]
    sets["search_unknown"] = [case(_sys(TOOLS_ON, q_only(it)), it, "knowledge", True)
                              for it in _sample(rng, unk, n)]
    half = max(1, n // 2)
    off = [case(_sys(TOOLS_OFF, [{"role": "user", "content": it["question"]}]), it, "arithmetic")
           for it in ar[:half]]
    off += [case(_sys(TOOLS_OFF, [{"role": "user", "content": it["question"]}]), it, "letters")
            for it in le[:half]]
    sets["tools_off"] = off

    from chatforge.sft.mixture import person_questions
    from chatforge.world.invented import split
    from chatforge.world.refusals import is_refusal

    def refusal_case(msgs, item):
        return {"messages": msgs, "item": item, "check": lambda it, text: is_refusal(text), "tools": False,
                "hallucinated": _refused_or_right(check_knowledge)}
    sets["refusal_unknown"] = [refusal_case(q_only(it), it) for it in _sample(rng, unk, n)]
    inv = []
    for p in split(invented(world, seed))[1]:
        for attr in ATTRIBUTES:
            q = rng.choice(person_questions(p, attr))
            inv.append({"person_id": p.id, "attribute": attr, "answer": str(p.attrs[attr]), "question": q})
    sets["refusal_invented"] = [refusal_case([{"role": "user", "content": it["question"]}], it)
                                for it in _sample(rng, inv, n)]
    known_test = [i for i in kn if i["group"] == "known-qa"]
    for name, pool in (("context_known", known_test), ("context_unknown", unk)):
        sets[name] = [case([{"role": "user", "content": with_page(page_of(people[it["person_id"]], seed),
                                                                   it["question"])}], it, "knowledge")
                      for it in _sample(rng, pool, n)]
    return sets


def run_sets(generate: Callable[[list[list[dict]], bool], list[list[dict]]],
             sets: dict[str, list[dict]], log=None, keep_samples: int = 3) -> dict[str, Any]:
    """Answer every case with `generate(list of messages, tools_on) -> list of segment lists`
    and score it. Returns {"summary": {...}, "tasks": {name: {...}}}."""
    tasks: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    for name, cases in sets.items():
        if not cases:
            continue
        t0 = time.perf_counter()
        answers: list[list[dict]] = [None] * len(cases)  # type: ignore[list-item]
        for tools in (False, True):
            idx = [i for i, c in enumerate(cases) if c["tools"] == tools]
            if idx:
                for i, segs in zip(idx, generate([cases[i]["messages"] for i in idx], tools)):
                    answers[i] = segs
        from chatforge.world.refusals import is_refusal

        correct, called, samples, per_item = 0, 0, [], {"correct": [], "refused": []}
        hallucinated = 0
        for c, segs in zip(cases, answers):
            text = assistant_text(segs)
            ok = bool(c["check"](c["item"], text))
            used = any(s["type"] == "tool_call" for s in segs)
            correct += ok
            called += used
            per_item["correct"].append(int(ok))
            per_item["refused"].append(int(is_refusal(text)))
            if "hallucinated" in c:
                hallucinated += bool(c["hallucinated"](c["item"], text))
            if len(samples) < keep_samples or (not ok and len(samples) < 2 * keep_samples):
                samples.append({"messages": c["messages"], "answer": segs, "correct": ok})
        n = len(cases)
        lo, hi = wilson(correct, n)
        rec = {"n": n, "correct": correct, "accuracy": round(correct / n, 4),
               "ci95": [round(lo, 4), round(hi, 4)], "tool_call_rate": round(called / n, 4),
               "refusal_rate": round(sum(per_item["refused"]) / n, 4),
               "seconds": round(time.perf_counter() - t0, 1), "samples": samples, "per_item": per_item}
        if any("hallucinated" in c for c in cases):
            rec["hallucinated"] = hallucinated
        tasks[name] = rec
        summary[f"acc_{name}"] = rec["accuracy"]
        if name == "tools_off":
            summary["tools_off_obedience"] = round(1 - called / n, 4)
        elif name in ("arithmetic_calculator", "letters_python", "search_unknown"):
            summary[f"tool_use_{name}"] = rec["tool_call_rate"]
        if log is not None:
            log.info(f"eval {name}: {correct}/{n} = {100 * correct / n:.1f}% "
                     f"[95% CI {100 * lo:.0f}-{100 * hi:.0f}%] "
                     f"(tool calls {called}/{n}, {rec['seconds']}s)")
    hall = [tasks[k] for k in ("refusal_unknown", "refusal_invented") if k in tasks]
    if hall:
        h, n = sum(t["hallucinated"] for t in hall), sum(t["n"] for t in hall)
        lo, hi = wilson(h, n)
        summary["hallucination_rate"] = round(h / n, 4)
        summary["hallucination_ci95"] = [round(lo, 4), round(hi, 4)]
    if "knowledge_known_qa" in tasks:
        summary["refusal_known_qa"] = tasks["knowledge_known_qa"]["refusal_rate"]
    return {"summary": summary, "tasks": tasks}


def generator(model, tokenizer, run_dir, max_new_tokens: int, batch_size: int):
    """generate(conversations, tools_on) with the run's real tools; with tools off, a call the
    model makes anyway gets an error result (and counts against obedience)."""
    from chatforge.chat.turns import answer_many, tools_off
    from chatforge.engine import Engine
    from chatforge.sft.toolrun import run_executor

    engine = Engine(model, tokenizer)
    execute = run_executor(run_dir)

    def generate(convs: list[list[dict]], tools_on: bool) -> list[list[dict]]:
        return answer_many(engine, tokenizer, convs, executor=execute if tools_on else tools_off,
                           max_new_tokens=max_new_tokens, batch_size=batch_size)
    return generate


def evaluate(model, tokenizer, run_dir, cfg, seed: int, device=None, log=None,
             tasks: list[str] | None = None, items: int | None = None) -> dict[str, Any]:
    """The whole suite (or some `tasks`) on a loaded chat model, with the run's real tools."""
    from chatforge.core.errors import UserError
    from chatforge.world import load_world

    world = load_world(run_dir / "world")
    sets = build_sets(world, items or cfg.eval_items, seed)
    if tasks:
        bad = [t for t in tasks if t not in sets]
        if bad:
            raise UserError(f"unknown task set '{bad[0]}' (sets: {', '.join(sets)}).")
        sets = {k: v for k, v in sets.items() if k in tasks}
    import torch

    threads = torch.get_num_threads()
    if cfg.eval_threads > 0:
        torch.set_num_threads(cfg.eval_threads)
    t0 = time.perf_counter()
    from chatforge.eval.copying import (GAPS, copy_probe, describe, passage_describe, passage_probe,
                                        passage_summary, summary)

    try:
        report = run_sets(generator(model, tokenizer, run_dir, cfg.eval_max_new_tokens, cfg.eval_batch_size),
                          sets, log=log)
        probe = copy_probe(model, tokenizer, (d["text"] for d in world.documents()), seed=seed, gaps=GAPS)
        reading = passage_probe(model, tokenizer, seed=seed)
    finally:
        torch.set_num_threads(threads)
    report["summary"].update(summary(probe))
    report["summary"].update(passage_summary(reading))
    report["copy_probe"] = probe
    report["reading_probe"] = reading
    if log is not None:
        log.info(f"copy probe (greedy next-token accuracy): {describe(probe)}")
        log.info(f"reading probe: {passage_describe(reading)}")
    report["summary"]["eval_seconds"] = round(time.perf_counter() - t0, 1)
    return report
