"""The request bodies, as pydantic models: FastAPI checks them and /openapi.json describes them.

Strict types (a "5" is not a number, a "yes" is not true): a client that sends the wrong type
gets a 400 naming the field rather than a guess. Fields OpenAI clients send that mean nothing
here (user, logit_bias, presence_penalty, ...) are accepted and ignored, as local servers do.
Limits that depend on the server's config (max_tokens, n, message length) are checked by the
routes, with OpenAI's error codes (see api.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

SEGMENT_TYPES = ("tool_call", "tool_result")


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


Role = Literal["system", "developer", "user", "assistant", "tool"]


class Message(Body):
    role: Role
    content: str | list[dict[str, Any]] | None = Field(
        None, validate_default=True,
        description="a string, or a list of {type: text, text} parts; an assistant message may also be "
                    "chatforge's segment list (text / tool_call / tool_result), to keep its tool calls")

    @field_validator("content")
    @classmethod
    def _fits_role(cls, content: Any, info: ValidationInfo) -> Any:
        role = info.data.get("role")
        if role is None:  # the role itself was wrong: that error is the one to report
            return content
        if role == "assistant" and (content is None or is_segments(content)):
            return content
        if isinstance(content, str) or (isinstance(content, list) and all(
                p.get("type") == "text" and isinstance(p.get("text"), str) for p in content)):
            return content
        raise ValueError(f"it must be a string or a list of text parts for role '{role}'")


def is_segments(content: Any) -> bool:
    """chatforge's own assistant segments (the web page sends them back to keep tool calls)."""
    return isinstance(content, list) and any(s.get("type") in SEGMENT_TYPES for s in content)


Stop = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class StreamOptions(Body):
    include_usage: bool | None = None


class Sampling(Body):
    """What chat and text completions share."""

    model: str | None = Field(None, description="a name from /v1/models (default: the best chat model "
                                                "that keeps the evaluation suite)")
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2, allow_inf_nan=False)
    top_p: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)
    top_k: int | None = Field(None, ge=0, le=1_000_000, description="extension: 0 = off")
    n: int | None = Field(None, ge=1)
    seed: int | None = Field(None, ge=0, lt=2**63)
    stop: Stop | Annotated[list[Stop], Field(max_length=4)] | None = Field(
        None, description="up to 4 strings of 1-100 characters; the answer ends before the first")
    stream: bool | None = None
    stream_options: StreamOptions | None = None


class ChatRequest(Sampling):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 32, "temperature": 0}]})

    messages: list[Message] = Field(min_length=1)


class CompletionRequest(Sampling):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"prompt": "The model", "max_tokens": 16, "temperature": 0}]})

    prompt: str | Annotated[list[str], Field(min_length=1, max_length=1)] | Annotated[
        list[int], Field(min_length=1)] = Field(
        description="a text (it follows <|endoftext|>, the document boundary), a list holding one text, "
                    "or a list of token ids")


class TokenizeRequest(Body):
    text: str
    model: str | None = None


class InspectRequest(Body):
    text: str | None = None
    messages: list[Message] | None = Field(None, min_length=1)
    model: str | None = None


class LooseMessage(Body):
    """A message as the web page sends it back: checked for shape only."""

    role: Literal["system", "user", "assistant"]
    content: str | list[Any]


class RewardRequest(Body):
    messages: list[LooseMessage] = Field(min_length=1)
    answer: str


class ArenaVote(Body):
    prompt_id: str
    models: list[str] = Field(min_length=2, max_length=2)
    winner: Literal["a", "b", "tie"]
