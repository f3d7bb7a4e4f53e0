"""Open-ended answers and the gold preference score: what a person would think of them.

The world's open-ended prompts (jokes, poems, descriptions, stories; task "open") have no right
answer; `chatforge.world.gold.gold_score` plays the human labeler, 0 to 1. A model's gold score
is the mean over the test prompts of one greedy answer each (tools off: these are writing
tasks), with a 95% interval from the spread of the scores. The arena judges its pairs on the
same answers, so the two figures agree.
"""

from __future__ import annotations

from typing import Any


def open_prompts(world, n: int = 0) -> list[dict]:
    """The first `n` (all when 0) held-out open-ended prompts, in the world's order."""
    items = world.tasks("open", "test")
    return items[:n] if n > 0 else items


def open_answers(model, tokenizer, items: list[dict], max_new_tokens: int = 200,
                 batch_size: int = 16) -> list[str]:
    """One greedy answer (the assistant's text, tools off) per prompt, through the engine."""
    from chatforge.chat.render import assistant_text
    from chatforge.chat.turns import answer_many, tools_off

    segs = answer_many(model, tokenizer, [it["messages"] for it in items], executor=tools_off,
                       max_new_tokens=max_new_tokens, batch_size=batch_size)
    return [assistant_text(s) for s in segs]


def gold_summary(items: list[dict], answers: list[str]) -> dict[str, Any]:
    from chatforge.eval.stats import mean_ci
    from chatforge.world.gold import gold_score

    scores = [gold_score(it, a) for it, a in zip(items, answers)]
    m, lo, hi = mean_ci(scores)
    return {"n": len(scores), "mean": round(m, 4), "ci95": [round(lo, 4), round(hi, 4)],
            "scores": scores}
