"""Black-box distillation data: the teacher rewrites every assistant turn of the conversations.

Only the teacher's text is used, the API case: it answers through chatforge's engine (with the
run's tools, so its tool calls and their results are part of what it wrote) or through any
OpenAI-compatible `/v1/chat/completions` endpoint (`chatforge serve` is one), which returns text
only. Turns are answered in order, round by round over all conversations, so a follow-up
question is asked after the teacher's own earlier answer, as in a real conversation with it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from chatforge.chat.render import assistant_text
from chatforge.chat.turns import answer_many
from chatforge.core.errors import UserError
from chatforge.engine import Engine

Answer = Callable[[list[list[dict]]], list]  # conversations -> assistant contents (segments or text)


def rewrite(convs: list[dict], answer: Answer, log=None) -> list[dict]:
    """The conversations with each assistant turn replaced by the teacher's answer to what precedes it."""
    new = [[] for _ in convs]
    pos = [0] * len(convs)
    done = [False] * len(convs)
    rnd = refused = 0
    while not all(done):
        ask = []
        for i, c in enumerate(convs):
            if done[i]:
                continue
            msgs = c["messages"]
            j = pos[i]
            while j < len(msgs) and msgs[j]["role"] != "assistant":
                new[i].append(msgs[j])
                j += 1
            if j >= len(msgs):
                done[i] = True
            else:
                ask.append(i)
                pos[i] = j + 1
        if ask:
            for i, content in zip(ask, answer([new[i] for i in ask])):
                if content is None:  # refused (e.g. longer than the teacher's context): keep what came before
                    while new[i] and new[i][-1]["role"] != "assistant":
                        new[i].pop()
                    done[i] = True
                    refused += 1
                else:
                    new[i].append({"role": "assistant", "content": content})
            rnd += 1
            if log is not None:
                log.info(f"teacher answered turn {rnd} of {len(ask)} conversations")
    if refused and log is not None:
        log.warn(f"the teacher refused {refused} turns (4xx); those conversations end before them")
    return [{"kind": c.get("kind", "?"), "messages": m} for c, m in zip(convs, new)
            if m and m[-1]["role"] == "assistant"]


def engine_teacher(model, tokenizer, execute, max_new_tokens: int, batch_size: int = 32) -> Answer:
    """Greedy answers through the engine, the run's tools run (a vocabulary without tool markers: none)."""
    engine = Engine(model, tokenizer)

    def answer(convs: list[list[dict]]) -> list:
        return answer_many(engine, tokenizer, convs, executor=execute, max_new_tokens=max_new_tokens,
                           batch_size=batch_size)
    return answer


def _flat(messages: list[dict]) -> list[dict]:
    """Messages as text for an API (an assistant's tool calls and results are not sent)."""

    return [{"role": m["role"], "content": m["content"] if isinstance(m["content"], str)
             else assistant_text(m["content"])} for m in messages]


def endpoint_teacher(url: str, model: str, max_new_tokens: int, timeout: float = 120.0,
                     parallel: int = 4) -> Answer:
    """Greedy answers from an OpenAI-compatible chat completions endpoint (text only); None for a
    conversation the endpoint refuses with a 4xx (e.g. longer than its context)."""
    base = url.rstrip("/")
    target = base if base.endswith("/chat/completions") else (
        base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions"))

    def one(messages: list[dict]) -> str:
        body = {"messages": _flat(messages), "temperature": 0, "max_tokens": max_new_tokens}
        if model:
            body["model"] = model
        req = urllib.request.Request(target, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                reply = json.loads(r.read())
            return reply["choices"][0]["message"]["content"] or ""
        except urllib.error.HTTPError as e:
            if 400 <= e.code < 500 and e.code not in (401, 403, 404):
                return None  # this conversation (too long, ...): the others go on
            raise UserError(f"the teacher endpoint {target} answered HTTP {e.code}: "
                            f"{e.read()[:200].decode(errors='replace')}") from None
        except (urllib.error.URLError, OSError) as e:
            raise UserError(f"the teacher endpoint {target} cannot be reached "
                            f"({getattr(e, 'reason', e)}).") from None
        except (ValueError, KeyError, IndexError, TypeError):
            raise UserError(f"the teacher endpoint {target} did not answer like an OpenAI chat completions "
                            "API.") from None

    def answer(convs: list[list[dict]]) -> list:
        with ThreadPoolExecutor(parallel) as pool:
            return list(pool.map(one, convs))
    return answer
