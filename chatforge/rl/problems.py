"""The problems RL practises on and is scored on: every verifiable task set of the world.

    arithmetic             word problems, tools off (the SFT model solves them step by step)
    arithmetic_calculator  the same with tools on (the calculator)
    letters                letter counting, tools off (spelled out)
    letters_python         letter counting with tools on (python)
    knowledge_known_qa     recall of facts SFT taught: train phrasings to practise, held-out
                           phrasings to score
    knowledge_bio_only     recall of facts only in pretraining biographies: train phrasings of
                           those facts to practise, the held-out phrasing to score
    search_unknown         people the model never saw, tools on: the training half of the unknown
                           people to practise, the search evaluation's half to score
    refusal_unknown        the same people asked with tools off: the right answer is a refusal
                           (reward 1 for refusing); the refusal evaluation's half to score
    refusal_invented       people with invented names (world/invented.py), tools off: the
                           training half to practise, the evaluation's half to score
    identity               "who are you?" conversations: the world's identity checker

The refusal and identity sets are guards, not skills to amplify: practised beside the answer sets
(`guard_share` of each step's problems) they pay for saying "I don't know" where nothing is known
and for knowing who it is, so the answer sets' reward (a refusal scores like a wrong answer there)
does not teach the model to make up an answer about everyone, nor its refusals to spread to "Who
made you?".

A problem is {"set", "messages" (ending with the user turn), "item" (what the checker reads),
"tools"}; the reward is the world's checker on the text of the answer. Test problems are the
evaluation suite's held-out items; nothing a test problem asks is practised in its wording.

The blind guesser answers from the train split's answer distribution without reading the
question: its pass@1 and pass@k are computed exactly from that distribution. An RL gain counts
above it (many answers are small integers, so part of pass@16 is luck).
"""

from __future__ import annotations

import random
from collections import Counter

from chatforge.core.errors import UserError
from chatforge.rl.config import GUARDS, SETS

TASK = {"arithmetic": "arithmetic", "arithmetic_calculator": "arithmetic", "letters": "letters",
        "letters_python": "letters", "knowledge_known_qa": "knowledge", "knowledge_bio_only": "knowledge",
        "search_unknown": "knowledge", "refusal_unknown": "refusal", "refusal_invented": "refusal",
        "identity": "identity"}
TOOLS = {"arithmetic_calculator", "letters_python", "search_unknown"}


def check_sets(names: list[str]) -> None:
    bad = [n for n in names if n not in SETS]
    if bad or not names:
        raise UserError(f"rl.sets: unknown set {bad[0]!r} (sets: {', '.join(SETS)})." if bad else
                        "rl.sets is empty; name at least one of " + ", ".join(SETS) + ".")


def _problem(name: str, question: str, item: dict) -> dict:
    from chatforge.chat.prompts import system_prompt

    msgs = [{"role": "user", "content": question}]
    if name in TOOLS:
        msgs = [{"role": "system", "content": system_prompt(True)}] + msgs
    return {"set": name, "messages": msgs, "item": item, "tools": name in TOOLS}


def _knowledge_item(p, attr: str) -> dict:
    return {"person_id": p.id, "attribute": attr, "answer": str(p.attrs[attr])}


def train_problems(world, name: str, seed: int) -> list[dict]:
    """Every train problem of a set (a stable order; `seed` picks the run's invented people)."""
    from chatforge.eval.suite import invented
    from chatforge.sft.mixture import eval_half, train_questions
    from chatforge.world.invented import split
    from chatforge.world.people import ATTRIBUTES

    if name == "identity":  # the earlier turns as written; the model writes the last
        return [{"set": name, "messages": list(it["messages"][:-1]), "item": it, "tools": False}
                for it in world.tasks("identity", "train")]
    if name in ("arithmetic", "arithmetic_calculator", "letters", "letters_python"):
        return [_problem(name, it["question"], it) for it in world.tasks(TASK[name], "train")]
    if name == "knowledge_known_qa":
        return [_problem(name, it["question"], it) for it in world.tasks("knowledge", "train")
                if it["group"] == "known-qa"]
    if name == "refusal_invented":  # only the training half (the evaluation asks the other)
        return [_problem(name, q, _knowledge_item(p, attr)) for p in split(invented(world, seed))[0]
                for attr in ATTRIBUTES for q in train_questions(world, p, attr)]
    group = "known-bio-only" if name == "knowledge_bio_only" else "unknown"
    out = []
    for p in world.people:
        if p.group != group or (group == "unknown" and eval_half(p.id)):
            continue
        for attr in ATTRIBUTES:
            for q in train_questions(world, p, attr):  # never a phrasing the evaluation asks
                out.append(_problem(name, q, _knowledge_item(p, attr)))
    return out


def test_problems(world, names: list[str], n: int, seed: int) -> dict[str, list[dict]]:
    """The evaluation suite's items of those sets (the same n distinct held-out items)."""
    from chatforge.eval.suite import build_sets

    sets = build_sets(world, n, seed)
    return {name: [{"set": name, "messages": c["messages"], "item": c["item"], "tools": c["tools"]}
                   for c in sets[name]] for name in names}


def reward(world, problem: dict, text: str) -> float:
    if TASK[problem["set"]] == "refusal":
        from chatforge.world.refusals import is_refusal

        return float(is_refusal(text))
    return float(world.check(TASK[problem["set"]], problem["item"], text))


def blind_guesser(world, name: str, tests: list[dict], ks: list[int]) -> dict:
    """Exact pass@k of answering "The answer is X." with X drawn from the train answers (for
    knowledge: the train answers of the asked attribute). 0 on the guard sets."""
    if TASK[name] in ("refusal", "identity"):  # it never refuses, never says who it is
        return {f"pass@{k}": 0.0 for k in ks}
    pools: dict = {}
    if TASK[name] == "knowledge":
        for p in train_problems(world, name, 0):
            pools.setdefault(p["item"]["attribute"], Counter())[p["item"]["answer"]] += 1
    else:
        pools[None] = Counter(str(it["answer"]) for it in world.tasks(TASK[name], "train"))
    out = {f"pass@{k}": 0.0 for k in ks}
    for t in tests:
        pool = pools.get(t["item"].get("attribute") if TASK[name] == "knowledge" else None) or Counter()
        total = sum(pool.values()) or 1
        p = sum(c for a, c in pool.items() if world.check(TASK[name], t["item"], f"The answer is {a}.")) / total
        for k in ks:
            out[f"pass@{k}"] += 1 - (1 - p) ** k
    return {k: round(v / max(1, len(tests)), 4) for k, v in out.items()}


def sample_problems(pool: list[dict], n: int, rng: random.Random, guard_share: float = 0.0) -> list[dict]:
    """n problems: round(n * guard_share) from the guard sets and the rest from the answer sets
    (all from one kind when the pool has only that kind); within each kind the sets take turns
    (an equal share whatever its size: letters' 6,000 problems do not crowd out known-qa's
    1,300), each problem drawn at random in its set."""
    kinds: list[dict[str, list[dict]]] = [{}, {}]  # answer sets, guard sets
    for p in pool:
        kinds[p["set"] in GUARDS].setdefault(p["set"], []).append(p)
    n_guard = round(n * guard_share) if kinds[0] and kinds[1] else (n if kinds[1] else 0)
    out = []
    for by_set, count in ((kinds[0], n - n_guard), (kinds[1], n_guard)):
        sets = list(by_set.values())
        if not sets or count <= 0:
            continue
        first = rng.randrange(len(sets)) if len(sets) > 1 else 0  # who takes the leftover turns
        for i in range(count):
            group = sets[(first + i) % len(sets)]
            out.append(group[rng.randrange(len(group))])
    return out
