"""Open-ended answers and the gold preference score: what a person would think of them.

The world's open-ended prompts (jokes, poems, descriptions, stories; task "open") have no right
answer; `chatforge.world.gold.gold_score` plays the human labeler, 0 to 1. A model's gold score
is the mean over the test prompts of one greedy answer each (tools off: these are writing
tasks), with a 95% interval from the spread of the scores. The arena judges its pairs on the
same answers, so the two figures agree: both read them through `cached_open_answers`, kept in
`<run>/eval/open_answers/<name>.json` by the checkpoint's sha256 (the web page's side-by-side
vote shows them too), so no answer is generated twice.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatforge.chat.render import assistant_text
from chatforge.chat.turns import answer_many, tools_off
from chatforge.core.atomic import atomic_write_json, read_json
from chatforge.eval.stats import mean_ci
from chatforge.world.gold import gold_score

ANSWERS = Path("eval") / "open_answers"


def open_prompts(world, n: int = 0) -> list[dict]:
    """The first `n` (all when 0) held-out open-ended prompts, in the world's order."""
    items = world.tasks("open", "test")
    return items[:n] if n > 0 else items


def open_answers(model, tokenizer, items: list[dict], max_new_tokens: int = 200,
                 batch_size: int = 16) -> list[str]:
    """One greedy answer (the assistant's text, tools off) per prompt, through the engine."""
    segs = answer_many(model, tokenizer, [it["messages"] for it in items], executor=tools_off,
                       max_new_tokens=max_new_tokens, batch_size=batch_size)
    return [assistant_text(s) for s in segs]


def cached_open_answers(run_dir: Path, name: str, sha: str, items: list[dict],
                        generate: Callable[[list[dict]], list[str]], fresh: bool = False) -> dict[str, Any]:
    """{"name", "sha", "answers": {prompt id: text}, "prompts": {prompt id: prompt}} with every item
    answered; `generate` is called only for the items the cache lacks (all of them when `fresh`)."""

    path = Path(run_dir) / ANSWERS / f"{name}.json"
    rec = read_json(path)
    if fresh or not (isinstance(rec, dict) and rec.get("sha") == sha
                     and isinstance(rec.get("answers"), dict)):
        rec = {"name": name, "sha": sha, "answers": {}, "prompts": {}}
    missing = [it for it in items if it["id"] not in rec["answers"]]
    if missing:
        for it, text in zip(missing, generate(missing)):
            rec["answers"][it["id"]] = text
            rec.setdefault("prompts", {})[it["id"]] = it["prompt"]
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, rec)
    return rec


def gold_summary(items: list[dict], answers: list[str]) -> dict[str, Any]:
    scores = [gold_score(it, a) for it, a in zip(items, answers)]
    m, lo, hi = mean_ci(scores)
    return {"n": len(scores), "mean": round(m, 4), "ci95": [round(lo, 4), round(hi, 4)],
            "scores": scores}
