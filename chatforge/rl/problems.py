"""The problems RL practises on and is scored on: the task registry's practised sets.

Each set's train problems and checker are the registry's (chatforge.tasks): arithmetic and
letters with and without tools, knowledge recall (train phrasings to practise, held-out ones to
score), search about the unknown people's training half, refusals about unknown and invented
people (reward 1 for declining), identity.

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
import re
from collections import Counter

from chatforge.core.errors import UserError
from chatforge.tasks import SETS, build_cases, check_names, guards, practised
from chatforge.world.checkers import answer_forms, normalize
from chatforge.world.refusals import is_refusal


def check_sets(names: list[str]) -> None:
    if not names:
        raise UserError("rl.sets is empty; name at least one of " + ", ".join(practised()) + ".")
    check_names(names, "rl.sets", practised())


def train_problems(world, name: str, seed: int) -> list[dict]:
    """Every train problem of a set (a stable order; `seed` picks the run's invented people)."""
    return SETS[name].train_problems(world, seed)


def test_problems(world, names: list[str], n: int, seed: int) -> dict[str, list[dict]]:
    """The evaluation suite's items of those sets (the same n distinct held-out items)."""
    sets = build_cases(world, n, seed)
    return {name: [SETS[name].problem(c["messages"], c["item"]) for c in sets[name]] for name in names}


def declines(world, item: dict, text: str) -> bool:
    """A refusal that states no value of the asked attribute. "I don't know where X studied. X
    studied at Y." is a guess behind a hedge: the lenient `is_refusal` takes it, and RL on
    runs/smol10 learnt to write it once the hedge paid (docs/rl.md)."""
    if not is_refusal(text):
        return False
    attribute = item.get("attribute")
    if not attribute or world is None:
        return True
    if attribute == "birth_date" and re.search(r"\b(1[89]|20)\d\d\b", text):
        return False
    forms = world.__dict__.setdefault("_value_forms", {})  # kept on the world it describes
    if attribute not in forms:
        values = {str(p.attrs[attribute]) for p in world.people if attribute in p.attrs}
        forms[attribute] = sorted({normalize(f) for v in values for f in answer_forms(attribute, v)})
    t = normalize(text)
    return not any(f in t for f in forms[attribute] + [normalize(str(item.get("answer", "")))] if f)


def reward(world, problem: dict, text: str, abstain: float = 0.0) -> float:
    """1 for a right answer, else 0. On a refusal set, right = `declines` (stricter than the
    evaluation's checker: a hedge that goes on to answer earns nothing). With `abstain`, an answer
    set pays that much for declining: guessing then pays only where the model is right more often
    than that, so practising answers does not teach it to answer about everyone."""
    ts = SETS[problem["set"]]
    if ts.refusal:
        return float(declines(world, problem["item"], text))
    if ts.correct(problem["item"], text):
        return 1.0
    return abstain if abstain and not ts.guard and declines(world, problem["item"], text) else 0.0


def blind_guesser(world, name: str, tests: list[dict], ks: list[int]) -> dict:
    """Exact pass@k of answering "The answer is X." with X drawn from the train answers (for
    knowledge: the train answers of the asked attribute). 0 on the guard sets."""
    family = SETS[name].family
    if family in ("refusal", "identity"):  # it never refuses, never says who it is
        return {f"pass@{k}": 0.0 for k in ks}
    pools: dict = {}
    if family == "knowledge":
        for p in train_problems(world, name, 0):
            pools.setdefault(p["item"]["attribute"], Counter())[p["item"]["answer"]] += 1
    else:
        pools[None] = Counter(str(it["answer"]) for it in world.tasks(family, "train"))
    out = {f"pass@{k}": 0.0 for k in ks}
    for t in tests:
        pool = pools.get(t["item"].get("attribute") if family == "knowledge" else None) or Counter()
        total = sum(pool.values()) or 1
        p = sum(c for a, c in pool.items() if world.check(family, t["item"], f"The answer is {a}.")) / total
        for k in ks:
            out[f"pass@{k}"] += 1 - (1 - p) ** k
    return {k: round(v / max(1, len(tests)), 4) for k, v in out.items()}


def sample_problems(pool: list[dict], n: int, rng: random.Random, guard_share: float = 0.0) -> list[dict]:
    """n problems: round(n * guard_share) from the guard sets and the rest from the answer sets
    (all from one kind when the pool has only that kind); within each kind the sets take turns
    (an equal share whatever its size: a set of 6,000 problems does not crowd out one of 1,300),
    each problem drawn at random in its set."""
    kinds: list[dict[str, list[dict]]] = [{}, {}]  # answer sets, guard sets
    guard = set(guards())
    for p in pool:
        kinds[p["set"] in guard].setdefault(p["set"], []).append(p)
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
