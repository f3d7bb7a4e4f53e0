"""Interrogation: ask the chat model about every fact, sample several answers, judge, classify.

The questions (one per person and attribute) use train phrasings only; the held-out phrasings
and the held-out people stay for the evaluation:
    known-qa        facts the SFT mixture taught (a train phrasing of the world's knowledge set)
    known-bio-only  facts only in pretraining biographies
    unknown         the unknown people's training half (the other half is the search/refusal eval)
    invented        the invented people's training half (names unlike the world's)

Each answer is a refusal (world/refusals.py), or an answer the judge accepts, or a wrong one. A
fact is "known" when at least `known_min` of its samples are accepted, "unknown" when at most
`unknown_max` are, and "unsure" in between: the Llama 3 recipe's "consistently right" and
"consistently wrong", with the thresholds in config.
"""

from __future__ import annotations

import random
from collections import Counter

from chatforge.chat.render import assistant_text
from chatforge.chat.turns import sample_many
from chatforge.engine import Engine
from chatforge.tasks.people import eval_half, invented, page_of, train_questions
from chatforge.world.invented import split
from chatforge.world.people import ATTRIBUTES
from chatforge.world.refusals import is_refusal


def questions(world, seed: int) -> list[dict]:
    """One question per (person, attribute) of the four groups above."""
    rng = random.Random(f"probe-questions:{seed}")
    trained: dict[tuple[str, str], list[str]] = {}
    for it in world.tasks("knowledge", "train"):
        trained.setdefault((it["person_id"], it["attribute"]), []).append(it["question"])
    people = [p for p in world.people if p.group != "unknown" or not eval_half(p.id)]
    people += split(invented(world, seed))[0]
    out = []
    for p in people:
        source = "" if p.group == "invented" else page_of(p, seed + 1)
        for attr in ATTRIBUTES:
            q = rng.choice(trained.get((p.id, attr)) or train_questions(world, p, attr))
            out.append({"person_id": p.id, "name": p.name, "group": p.group, "attribute": attr,
                        "answer": None if p.group == "invented" else str(p.attrs[attr]),
                        "question": q, "source": source})
    return out


def classify(share_right: float, known_min: float, unknown_max: float) -> str:
    if share_right >= known_min:
        return "known"
    if share_right <= unknown_max:
        return "unknown"
    return "unsure"


def model_answerer(model, tokenizer, *, temperature: float, max_new_tokens: int, batch_size: int):
    """answer(conversations, k, seed) -> k sampled answer texts each, tools off, through the engine."""
    engine = Engine(model, tokenizer)

    def answer(convs: list[list[dict]], k: int, seed: int) -> list[list[str]]:
        segs = sample_many(engine, tokenizer, convs, num_samples=k, max_new_tokens=max_new_tokens,
                           batch_size=batch_size, temperature=temperature, seed=seed)
        return [[assistant_text(s) for s in row] for row in segs]
    return answer


def interrogate(items: list[dict], answer, judge, *, samples: int, known_min: float, unknown_max: float,
                seed: int, chunk: int = 128, log=None) -> list[dict]:
    """Every item with its sampled answers (`answer(convs, k, seed)`), their verdicts and its class."""

    convs = [[{"role": "user", "content": it["question"]}] for it in items]
    out: list[dict] = []
    for b in range(0, len(convs), chunk):
        for it, texts in zip(items[b:b + chunk], answer(convs[b:b + chunk], samples, seed + b)):
            refused = [is_refusal(t) for t in texts]
            ok = judge.supported([it] * len(texts), texts)
            right = [o and not r for o, r in zip(ok, refused)]
            share = sum(right) / len(texts)
            out.append({**it, "samples": texts, "right": [int(x) for x in right],
                        "refused": [int(x) for x in refused], "share_right": round(share, 4),
                        "class": classify(share, known_min, unknown_max)})
        if log is not None:
            log.info(f"interrogated {len(out)}/{len(items)} questions x {samples} samples")
    return out


def summarize(items: list[dict]) -> dict:
    """Per group: how many facts are known / unsure / unknown, and how answers split."""
    by: dict = {}
    for it in items:
        g = by.setdefault(it["group"], {"facts": 0, "known": 0, "unsure": 0, "unknown": 0,
                                        "answers": 0, "right": 0, "refused": 0})
        g["facts"] += 1
        g[it["class"]] += 1
        g["answers"] += len(it["samples"])
        g["right"] += sum(it["right"])
        g["refused"] += sum(it["refused"])
    for g in by.values():
        n = max(1, g["answers"])
        g["sample_accuracy"] = round(g["right"] / n, 4)
        g["sample_refusal"] = round(g["refused"] / n, 4)
        g["sample_hallucination"] = round((n - g["right"] - g["refused"]) / n, 4)
    by["all"] = dict(Counter(it["class"] for it in items))
    return by
