"""Evaluate a chat model on the world's held-out task sets, greedy, through the engine.

The task sets, their items and their checkers are the task registry's (chatforge.tasks): each
set is a list of conversations (ending with a user turn) plus a checker; the model answers each
one (running tools when the system prompt switches them on), and the checker reads the text the
assistant wrote (tool calls and results left out). Sample sizes are bounded (`items` per set, 200
on cpu: every set's items are distinct, and every accuracy comes with a Wilson 95% interval,
`ci95`, so differences inside it are not read as real).

Hallucination (`hallucination_rate`): the share of the refusal sets' answers that say something,
neither refuse nor happen to be right: confident wrong answers.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from chatforge.chat.render import assistant_text
from chatforge.chat.turns import answer_many, tools_off
from chatforge.core.device import torch_threads
from chatforge.engine import Engine
from chatforge.eval.copying import (
    GAPS,
    copy_probe,
    describe,
    passage_describe,
    passage_probe,
    passage_summary,
    summary,
)
from chatforge.eval.stats import wilson
from chatforge.tasks import SETS, build_cases, check_names
from chatforge.tools import make_executor
from chatforge.train.mfu import resolve_dtype
from chatforge.world import load_world
from chatforge.world.refusals import is_refusal


@dataclass
class SuiteSettings:
    """How much of the suite to run and how to decode it."""
    items: int = 200  # items per task set (distinct; each accuracy gets a 95% interval)
    max_new_tokens: int = 160
    batch_size: int = 16
    threads: int = 1  # torch threads while decoding (0 = leave as is): a small model decodes faster on one
    # the weights' dtype while decoding: float32, or "native" (bf16 weights where the chip has bf16
    # in hardware, train/mfu.resolve_dtype): ~1.2-1.9x the tokens/s of a 135M model on AVX512-BF16
    dtype: str = "float32"

    @classmethod
    def of(cls, section: Any) -> SuiteSettings:
        """From a config section's eval_items, eval_max_new_tokens, eval_batch_size, eval_threads
        and eval_dtype."""
        return cls(section.eval_items, section.eval_max_new_tokens, section.eval_batch_size,
                   section.eval_threads, getattr(section, "eval_dtype", "float32"))


def run_sets(generate: Callable[[list[list[dict]], bool], list[list[dict]]],
             sets: dict[str, list[dict]], log=None, keep_samples: int = 3) -> dict[str, Any]:
    """Answer every case with `generate(list of messages, tools_on) -> list of segment lists`
    and score it. Returns {"summary": {...}, "tasks": {name: {...}}}."""
    tasks: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    for name, cases in sets.items():
        ts = SETS.get(name)
        if not cases:
            continue
        t0 = time.perf_counter()
        answers: list[list[dict]] = [None] * len(cases)  # type: ignore[list-item]
        for tools in (False, True):
            idx = [i for i, c in enumerate(cases) if c["tools"] == tools]
            if idx:
                for i, segs in zip(idx, generate([cases[i]["messages"] for i in idx], tools)):
                    answers[i] = segs
        correct, called, samples, per_item = 0, 0, [], {"correct": [], "refused": [], "called": []}
        hallucinated = 0
        for c, segs in zip(cases, answers):
            text = assistant_text(segs)
            ok = bool(c["check"](c["item"], text))
            used = any(s["type"] == "tool_call" for s in segs)
            correct += ok
            called += used
            per_item["correct"].append(int(ok))
            per_item["refused"].append(int(is_refusal(text)))
            per_item["called"].append(int(used))
            if "hallucinated" in c:
                hallucinated += bool(c["hallucinated"](c["item"], text))
            if len(samples) < keep_samples or (not ok and len(samples) < 2 * keep_samples):
                samples.append({"messages": c["messages"], "answer": segs, "correct": ok})
        n = len(cases)
        lo, hi = wilson(correct, n)
        rec = {"n": n, "correct": correct, "accuracy": round(correct / n, 4),
               "ci95": [round(lo, 4), round(hi, 4)], "tool_call_rate": round(called / n, 4),
               "refusal_rate": round(sum(per_item["refused"]) / n, 4),
               "seconds": round(time.perf_counter() - t0, 1), "samples": samples, "per_item": per_item}
        if any("hallucinated" in c for c in cases):
            rec["hallucinated"] = hallucinated
        split = None if ts is not None and ts.obedience else family_split(cases, per_item["correct"])
        if split:
            rec["families"] = split
            summary[f"acc_{name}_heldout_families"] = split["held_out"]["accuracy"]
        tasks[name] = rec
        summary[f"acc_{name}"] = rec["accuracy"]
        if ts is not None and ts.obedience:
            summary[ts.metric] = round(1 - called / n, 4)
        elif ts is not None and ts.tools:
            summary[f"tool_use_{name}"] = rec["tool_call_rate"]
        if log is not None:
            log.info(f"eval {name}: {correct}/{n} = {100 * correct / n:.1f}% "
                     f"[95% CI {100 * lo:.0f}-{100 * hi:.0f}%] "
                     f"(tool calls {called}/{n}, {rec['seconds']}s)"
                     + (f"; {describe_split(split)}" if split else ""))
    hall = [tasks[k] for k, ts in SETS.items() if ts.refusal and k in tasks]
    if hall:
        h, n = sum(t["hallucinated"] for t in hall), sum(t["n"] for t in hall)
        lo, hi = wilson(h, n)
        summary["hallucination_rate"] = round(h / n, 4)
        summary["hallucination_ci95"] = [round(lo, 4), round(hi, 4)]
    for k, ts in SETS.items():
        if ts.refusal_key and k in tasks:
            summary[ts.refusal_key] = tasks[k]["refusal_rate"]
    return {"summary": summary, "tasks": tasks}


def family_split(cases: list[dict], correct: list[int]) -> dict[str, Any] | None:
    """Accuracy on the items of problem families no training data comes from (the world marks
    them `held_out_family`: arithmetic's "travel" and "ages") apart from the trained families:
    a model that learnt the templates scores high on one and low on the other. None when the set
    has no such items."""
    flags = [bool(c["item"].get("held_out_family")) for c in cases]
    if not any(flags):
        return None
    out = {}
    for key, want in (("trained", False), ("held_out", True)):
        hits = [ok for ok, f in zip(correct, flags) if f == want]
        if not hits:  # a small draw may hold none of one kind
            continue
        lo, hi = wilson(sum(hits), len(hits))
        out[key] = {"n": len(hits), "correct": sum(hits), "accuracy": round(sum(hits) / len(hits), 4),
                    "ci95": [round(lo, 4), round(hi, 4)]}
    return out


def describe_split(split: dict[str, Any]) -> str:
    return ", ".join(f"{label} {split[k]['correct']}/{split[k]['n']} = {100 * split[k]['accuracy']:.1f}%"
                     for k, label in (("trained", "trained families"), ("held_out", "held-out families"))
                     if k in split)


def generator(model, tokenizer, run_dir, max_new_tokens: int, batch_size: int):
    """generate(conversations, tools_on) with the run's real tools; with tools off, a call the
    model makes anyway gets an error result (and counts against obedience)."""
    engine = Engine(model, tokenizer)
    execute = make_executor(run_dir)

    def generate(convs: list[list[dict]], tools_on: bool) -> list[list[dict]]:
        return answer_many(engine, tokenizer, convs, executor=execute if tools_on else tools_off,
                           max_new_tokens=max_new_tokens, batch_size=batch_size)
    return generate


def decoding_copy(model, dtype: str):
    """The model to decode with: itself in float32, or a bf16 copy where `dtype` resolves to it."""
    device = next(model.parameters()).device
    if dtype == "float32" or resolve_dtype(dtype, device) == "float32":
        return model
    return copy.deepcopy(model).to(torch.bfloat16).eval()


def select(sets: dict[str, list[dict]], tasks: list[str] | None) -> dict[str, list[dict]]:
    """Only the named sets (every set when None), or one sentence for a name no set has."""
    if not tasks:
        return sets
    check_names(tasks, "tasks", list(sets))
    return {k: v for k, v in sets.items() if k in tasks}


def evaluate(model, tokenizer, run_dir: Path, settings: SuiteSettings, seed: int, log=None,
             tasks: list[str] | None = None) -> dict[str, Any]:
    """The whole suite (or some `tasks`) on a loaded chat model, with the run's real tools, then the
    copy and reading probes."""
    world = load_world(Path(run_dir) / "world")
    sets = select(build_cases(world, settings.items, seed), tasks)
    model = decoding_copy(model, settings.dtype)
    t0 = time.perf_counter()
    with torch_threads(settings.threads):
        report = run_sets(generator(model, tokenizer, run_dir, settings.max_new_tokens, settings.batch_size),
                          sets, log=log)
    # the probes are whole-row forward passes, not token-by-token decoding: every core helps them
    probe = copy_probe(model, tokenizer, (d["text"] for d in world.documents()), seed=seed, gaps=GAPS)
    reading = passage_probe(model, tokenizer, seed=seed)
    report["summary"].update(summary(probe))
    report["summary"].update(passage_summary(reading))
    report["copy_probe"] = probe
    report["reading_probe"] = reading
    if log is not None:
        log.info(f"copy probe (greedy next-token accuracy): {describe(probe)}")
        log.info(f"reading probe: {passage_describe(reading)}")
    report["summary"]["eval_seconds"] = round(time.perf_counter() - t0, 1)
    return report
