"""The one registry of task sets: every set the evaluation suite asks, RL practises, the SFT
mixture teaches, the eval table shows and the report judges.

Adding a set is one entry here. Its order is the eval table's column order and the order the
suite draws its items in (a set appended at the end leaves every other set's items as they are).
"""

from __future__ import annotations

from typing import Any

from chatforge.core.errors import UserError
from chatforge.tasks import cases, demos, practice
from chatforge.tasks.general import questions as general_questions
from chatforge.tasks.general_heldout import questions as heldout_general_questions
from chatforge.tasks.taskset import Demos, Draw, TaskSet

_ENTRIES = (
    TaskSet("knowledge_known_qa", "known-qa", "known-qa accuracy (held-out phrasings, tools off)",
            family="knowledge", tools=False, cases=cases.knowledge("known-qa"),
            practice=practice.questions("knowledge", "known-qa"),
            demos=Demos("knowledge", "knowledge", demos.knowledge), target=0.95, headline=True,
            refusal_key="refusal_known_qa"),
    TaskSet("knowledge_bio_only", "bio-only", "bio-only accuracy (facts only in pretraining)",
            family="knowledge", tools=False, cases=cases.knowledge("known-bio-only"),
            practice=practice.people("known-bio-only"), target=0.80),
    TaskSet("followup", "follow-up", "follow-up questions that name the person by pronoun",
            family="knowledge", tools=False, cases=cases.followup,
            demos=Demos("followup", "followup_conversations", demos.followup)),
    TaskSet("identity", "identity", "identity answers",
            family="identity", tools=False, cases=cases.identity, practice=practice.identity,
            demos=Demos("identity", "identity", demos.identity), target=1.0, guard=True, headline=True),
    TaskSet("arithmetic", "arith", "arithmetic step by step (tools off)",
            family="arithmetic", tools=False, cases=cases.problems("arithmetic"),
            practice=practice.questions("arithmetic"),
            demos=Demos("arithmetic", "arithmetic", demos.worked("arithmetic", "step_by_step"))),
    TaskSet("arithmetic_calculator", "arith+calc", "arithmetic with the calculator",
            family="arithmetic", tools=True, cases=cases.problems("arithmetic", cases.TOOLS_ON),
            practice=practice.questions("arithmetic"),
            demos=Demos("calculator", "arithmetic_calculator", demos.with_tool("arithmetic", "calculator")),
            target=0.98),
    TaskSet("letters", "letters", "letter counting spelled out (tools off)",
            family="letters", tools=False, cases=cases.problems("letters"),
            practice=practice.questions("letters"),
            demos=Demos("letters", "letters", demos.worked("letters", "spelled"))),
    TaskSet("letters_python", "letters+py", "letter counting with python",
            family="letters", tools=True, cases=cases.problems("letters", cases.TOOLS_ON),
            practice=practice.questions("letters"),
            demos=Demos("python", "letters_python", demos.with_tool("letters", "python")), target=0.95,
            headline=True),
    TaskSet("search_unknown", "search", "unknown people answered through search",
            family="knowledge", tools=True, cases=cases.search_unknown, practice=practice.people("unknown"),
            demos=Demos("search", "search", demos.search), target=0.80),
    # arithmetic and letters answers are both numbers: the arithmetic checker reads either
    TaskSet("tools_off", "no-tools obeyed", "no tool call when tools are switched off",
            family="arithmetic", tools=False, cases=cases.tools_off, target=1.0, obedience=True),
    TaskSet("refusal_unknown", "refuse unknown", "refusal on unknown people",
            family="refusal", tools=False, cases=cases.refusal_unknown, practice=practice.people("unknown"),
            target=0.90, judged_by="probe", guard=True, headline=True),
    TaskSet("refusal_invented", "refuse invented", "refusal on invented people",
            family="refusal", tools=False, cases=cases.refusal_invented, practice=practice.invented_people,
            target=0.90, judged_by="probe", guard=True),
    TaskSet("context_known", "page known", "known people with a page about them in the question",
            family="knowledge", tools=False, cases=cases.in_context("known-qa")),
    TaskSet("context_unknown", "page unknown", "unknown people with a page about them in the question",
            family="knowledge", tools=False, cases=cases.in_context("unknown")),
    TaskSet("refusal_heldout", "refuse new kinds", "refusal on invented people, companies and places "
            "from a generator no training data draws from", family="refusal", tools=False,
            cases=cases.refusal_heldout, target=0.90, judged_by="probe"),
    TaskSet("general", "general", "real-world facts a pretrained model brings (capitals, planets, authors)",
            family="knowledge", tools=False, cases=cases.general(general_questions)),
    TaskSet("general_heldout", "general, other kinds", "real-world facts of kinds neither the general set "
            "nor the replay asks about (science, landmarks, books, sport, food)", family="knowledge",
            tools=False, cases=cases.general(heldout_general_questions)),
)

SETS: dict[str, TaskSet] = {ts.name: ts for ts in _ENTRIES}


def check_names(names: list[str], what: str, allowed: list[str] | None = None) -> None:
    """One sentence for a name that is no task set (or none of `allowed`)."""
    allowed = list(SETS) if allowed is None else allowed
    bad = [n for n in names if n not in allowed]
    if bad:
        raise UserError(f"{what}: unknown task set {bad[0]!r} (sets: {', '.join(allowed)}).")


def build_cases(world: Any, n: int, seed: int) -> dict[str, list[dict]]:
    """Set name -> its test cases {"messages", "item", "check": (item, text) -> bool, "tools"}, n
    distinct items a set (fewer where the world has fewer), the same for every stage and model."""
    draw = Draw(world, n, seed)
    return {name: ts.test_cases(draw) for name, ts in SETS.items()}


def practised() -> list[str]:
    """The sets RL can practise (those with train problems)."""
    return [n for n, ts in SETS.items() if ts.practice is not None]


def guards() -> list[str]:
    return [n for n, ts in SETS.items() if ts.guard]
