"""What a task set is: one declaration that every stage and report reads.

A set names its questions (test cases for the evaluation suite, practice problems for RL,
demonstrations for the SFT mixture), how an answer is checked, whether the tools are on, its
target where one exists, and how the eval table and the report call it.

Test cases are drawn from one random stream that every set of the registry draws from in
registry order (`Draw`): a set appended to the registry leaves every other set's items as they
were, and the same seed gives the same items in every stage that evaluates.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chatforge.world.checkers import check
from chatforge.world.refusals import is_refusal


def sample(rng: random.Random, items: list, n: int) -> list:
    """n distinct items in a random order (all of them, shuffled, when n <= 0)."""
    items = list(items)
    rng.shuffle(items)
    return items[:n] if n > 0 else items


def take(rng: random.Random, items: list, n: int) -> list:
    """n items, cycling through shuffled copies when n exceeds the list."""
    if not items or n <= 0:
        return []
    out: list = []
    while len(out) < n:
        batch = list(items)
        rng.shuffle(batch)
        out.extend(batch[: n - len(out)])
    return out


class Draw:
    """The shared state test cases are drawn with: the world, n items a set, the run's seed and
    the one random stream; `shared(key, make)` gives sets that ask the same questions (arithmetic
    with and without the calculator) the same draw."""

    def __init__(self, world: Any, n: int, seed: int):
        self.world, self.n, self.seed = world, n, seed
        self.rng = random.Random(f"sft-eval:{seed}")
        self.people = {p.id: p for p in world.people}
        self._shared: dict[str, Any] = {}

    def sample(self, items: list) -> list:
        return sample(self.rng, items, self.n)

    def shared(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]

    def knowledge(self, group: str) -> list[dict]:
        """The world's held-out knowledge questions about one group of people."""
        test = self.shared("knowledge-test", lambda: self.world.tasks("knowledge", "test"))
        return [i for i in test if i["group"] == group]


@dataclass(frozen=True)
class Demos:
    """A set's demonstrations in the SFT mixture: `kind` is what the mixture calls them, `count`
    names the [sft] field that says how many, `build(mix, n)` makes them (tasks.demos.Mix: the
    world, the mixture's random stream, the run's tools)."""
    kind: str
    count: str
    build: Callable[[Any, int], list[dict]]


@dataclass(frozen=True)
class TaskSet:
    name: str
    column: str  # the eval table's column
    label: str  # what it measures, in words (report verdicts)
    family: str  # the world's checker: knowledge | arithmetic | letters | identity; "refusal": declining
    tools: bool  # asked with the tools switched on
    cases: Callable[[TaskSet, Draw], list[dict]]  # its held-out test cases (TaskSet.case each)
    practice: Callable[[TaskSet, Any, int], list[dict]] | None = None  # RL's train problems (world, seed)
    demos: Demos | None = None
    target: float | None = None  # the score it should reach (at least)
    judged_by: str = "sft"  # the stage whose report holds the target
    guard: bool = False  # RL: behaviour to keep beside the sets it amplifies, not a skill to amplify
    headline: bool = False  # in the report's headline chart
    obedience: bool = False  # scored as answering without a tool call (tools off)
    refusal_key: str | None = None  # also report how often it declined, under this summary key

    @property
    def metric(self) -> str:
        """Its key in a stage's metrics.json."""
        return "tools_off_obedience" if self.obedience else f"acc_{self.name}"

    @property
    def refusal(self) -> bool:
        return self.family == "refusal"

    def correct(self, item: dict, text: str) -> bool:
        if self.refusal:
            return is_refusal(text)
        return check(self.family, item, text)

    def hallucinated(self, item: dict, text: str) -> bool:
        """A refusal set's answer that says something: neither declines nor happens to be right."""
        return bool(text.strip()) and not is_refusal(text) and not check("knowledge", item, text)

    def test_cases(self, draw: Draw) -> list[dict]:
        return self.cases(self, draw)

    def train_problems(self, world: Any, seed: int) -> list[dict]:
        if self.practice is None:
            raise ValueError(f"task set '{self.name}' has no practice problems.")
        return self.practice(self, world, seed)

    def case(self, messages: list[dict], item: dict) -> dict:
        out = {"messages": messages, "item": item, "check": self.correct, "tools": self.tools}
        if self.refusal:
            out["hallucinated"] = self.hallucinated
        return out

    def problem(self, messages: list[dict], item: dict) -> dict:
        """An RL problem: what the policy is asked, and what its reward reads."""
        return {"set": self.name, "messages": messages, "item": item, "tools": self.tools}
