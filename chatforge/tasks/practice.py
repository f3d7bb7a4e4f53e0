"""The train problems RL practises each set on: never a question the evaluation asks.

Knowledge sets practise the train phrasings of their facts (`train_questions`); unknown people
come from the half the evaluation never asks; invented people from the training half; arithmetic,
letters and identity from the world's train splits.
"""

from __future__ import annotations

from typing import Any

from chatforge.chat.prompts import system_prompt
from chatforge.tasks.people import eval_half, invented, knowledge_item, train_questions
from chatforge.tasks.taskset import TaskSet
from chatforge.world.invented import split
from chatforge.world.people import ATTRIBUTES


def _ask(ts: TaskSet, question: str) -> list[dict]:
    msgs = [{"role": "user", "content": question}]
    return ([{"role": "system", "content": system_prompt(True)}] if ts.tools else []) + msgs


def identity(ts: TaskSet, world: Any, seed: int) -> list[dict]:
    # the earlier turns as written; the model writes the last
    return [ts.problem(list(it["messages"][:-1]), it) for it in world.tasks("identity", "train")]


def questions(task: str, group: str | None = None):
    """The world's train questions of `task` (of one group of people for knowledge)."""
    def build(ts: TaskSet, world: Any, seed: int) -> list[dict]:
        return [ts.problem(_ask(ts, it["question"]), it) for it in world.tasks(task, "train")
                if group is None or it["group"] == group]
    return build


def people(group: str):
    """Every train phrasing of every fact of a group's people (unknown: the training half)."""
    def build(ts: TaskSet, world: Any, seed: int) -> list[dict]:
        out = []
        for p in world.people:
            if p.group != group or (group == "unknown" and eval_half(p.id)):
                continue
            for attr in ATTRIBUTES:
                for q in train_questions(world, p, attr):
                    out.append(ts.problem(_ask(ts, q), knowledge_item(p, attr)))
        return out
    return build


def invented_people(ts: TaskSet, world: Any, seed: int) -> list[dict]:
    """The training half of the run's invented people (the evaluation asks the other)."""
    return [ts.problem(_ask(ts, q), knowledge_item(p, attr)) for p in split(invented(world, seed))[0]
            for attr in ATTRIBUTES for q in train_questions(world, p, attr)]
