"""The web page's ranking request: checked here, stored by chatforge.rlhf.rankings."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from chatforge.serve.errors import bad
from chatforge.serve.schemas import Body


class RankMessage(Body):
    role: str
    content: str | list[Any]


class RankRequest(Body):
    model: str | None = None
    messages: list[RankMessage] = Field(min_length=1, description="the conversation the answers reply to")
    answers: list[str] = Field(min_length=2, max_length=8)
    ranking: list[int] = Field(description="every answer index exactly once, best first")

    @field_validator("ranking")
    @classmethod
    def _is_a_ranking(cls, ranking: list[int], info: ValidationInfo) -> list[int]:
        answers = info.data.get("answers")
        if answers is not None and sorted(ranking) != list(range(len(answers))):
            raise ValueError("it must list every answer index exactly once, best first")
        return ranking

    def record(self, max_chars: int) -> dict[str, Any]:
        """The line to store, after the size limits of this server."""
        if sum(len(a) for a in self.answers) > 8 * max_chars:
            raise bad("'answers' are too long.", "answers")
        messages = [m.model_dump() for m in self.messages]
        if len(json.dumps(messages)) > 4 * max_chars:
            raise bad("'messages' is too long.", "messages")
        return {"messages": messages, "answers": self.answers, "ranking": self.ranking}
