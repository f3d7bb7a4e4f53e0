"""The eval table: one row per checkpoint, each figure with its 95% interval, changes tested.

`rows(records)` turns the per-checkpoint records of `board.evaluate_checkpoint` into the rows
that `eval/metrics.json` stores and the report renders; `markdown(rows)` is the table printed
and written to `eval/table.md`. A task cell reads `36.5 [30-43]` (accuracy %, Wilson interval);
▲/▼ mark a change from the chat row above that an exact McNemar test on the shared items finds
real (p < 0.05); no mark means the difference may be noise.
"""

from __future__ import annotations

from typing import Any

from chatforge.eval.stats import mcnemar, wilson
from chatforge.tasks import SETS

P_REAL = 0.05


def rows(records: list[dict]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    prev: dict | None = None  # the last chat row: what a change is measured against
    for r in records:
        sm = r.get("summary", {})
        row: dict[str, Any] = {
            "name": r["name"], "kind": r["kind"], "checkpoint": r["checkpoint"], "step": r.get("step"),
            "val_bpb": r.get("val_bpb"), "val_bpb_se": r.get("val_bpb_se"),
            "copy_far": sm.get("copy_repeat_far"), "copy_far_distance": sm.get("copy_far_distance"),
            "copy_by_distance": sm.get("copy_by_distance"), "copy_first_pass": sm.get("copy_first_pass"),
            "source": r.get("source", {}), "cached": bool(r.get("cached")), "seconds": r.get("seconds"),
            "tasks": {},
        }
        if "gold" in r:
            row["gold"] = {k: r["gold"][k] for k in ("mean", "ci95", "n")}
        if "hallucination_rate" in sm:
            row["hallucination"] = {"rate": sm["hallucination_rate"], "ci95": sm.get("hallucination_ci95")}
        for task, ts in SETS.items():
            t = r.get("tasks", {}).get(task)
            if not t:
                continue
            cell = {"accuracy": t["accuracy"], "ci95": t["ci95"], "n": t["n"], "correct": t["correct"]}
            if "families" in t:  # trained problem families and held-out ones, scored apart
                cell["families"] = t["families"]
            if ts.obedience:  # the column is obedience: answers without a tool call
                k = round(t["n"] * (1 - t["tool_call_rate"]))
                cell.update(accuracy=round(k / t["n"], 4), correct=k,
                            ci95=[round(x, 4) for x in wilson(k, t["n"])])
            before = prev.get("tasks", {}).get(task) if prev else None
            a, b = (before or {}).get("per_item", {}).get("correct"), t.get("per_item", {}).get("correct")
            if not ts.obedience and a is not None and b is not None and len(a) == len(b):
                p = mcnemar(a, b)
                cell["vs_prev"] = {"name": prev["name"], "p": round(p, 4),
                                   "change": (("up" if sum(b) > sum(a) else "down") if p < P_REAL else None)}
            row["tasks"][task] = cell
        out.append(row)
        if r["kind"] == "chat":
            prev = r
    return out


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def task_cell(cell: dict | None) -> str:
    if not cell:
        return "—"
    lo, hi = cell["ci95"]
    mark = {"up": " ▲", "down": " ▼"}.get((cell.get("vs_prev") or {}).get("change"), "")
    return f"{_pct(cell['accuracy'])} [{100 * lo:.0f}-{100 * hi:.0f}]{mark}"


def headers() -> list[str]:
    return ["checkpoint", "val bpb", "copy far", *[ts.column for ts in SETS.values()], "hallucination",
            "gold score"]


def cells(row: dict) -> list[str]:
    bpb = "—" if row.get("val_bpb") is None else (
        f"{row['val_bpb']:.3f}"
        + (f" ± {row['val_bpb_se']:.3f}" if row.get("val_bpb_se") is not None else ""))
    copy = "—" if row.get("copy_far") is None else f"{row['copy_far']:.2f}"
    h = row.get("hallucination")
    hall = "—" if not h else f"{_pct(h['rate'])} [{100 * h['ci95'][0]:.0f}-{100 * h['ci95'][1]:.0f}]"
    g = row.get("gold")
    gold = "—" if not g else f"{g['mean']:.3f} [{g['ci95'][0]:.2f}-{g['ci95'][1]:.2f}]"
    name = row["name"] + (" (base)" if row["kind"] == "base" else "")
    return [name, bpb, copy, *[task_cell(row["tasks"].get(t)) for t in SETS], hall, gold]


def markdown(table_rows: list[dict]) -> str:
    head = headers()
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cells(r)) + " |" for r in table_rows]
    return "\n".join(lines) + "\n"


LEGEND = ("Accuracy % on the same items for every chat model [Wilson 95% interval]; ▲/▼: a change from "
          "the chat row above that an exact McNemar test on the shared items finds real (p < 0.05). "
          "val bpb: bits per byte on the pretrain split (± standard error). copy far: copy-probe next-token "
          "accuracy on a repeat far back in the context. no-tools obeyed: share of answers without a tool "
          "call under 'Tools: none.'. hallucination: confident wrong answers about unknown and invented "
          "people. gold score: mean gold preference score (0-1) of greedy answers to open-ended prompts.")


def transposed(table_rows: list[dict]) -> str:
    """The same cells turned on their side for a terminal: a line per measure, a column per
    checkpoint (19 columns do not fit a terminal line; 4-7 checkpoints do)."""
    head = headers()
    cols = [cells(r) for r in table_rows]
    width = [max(len(h) for h in head)] + [max(len(c[i]) for i in range(len(head))) for c in cols]
    lines = []
    for i, h in enumerate(head):
        parts = [h.ljust(width[0])] + [c[i].rjust(w) for c, w in zip(cols, width[1:])]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines) + "\n"
