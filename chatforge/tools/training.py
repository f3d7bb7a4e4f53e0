"""The real tools, run for training data: the SFT mixture, the probe's dataset, RL's replay.

Training conversations carry tool results produced by the run's own tools (its [tools] config and
its search index), the same executor chat and serve use, so a tool result in training reads
exactly like one at inference. Each Python call starts a sandboxed interpreter, the slow part, so
each distinct call runs once, several at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from chatforge.core.failures import stop_if_systematic
from chatforge.tools.registry import make_executor

Executor = Callable[[str, str], str]


class CachedExecutor:
    """An executor that runs each distinct (tool, input) once; `prefetch` runs many in parallel."""

    def __init__(self, inner: Executor, threads: int = 8):
        self.inner, self.threads = inner, threads
        self.cache: dict[tuple[str, str], str] = {}

    def __call__(self, tool: str, inp: str) -> str:
        key = (tool, inp)
        if key not in self.cache:
            self.cache[key] = self.inner(tool, inp)
        return self.cache[key]

    def stop_if_broken(self, stage: str = "sft") -> None:
        """A tool whose every call (or most) came back as an error is a broken setup (a sandbox
        that cannot start, a missing index): training on those results would teach the model
        that tools fail. Stop with the first error instead."""
        for tool in sorted({t for t, _ in self.cache}):
            results = [(inp, out) for (t, inp), out in self.cache.items() if t == tool]
            errs = [(inp, out) for inp, out in results if _is_error(out)]
            first = {f"{tool} error": f"{errs[0][0][:60]!r} -> {errs[0][1][:200]!r}"} if errs else {}
            stop_if_systematic(stage, f"{tool} calls while building the mixture", len(results),
                               {f"{tool} error": len(errs)}, first)

    def prefetch(self, calls: list[tuple[str, str]]) -> None:
        todo = sorted({c for c in calls if c not in self.cache})
        if not todo:
            return
        with ThreadPoolExecutor(self.threads) as pool:
            for key, out in zip(todo, pool.map(lambda c: self.inner(*c), todo)):
                self.cache[key] = out


def _is_error(result: str) -> bool:
    return result.startswith("Error: ") or "\nError: " in result


def training_executor(run_dir: str | Path) -> CachedExecutor:
    """The run's tools, each distinct call run once."""
    return CachedExecutor(make_executor(run_dir))


def tool_calls(conv: dict) -> list[tuple[str, str]]:
    return [(s["tool"], s["input"]) for m in conv["messages"] if m["role"] == "assistant"
            and isinstance(m["content"], list) for s in m["content"] if s["type"] == "tool_call"]


def retool(conv: dict, execute: Executor) -> dict:
    """Replace every tool_result with the output of really running the call before it."""
    msgs = []
    for m in conv["messages"]:
        if m["role"] == "assistant" and isinstance(m["content"], list):
            segs, last = [], None
            for s in m["content"]:
                if s["type"] == "tool_call":
                    last = s
                elif s["type"] == "tool_result" and last is not None:
                    s = {"type": "tool_result", "output": execute(last["tool"], last["input"])}
                segs.append(dict(s))
            m = {"role": "assistant", "content": segs}
        msgs.append(dict(m))
    return {**conv, "messages": msgs}
