"""Every evaluation set's items are distinct, and the cpu preset's sets are big enough to mean
something (200 items, one question at most a few percent of a set).

The regression: the cpu world's 60 identity test items held 7 distinct final questions ("Which
company or group developed you?" was 18 of them), so one phrasing flipping moved the score by 30
points between two CPUs.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from chatforge.cli import main


@pytest.fixture(scope="module")
def cpu_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world") / "w"
    assert main(["--quiet", "world", "--preset", "cpu", "--out", str(out)]) == 0
    return out


def _key(messages: list[dict]) -> str:
    return json.dumps([(m["role"], m["content"]) for m in messages])


def test_world_test_sets_are_distinct(cpu_world):
    from chatforge.world import load_world

    w = load_world(cpu_world)
    for task in ("knowledge", "arithmetic", "letters", "identity"):
        items = w.tasks(task, "test")
        if task == "identity":
            keys = [_key(it["messages"][:-1]) for it in items]
        else:
            keys = [it.get("question") or _key([m for m in it["messages"] if m["role"] == "user"][:1])
                    for it in items]
        dup = [k for k, n in collections.Counter(keys).items() if n > 1]
        assert not dup, (task, dup[:3])


def test_cpu_eval_sets_distinct_and_full(cpu_world):
    from chatforge.pipeline import load_config
    from chatforge.tasks import build_cases
    from chatforge.world import load_world

    n = load_config("cpu").sft.eval_items
    assert n >= 200
    sets = build_cases(load_world(cpu_world), n, seed=1337)
    for name, cases in sets.items():
        keys = [_key(c["messages"]) for c in cases]
        assert len(set(keys)) == len(keys), name
        assert len(cases) >= 200, (name, len(cases))
        # no single final question is more than 5% of a set (follow-ups reuse "And where was she
        # born?" after distinct first turns, which is what they test)
        if name != "followup":
            top = collections.Counter(c["messages"][-1]["content"] for c in cases).most_common(1)[0][1]
            assert top <= 0.05 * len(cases), (name, top)


def test_identity_test_questions_never_in_train(cpu_world):
    from chatforge.world import load_world
    from chatforge.world.tasks.identity import ASK_LIMITS, ASK_MAKER, ASK_NAME

    w = load_world(cpu_world)
    cores = ASK_NAME + ASK_MAKER + ASK_LIMITS

    def used(items) -> set[str]:
        return {c for it in items for m in it["messages"] if m["role"] == "user" for c in cores
                if c in m["content"]}
    test, train = used(w.tasks("identity", "test")), used(w.tasks("identity", "train"))
    # a core may be a substring of another ("Who are you?" in "Could you tell me who you are?" is
    # not, case differs); the split itself is by core
    assert len(test) >= 12 and not (test & train), test & train


def test_wilson_interval():
    from chatforge.eval.stats import mean_sd, wilson

    lo, hi = wilson(120, 200)
    assert 0.53 < lo < 0.54 and 0.66 < hi < 0.67
    assert wilson(0, 200)[0] == 0.0 and wilson(200, 200)[1] == 1.0
    assert mean_sd([0.5, 0.7, 0.6]) == pytest.approx((0.6, 0.1))
