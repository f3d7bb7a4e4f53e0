"""Assistant turns through the engine: many at once (evaluation), or one streamed (chat).

Both render the conversation with `render_prompt`, let the engine generate until `<|im_end|>`
(running tools on `<|/tool_call|>`), and turn the ids back into segments with
`parse_assistant`, so what a model says here is exactly what it was trained to say.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chatforge.chat.render import (
    CALL_CLOSE,
    CALL_OPEN,
    IM_END,
    RESULT_CLOSE,
    RESULT_OPEN,
    optional_specials,
    parse_assistant,
    render_prompt,
    stop_ids,
)
from chatforge.core.device import decode_workers
from chatforge.engine import Engine, TextStream
from chatforge.engine.sampling import GREEDY, SamplingParams

Executor = Callable[[str, str], str]


def as_engine(model_or_engine, tokenizer):
    return model_or_engine if isinstance(model_or_engine, Engine) else Engine(model_or_engine, tokenizer)


def _fit(prompt: list[int], limit: int, room: int) -> list[int]:
    """Keep the prompt inside the context, dropping the oldest tokens after the first (BOS)."""
    keep = max(2, limit - room)
    return prompt if len(prompt) <= keep else prompt[:1] + prompt[len(prompt) - keep + 1:]


def answer_many(model_or_engine, tokenizer, conversations: list[list[dict]], *,
                executor: Executor | None = None, max_new_tokens: int = 256, batch_size: int = 16,
                temperature: float = 0.0, seed: int | None = 0) -> list[list[dict[str, Any]]]:
    """Greedy (by default) assistant turns for many conversations, batched."""
    return [s[0] for s in sample_many(model_or_engine, tokenizer, conversations, num_samples=1,
                                      executor=executor, max_new_tokens=max_new_tokens,
                                      batch_size=batch_size, temperature=temperature, seed=seed)]


def tools_off(tool: str, inp: str) -> str:
    """The executor when tools are switched off: a call the model makes anyway gets an error."""
    return f"error: the {tool} tool is switched off"


def complete_many(model_or_engine, tokenizer, conversations: list[list[dict]], *, num_samples: int,
                  executor: Executor | None = None, max_new_tokens: int = 256, batch_size: int = 16,
                  temperature: float = 1.0, seed: int | None = 0) -> list[tuple[list[int], list]]:
    """-> per conversation (its prompt ids, its `num_samples` engine Completions: ids, which ones
    were force-fed, finish reason). One engine call per batch of `batch_size` conversations,
    their samples sharing the prompt's prefill. RL trains on these ids; `sample_many` parses them."""
    engine = as_engine(model_or_engine, tokenizer)
    stops = stop_ids(tokenizer)
    prompts = [_fit(render_prompt(c, tokenizer), engine.max_seq_len, min(max_new_tokens, 64))
               for c in conversations]
    # batches of similar length waste less work on padding
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    starts = list(range(0, len(order), max(1, batch_size)))

    def one(b: int) -> list:
        return engine.generate([prompts[i] for i in order[b:b + batch_size]], num_samples=num_samples,
                               max_new_tokens=max_new_tokens, sampling=SamplingParams(temperature),
                               seed=None if seed is None else seed + b,  # each batch its own stream
                               stop_ids=stops, executor=executor)

    workers = min(len(starts), decode_workers(engine.device)) if seed is not None else 1
    if workers > 1:  # batches side by side on the cores (the same tokens: a seed per batch)

        with ThreadPoolExecutor(workers, thread_name_prefix="decode") as pool:
            results = list(pool.map(one, starts))
    else:
        results = [one(b) for b in starts]
    out: list[list] = [[] for _ in prompts]
    for b, comps in zip(starts, results):
        idx = order[b:b + batch_size]
        for r, c in enumerate(comps):
            out[idx[r // num_samples]].append(c)
    return list(zip(prompts, out))


def sample_many(model_or_engine, tokenizer, conversations: list[list[dict]], *, num_samples: int,
                executor: Executor | None = None, max_new_tokens: int = 256, batch_size: int = 16,
                temperature: float = 1.0, seed: int | None = 0) -> list[list[list[dict[str, Any]]]]:
    """`num_samples` assistant turns (segments) for each conversation."""
    done = complete_many(model_or_engine, tokenizer, conversations, num_samples=num_samples,
                         executor=executor, max_new_tokens=max_new_tokens, batch_size=batch_size,
                         temperature=temperature, seed=seed)
    return [[parse_assistant(c.tokens, tokenizer) for c in comps] for _, comps in done]


class _Streamer:
    """Splits one row's token stream into answer text (streamed) and tool events."""

    def __init__(self, tokenizer, on_text, on_event):
        self.tok, self.on_text, self.on_event = tokenizer, on_text, on_event
        self.text = TextStream(tokenizer)
        self.sp = optional_specials(tokenizer, (CALL_OPEN, CALL_CLOSE, RESULT_OPEN, RESULT_CLOSE))
        self.end = tokenizer.special(IM_END)
        self.state, self.buf = "text", []

    def __call__(self, row: int, tok: int, forced: bool) -> None:
        name = self.sp.get(tok)
        if tok == self.end or self.state == "done":
            self.state = "done"
        elif name in (CALL_OPEN, RESULT_OPEN):
            self._flush_text()
            self.state, self.buf = ("call" if name == CALL_OPEN else "result"), []
        elif name == CALL_CLOSE and self.state == "call":
            tool, _, inp = self.tok.decode(self.buf).partition("\n")
            if self.on_event:
                self.on_event({"type": "tool_call", "tool": tool, "input": inp})
            self.state = "text"
        elif name == RESULT_CLOSE and self.state == "result":
            if self.on_event:
                self.on_event({"type": "tool_result", "output": self.tok.decode(self.buf)})
            self.state = "text"
        elif self.state != "text":
            self.buf.append(tok)
        elif not self.tok.is_special(tok) and self.on_text:
            piece = self.text.feed(0, tok)
            if piece:
                self.on_text(piece)

    def _flush_text(self) -> None:
        tail = self.text.flush(0)
        if tail and self.on_text:
            self.on_text(tail)

    def close(self) -> None:
        self._flush_text()


def stream_turn(model_or_engine, tokenizer, messages: list[dict], *, executor: Executor | None = None,
                max_new_tokens: int = 256, sampling: SamplingParams = GREEDY, seed: int | None = None,
                on_text: Callable[[str], None] | None = None,
                on_event: Callable[[dict], None] | None = None) -> list[dict[str, Any]]:
    """One assistant turn, streamed: on_text gets answer text as it is written, on_event each
    tool_call / tool_result segment once complete. Returns the turn's segments."""
    engine = as_engine(model_or_engine, tokenizer)
    prompt = _fit(render_prompt(messages, tokenizer), engine.max_seq_len, min(max_new_tokens, 128))
    streamer = _Streamer(tokenizer, on_text, on_event)
    (comp,) = engine.generate([prompt], max_new_tokens=max_new_tokens, sampling=sampling, seed=seed,
                              stop_ids=stop_ids(tokenizer), executor=executor, on_token=streamer)
    streamer.close()
    return parse_assistant(comp.tokens, tokenizer)
