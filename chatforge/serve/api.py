"""OpenAI-compatible request checking and response shapes (chat completions and completions).

Every mistake in a request becomes an `ApiError` (a 4xx with OpenAI's error body), checked
before anything is queued: bad JSON, wrong types, unknown roles, oversize messages, max_tokens
over the limit, a prompt longer than the context. Fields OpenAI clients send that mean nothing
here (user, logit_bias, presence_penalty, ...) are accepted and ignored, as local servers do.
Tool calls are executed by the server (calculator, python, search, when the system prompt
switches them on; see chatforge/chat/prompts.py) and reported in an extension field
`chatforge_segments` (and `chatforge_event` while streaming), never in OpenAI's `tool_calls`
(which would ask the client to run them).
"""

from __future__ import annotations

import json
import math
import queue
import time
import uuid
from dataclasses import dataclass
from typing import Any

from chatforge.serve.config import ServeConfig
from chatforge.serve.scheduler import BatchKey, Job
from chatforge.serve.stream import OutputDecoder


class ApiError(Exception):
    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def bad(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def parse_json(raw: bytes) -> dict:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise bad("The request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise bad("The request body must be a JSON object.", code="invalid_json")
    return body


# ---- field checks ------------------------------------------------------------------------------

def _num(body: dict, name: str, default: float, lo: float, hi: float, integer: bool = False):
    v = body.get(name)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
        raise bad(f"'{name}' must be {'an integer' if integer else 'a number'}.", name)
    if isinstance(v, float) and not math.isfinite(v):
        raise bad(f"'{name}' must be a finite number.", name)
    if not lo <= v <= hi:
        raise bad(f"'{name}' must be between {lo} and {hi}, got {v}.", name)
    return v


def _bool(body: dict, name: str, default: bool) -> bool:
    v = body.get(name)
    if v is None:
        return default
    if not isinstance(v, bool):
        raise bad(f"'{name}' must be true or false.", name)
    return v


def _stop(body: dict) -> list[str]:
    v = body.get("stop")
    if v is None:
        return []
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or len(v) > 4 or not all(isinstance(s, str) and 0 < len(s) <= 100 for s in v):
        raise bad("'stop' must be a string or a list of up to 4 non-empty strings (100 chars each).", "stop")
    return v


@dataclass
class Sampling:
    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    n: int
    seed: int | None
    stop: list[str]
    stream: bool
    include_usage: bool


def sampling(body: dict, cfg: ServeConfig) -> Sampling:
    mt = body.get("max_completion_tokens", body.get("max_tokens"))
    param = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    if mt is None:
        mt = cfg.default_max_tokens
    elif isinstance(mt, bool) or not isinstance(mt, int) or mt < 1:
        raise bad(f"'{param}' must be a positive integer.", param)
    elif mt > cfg.max_tokens:
        raise bad(f"'{param}' is {mt} but this server allows at most {cfg.max_tokens}.", param,
                  "max_tokens_exceeded")
    opts = body.get("stream_options")
    if opts is not None and not isinstance(opts, dict):
        raise bad("'stream_options' must be an object.", "stream_options")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
        raise bad("'seed' must be a non-negative integer.", "seed")
    temperature = float(_num(body, "temperature", 1.0, 0.0, 2.0))
    top_p = float(_num(body, "top_p", 1.0, 0.0, 1.0))
    if top_p == 0.0:  # the smallest nucleus is the single most likely token: greedy
        temperature, top_p = 0.0, 1.0
    return Sampling(
        max_tokens=mt,
        temperature=temperature,
        top_p=top_p,
        top_k=int(_num(body, "top_k", 0, 0, 1_000_000, integer=True)),
        n=int(_num(body, "n", 1, 1, cfg.max_n, integer=True)),
        seed=seed,
        stop=_stop(body),
        stream=_bool(body, "stream", False),
        include_usage=bool(opts and opts.get("include_usage") is True),
    )


def _text_content(content: Any, i: int, role: str) -> str:
    """OpenAI content: a string, or a list of {"type": "text", "text": ...} parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        if all(p.get("type") == "text" and isinstance(p.get("text"), str) for p in content):
            return "".join(p["text"] for p in content)
    raise bad(f"messages[{i}].content must be a string or a list of text parts for role '{role}'.",
              f"messages[{i}].content")


def messages(body: dict, cfg: ServeConfig) -> list[dict]:
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise bad("'messages' must be a non-empty list.", "messages")
    if len(msgs) > cfg.max_messages:
        raise bad(f"'messages' has {len(msgs)} entries; the limit is {cfg.max_messages}.", "messages")
    out = []
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            raise bad(f"messages[{i}] must be an object.", f"messages[{i}]")
        role = m.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise bad(f"messages[{i}].role must be system, user, assistant or tool.", f"messages[{i}].role")
        role = "system" if role == "developer" else role
        content = m.get("content")
        if role == "assistant" and (content is None or _is_segments(content)):
            content = content or []
            size = len(json.dumps(content, ensure_ascii=False))
        else:
            content = _text_content(content, i, role)
            size = len(content)
        if size > cfg.max_message_chars:
            raise bad(f"messages[{i}] is {size} characters; the limit is {cfg.max_message_chars}.",
                      f"messages[{i}].content", "message_too_long")
        out.append({"role": role, "content": content})
    return out


def _is_segments(content: Any) -> bool:
    """chatforge's own assistant segments (the web page sends them back to keep tool calls)."""
    return isinstance(content, list) and any(
        isinstance(s, dict) and s.get("type") in ("tool_call", "tool_result") for s in content)


def completion_prompt(body: dict, served, cfg: ServeConfig) -> list[int]:
    """A /v1/completions prompt: a string (or a list holding one string, or token ids).
    A string follows <|endoftext|>, the document boundary the base model saw at every start."""
    p = body.get("prompt")
    if isinstance(p, list) and len(p) == 1 and isinstance(p[0], str):
        p = p[0]
    tok = served.tokenizer
    if isinstance(p, str):
        if len(p) > cfg.max_message_chars:
            raise bad(f"'prompt' is {len(p)} characters; the limit is {cfg.max_message_chars}.", "prompt",
                      "message_too_long")
        return [tok.special("<|endoftext|>")] + tok.encode(p)
    if isinstance(p, list) and p and all(isinstance(t, int) and not isinstance(t, bool) for t in p):
        if any(not 0 <= t < tok.n_vocab for t in p):
            raise bad(f"'prompt' token ids must be in 0..{tok.n_vocab - 1}.", "prompt")
        return list(p)
    raise bad("'prompt' must be a string, a list with one string, or a non-empty list of token ids.", "prompt")


# ---- building jobs -----------------------------------------------------------------------------

def make_jobs(served, prompt: list[int], s: Sampling, chat: bool, tools: tuple[str, ...] | None,
              executor) -> tuple[list[Job], queue.Queue]:
    if len(prompt) >= served.context:
        raise bad(f"The prompt is {len(prompt)} tokens but the model's context is {served.context} "
                  "tokens; shorten the conversation.", "messages" if chat else "prompt",
                  "context_length_exceeded")
    max_tokens = min(s.max_tokens, served.context - len(prompt))
    tok = served.tokenizer
    stops = frozenset({tok.special("<|im_end|>"), tok.special("<|endoftext|>")})
    seed = s.seed if s.temperature > 0 else None  # greedy needs no seed, and then batches with any
    events: queue.Queue = queue.Queue()
    jobs = []
    for i in range(s.n):
        key = BatchKey(served.name, s.temperature, s.top_k, s.top_p,
                       None if seed is None else seed + i, tools)
        jobs.append(Job(key=key, engine=served.engine, prompt=prompt, max_tokens=max_tokens,
                        decoder=OutputDecoder(tok, chat, s.stop), stop_ids=stops, events=events,
                        index=i, executor=executor))
    return jobs, events


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(prompt_len: int, jobs: list[Job]) -> dict:
    done = sum(len(j.tokens) for j in jobs)
    return {"prompt_tokens": prompt_len * len(jobs), "completion_tokens": done,
            "total_tokens": prompt_len * len(jobs) + done}


def chat_response(rid: str, model: str, jobs: list[Job], prompt_len: int) -> dict:
    choices = []
    for j in jobs:
        msg = {"role": "assistant", "content": j.decoder.text}
        if any(seg["type"] != "text" for seg in j.decoder.segments):
            msg["chatforge_segments"] = j.decoder.segments
        choices.append({"index": j.index, "message": msg, "logprobs": None,
                        "finish_reason": j.finish_reason})
    return {"id": rid, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": choices, "usage": usage(prompt_len, jobs), "system_fingerprint": "chatforge"}


def chat_chunk(rid: str, model: str, created: int, index: int, delta: dict,
               finish: str | None = None) -> dict:
    return {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "chatforge",
            "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}]}


def text_response(rid: str, model: str, jobs: list[Job], prompt_len: int) -> dict:
    return {"id": rid, "object": "text_completion", "created": int(time.time()), "model": model,
            "choices": [{"index": j.index, "text": j.decoder.text, "logprobs": None,
                         "finish_reason": j.finish_reason} for j in jobs],
            "usage": usage(prompt_len, jobs)}


def text_chunk(rid: str, model: str, created: int, index: int, text: str, finish: str | None = None) -> dict:
    return {"id": rid, "object": "text_completion", "created": created, "model": model,
            "choices": [{"index": index, "text": text, "logprobs": None, "finish_reason": finish}]}
