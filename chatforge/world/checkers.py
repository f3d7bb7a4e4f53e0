"""Answer checkers: does a piece of model output answer a task item correctly?

They are deliberately lenient about form (case, punctuation, surrounding words) and strict about
content, so that a probe or an RL reward measures knowledge, not formatting.
"""

from __future__ import annotations

import re

from chatforge.core.errors import UserError
from chatforge.world.gold import gold_score

_NUM = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?")


def normalize(text: str) -> str:
    return " " + " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split()) + " "


def final_number(text: str) -> float | None:
    """The last number written in `text` (commas as thousands separators allowed)."""
    found = _NUM.findall(text)
    if not found:
        return None
    try:
        return float(found[-1].replace(",", ""))
    except ValueError:
        return None


def answer_forms(attribute: str, answer: str) -> list[str]:
    """Accepted surface forms of an attribute value ("March 4, 1961" may also be "4 March 1961")."""
    if attribute == "general":  # real-world facts (tasks/general.py): "Kyiv/Kiev" accepts either
        return answer.split("/")
    forms = [answer]
    if attribute == "birth_date":
        m = re.fullmatch(r"(\w+) (\d+), (\d+)", answer)
        if m:
            forms.append(f"{m.group(2)} {m.group(1)} {m.group(3)}")
    return forms


def check_knowledge(item: dict, text: str) -> bool:
    t = normalize(text)
    return any(normalize(f) in t for f in answer_forms(item["attribute"], str(item["answer"])))


def check_number(item: dict, text: str) -> bool:
    got = final_number(text)
    return got is not None and abs(got - float(item["answer"])) < 1e-9


def check_identity(item: dict, text: str) -> bool:
    t = normalize(text)
    expect = [re.sub(r"^the ", "", e.lower()) for e in item["expect"]]
    return all(normalize(e) in t for e in expect)


def check_open(item: dict, text: str) -> bool:
    return gold_score(item, text) >= 0.5


CHECKERS = {
    "knowledge": check_knowledge,
    "arithmetic": check_number,
    "letters": check_number,
    "identity": check_identity,
    "open": check_open,
}


def check(task: str, item: dict, answer_text: str) -> bool:
    try:
        fn = CHECKERS[task]
    except KeyError:
        raise UserError(f"unknown task '{task}' (tasks: {', '.join(CHECKERS)}).") from None
    return fn(item, answer_text)


def conversation_text(messages: list[dict]) -> str:
    """The text of the last assistant turn (tool calls left out, tool results kept out too)."""
    for m in reversed(messages):
        if m["role"] == "assistant":
            c = m["content"]
            if isinstance(c, str):
                return c
            return "".join(seg["text"] for seg in c if seg["type"] == "text")
    return ""
