"""OpenAI-compatible requests -> scheduler jobs, and the response shapes (chat and text completions).

The request models (schemas.py) have checked the types; what is checked here depends on the
server's config or on the model: max_tokens over `serve.max_tokens` (400 max_tokens_exceeded), a
message over `serve.max_message_chars` (400 message_too_long), a prompt longer than the context
(400 context_length_exceeded), token ids outside the vocabulary. All of it happens before
anything is queued.

Tool calls are executed by the server (calculator, python, search, when the system prompt
switches them on; see chatforge/chat/prompts.py) and reported in an extension field
`chatforge_segments` (and `chatforge_event` while streaming), never in OpenAI's `tool_calls`
(which would ask the client to run them).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from chatforge.chat.prompts import enabled_tools
from chatforge.chat.render import ChatFormatError, render_prompt
from chatforge.serve.config import ServeConfig
from chatforge.serve.errors import bad
from chatforge.serve.models import ServedModel
from chatforge.serve.scheduler import BatchKey, EventSink, Job
from chatforge.serve.schemas import ChatRequest, CompletionRequest, Message, is_segments
from chatforge.serve.schemas import Sampling as SamplingFields
from chatforge.serve.state import App
from chatforge.serve.stream import OutputDecoder


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


def sampling(req: SamplingFields, cfg: ServeConfig) -> Sampling:
    param = "max_completion_tokens" if req.max_completion_tokens is not None else "max_tokens"
    mt = req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens
    if mt is None:
        mt = cfg.default_max_tokens
    elif mt > cfg.max_tokens:
        raise bad(f"'{param}' is {mt} but this server allows at most {cfg.max_tokens}.", param,
                  "max_tokens_exceeded")
    n = 1 if req.n is None else req.n
    if n > cfg.max_n:
        raise bad(f"'n' must be between 1 and {cfg.max_n}, got {n}.", "n")
    temperature = 1.0 if req.temperature is None else float(req.temperature)
    top_p = 1.0 if req.top_p is None else float(req.top_p)
    if top_p == 0.0:  # the smallest nucleus is the single most likely token: greedy
        temperature, top_p = 0.0, 1.0
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    opts = req.stream_options
    return Sampling(max_tokens=mt, temperature=temperature, top_p=top_p, top_k=req.top_k or 0, n=n,
                    seed=req.seed, stop=stop, stream=bool(req.stream),
                    include_usage=bool(opts and opts.include_usage))


def messages(msgs: list[Message], cfg: ServeConfig) -> list[dict]:
    """The conversation as the chat renderer takes it: developer -> system, text parts joined,
    an assistant's segment list kept (it holds the tool calls of an earlier answer)."""
    if len(msgs) > cfg.max_messages:
        raise bad(f"'messages' has {len(msgs)} entries; the limit is {cfg.max_messages}.", "messages")
    out = []
    for i, m in enumerate(msgs):
        role = "system" if m.role == "developer" else m.role
        content = m.content
        if role == "assistant" and (content is None or is_segments(content)):
            content = content or []
            size = len(json.dumps(content, ensure_ascii=False))
        else:
            content = content if isinstance(content, str) else "".join(p["text"] for p in content)
            size = len(content)
        if size > cfg.max_message_chars:
            raise bad(f"messages[{i}] is {size} characters; the limit is {cfg.max_message_chars}.",
                      f"messages[{i}].content", "message_too_long")
        out.append({"role": role, "content": content})
    return out


def chat_prompt(msgs: list[dict], served: ServedModel) -> list[int]:
    try:
        return render_prompt(msgs, served.tokenizer)
    except ChatFormatError as e:
        raise bad(f"The conversation is not valid: {e}", "messages") from None


def completion_prompt(req: CompletionRequest, served: ServedModel, cfg: ServeConfig) -> list[int]:
    """A /v1/completions prompt: a string (or a list holding one string, or token ids).
    A string follows <|endoftext|>, the document boundary the base model saw at every start."""
    p = req.prompt
    if isinstance(p, list) and isinstance(p[0], str):
        p = p[0]
    tok = served.tokenizer
    if isinstance(p, str):
        if len(p) > cfg.max_message_chars:
            raise bad(f"'prompt' is {len(p)} characters; the limit is {cfg.max_message_chars}.", "prompt",
                      "message_too_long")
        return [tok.special("<|endoftext|>")] + tok.encode(p)
    if any(not 0 <= t < tok.n_vocab for t in p):
        raise bad(f"'prompt' token ids must be in 0..{tok.n_vocab - 1}.", "prompt")
    return list(p)


# ---- building jobs -----------------------------------------------------------------------------

@dataclass
class Prepared:
    """A checked request, ready to queue."""

    served: ServedModel
    prompt: list[int]
    sampling: Sampling
    jobs: list[Job]


def prepare_chat(app: App, req: ChatRequest, events: EventSink) -> Prepared:
    """Everything a chat completion needs before it is queued (may load a model: not on the loop)."""
    msgs = messages(req.messages, app.cfg)
    s = sampling(req, app.cfg)
    served = app.model(req.model)
    prompt = chat_prompt(msgs, served)
    tools = tuple(enabled_tools(msgs))
    return Prepared(served, prompt, s, make_jobs(served, prompt, s, tools, app.executor_for(tools), events))


def prepare_completion(app: App, req: CompletionRequest, events: EventSink) -> Prepared:
    s = sampling(req, app.cfg)
    served = app.model(req.model)
    prompt = completion_prompt(req, served, app.cfg)
    return Prepared(served, prompt, s, make_jobs(served, prompt, s, None, None, events))


def make_jobs(served: ServedModel, prompt: list[int], s: Sampling, tools: tuple[str, ...] | None,
              executor, events: EventSink) -> list[Job]:
    """n jobs for one prompt; `tools` None means a text completion (no chat segments, no tools)."""
    chat = tools is not None
    if len(prompt) >= served.context:
        raise bad(f"The prompt is {len(prompt)} tokens but the model's context is {served.context} "
                  "tokens; shorten the conversation.", "messages" if chat else "prompt",
                  "context_length_exceeded")
    max_tokens = min(s.max_tokens, served.context - len(prompt))
    tok = served.tokenizer
    stops = frozenset({tok.special("<|im_end|>"), tok.special("<|endoftext|>")})
    seed = s.seed if s.temperature > 0 else None  # greedy needs no seed, and then batches with any
    jobs = []
    for i in range(s.n):
        key = BatchKey(served.name, s.temperature, s.top_k, s.top_p,
                       None if seed is None else seed + i, tools)
        jobs.append(Job(key=key, engine=served.engine, prompt=prompt, max_tokens=max_tokens,
                        decoder=OutputDecoder(tok, chat, s.stop), stop_ids=stops, events=events,
                        index=i, executor=executor))
    return jobs


# ---- responses ---------------------------------------------------------------------------------

def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(prompt_len: int, jobs: list[Job]) -> dict:
    done = sum(len(j.tokens) for j in jobs)
    return {"prompt_tokens": prompt_len * len(jobs), "completion_tokens": done,
            "total_tokens": prompt_len * len(jobs) + done}


def chat_response(rid: str, model: str, jobs: list[Job], prompt_len: int) -> dict:
    choices = []
    for j in jobs:
        msg: dict[str, Any] = {"role": "assistant", "content": j.decoder.text}
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
