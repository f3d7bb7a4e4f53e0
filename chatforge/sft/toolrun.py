"""The real tools, for building the mixture and for evaluation.

Both use the run's own tools (its [tools] config and its search index in run_dir/tools), the
same executor chat and serve use, so a tool result in training reads exactly like one at
inference. Python calls start a sandboxed interpreter (~0.3 s each), so the mixture runs its
distinct tool calls once each, several at a time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

Executor = Callable[[str, str], str]


def run_executor(run_dir: str | Path | None) -> Executor:
    """The run's executor (all tools its config enables; no search without a run directory)."""
    from chatforge.tools import make_executor

    return make_executor(run_dir)


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
        from chatforge.core.failures import stop_if_systematic

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


def mixture_executor(run_dir: str | Path) -> CachedExecutor:
    return CachedExecutor(run_executor(run_dir))


def tool_calls(conv: dict) -> list[tuple[str, str]]:
    return [(s["tool"], s["input"]) for m in conv["messages"] if m["role"] == "assistant"
            and isinstance(m["content"], list) for s in m["content"] if s["type"] == "tool_call"]
