"""The web page's ranking request: checked here, stored by chatforge.rlhf.rankings."""

from __future__ import annotations

import json
from typing import Any

from chatforge.serve.api import bad


def check(body: dict, max_chars: int) -> dict[str, Any]:
    answers, ranking = body.get("answers"), body.get("ranking")
    if not isinstance(answers, list) or not 2 <= len(answers) <= 8 or not all(isinstance(a, str) for a in answers):
        raise bad("'answers' must be a list of 2 to 8 strings.", "answers")
    if sum(len(a) for a in answers) > 8 * max_chars:
        raise bad("'answers' are too long.", "answers")
    if (not isinstance(ranking, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ranking)
            or sorted(ranking) != list(range(len(answers)))):
        raise bad("'ranking' must list every answer index exactly once, best first.", "ranking")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), (str, list))
            for m in msgs):
        raise bad("'messages' must be the non-empty conversation the answers reply to.", "messages")
    if len(json.dumps(msgs)) > 4 * max_chars:
        raise bad("'messages' is too long.", "messages")
    return {"messages": msgs, "answers": answers, "ranking": ranking}
