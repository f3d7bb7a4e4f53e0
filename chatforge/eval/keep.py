"""Does a stage keep the suite? A later model against the one it started from, set by set.

RL, RLHF and distillation each change a chat model for one purpose (a practised skill, a
preference, a smaller copy). None of them may quietly break what came before: at the end of
the stage its model and the model it started from are compared on the evaluation suite's
items, and a set *falls* when the new model gets fewer items right and an exact McNemar test on
the items they disagree on calls the difference real (p < 0.05; the tools-off set counts answers
without a tool call). The verdict, `<stage>/keep.json`, is what `chat`, `serve`, `export` and
distillation's teacher read (chatforge.engine.source.pick): a stage whose model lets a set fall,
or whose starting model did, is left aside for the best model that keeps the suite.

    {"against": "probe", "kept": false, "fallen": [{"set", "before", "after", "n", "p"}],
     "risen": [...], "compared": [set names], "unpaired": [set names without per-item results]}
"""

from __future__ import annotations

from typing import Any

from chatforge.core.atomic import atomic_write_json
from chatforge.core.verdict import VERDICT, describe
from chatforge.eval.stats import mcnemar
from chatforge.tasks import SETS

P_REAL = 0.05


def item_scores(task: dict, obedience: bool) -> list[int] | None:
    """Per item, 1 where the model did what the set asks (the tools-off set: answered without a
    tool call); None when the report kept no per-item results."""
    per = task.get("per_item") or {}
    if obedience:
        called = per.get("called")
        return None if called is None else [1 - int(c) for c in called]
    return per.get("correct")


def verdict(before: dict, after: dict, against: str) -> dict[str, Any]:
    """Compare two suite reports on the sets both measured, item by item."""
    fallen, risen, compared, unpaired = [], [], [], []
    for name, ts in SETS.items():
        b, a = before.get("tasks", {}).get(name), after.get("tasks", {}).get(name)
        if not b or not a:
            continue
        x, y = item_scores(b, ts.obedience), item_scores(a, ts.obedience)
        if x is None or y is None or len(x) != len(y) or not x:
            unpaired.append(name)
            continue
        p = mcnemar(x, y)
        row = {"set": name, "before": round(sum(x) / len(x), 4), "after": round(sum(y) / len(y), 4),
               "n": len(x), "p": round(p, 4)}
        compared.append(name)
        if p < P_REAL:
            (fallen if sum(y) < sum(x) else risen).append(row)
    # nothing compared (no per-item results) is not evidence that the model keeps the suite
    return {"against": against, "kept": bool(compared) and not fallen, "fallen": fallen, "risen": risen,
            "compared": compared, "unpaired": unpaired, "p_real": P_REAL}


def gate(ctx, against: str, before: dict, after: dict) -> dict[str, Any]:
    """Write `<stage>/keep.json` for the stage's model against `against`'s, and log it."""
    v = verdict(before, after, against)
    atomic_write_json(ctx.out / VERDICT, v)
    ctx.log.info(f"{ctx.name} {describe(v)}")
    return v


def card(sec, metrics: dict) -> None:
    """The verdict as a line of a stage's report section (RL, RLHF, distillation)."""
    v = metrics.get("keep")
    if isinstance(v, dict) and isinstance(v.get("kept"), bool) and "compared" in v:
        sec.verdict(v["kept"], f"the evaluation suite, set by set (McNemar on the same items): this "
                    f"stage's model {describe(v)}.")
