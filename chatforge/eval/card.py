"""The eval stage's section of the report: the table across checkpoints and its headline chart."""

from __future__ import annotations

from pathlib import Path

from chatforge.eval.table import LEGEND, cells, headers
from chatforge.report.doc import Section
from chatforge.report.plot import interval_chart
from chatforge.report.read import ci, pct, read
from chatforge.tasks import SETS


def section(run: Path) -> Section:
    sec = Section("eval", "Evaluation across stages")
    m = read(run, "eval/metrics.json")
    if not isinstance(m, dict) or not m.get("rows"):
        return sec.p(f"No evaluation table yet: `chatforge eval --run-dir {run}` measures every checkpoint "
                     "on the same items.")
    sec.table(headers(), [cells(r) for r in m["rows"]], LEGEND)
    sec.p(f"{m.get('items')} items a task set, seed {m.get('seed')}, measured {m.get('created')} "
          f"on {m.get('machine')}.")
    got = m.get("picked")
    if isinstance(got, dict) and got.get("why"):
        sec.p(f"The model `chatforge chat`, `serve` and `export` pick: **{got.get('name') or 'none'}** "
              f"({got['why']}).")
    rm = m.get("reward_model")
    if isinstance(rm, dict):
        sec.p(f"Reward model held-out pairwise accuracy: {pct(rm.get('accuracy'))} {ci(rm.get('ci95'))} "
              f"({rm.get('from')}).")
    chat = [r for r in m["rows"] if r.get("tasks")]
    pick = [t for t, ts in SETS.items() if ts.headline and any(t in r["tasks"] for r in chat)]
    if chat and pick:
        rows, colors = [], []
        for t in pick:
            for i, r in enumerate(chat):
                c = r["tasks"].get(t)
                if c:
                    rows.append((f"{SETS[t].column}: {r['name']}", c["accuracy"], *c["ci95"]))
                    colors.append(i)
        sec.figure(interval_chart(rows, title="headline task sets across checkpoints", x_range=(0, 1),
                                  x_label="accuracy, Wilson 95% interval", colors=colors),
                   "The same items for every model; one colour per checkpoint. Whiskers that overlap can "
                   "still differ for real: the table's ▲/▼ come from the paired test.")
    gold = [(r["name"], r["gold"]["mean"], *r["gold"]["ci95"]) for r in m["rows"]
            if isinstance(r.get("gold"), dict)]
    if gold:
        sec.figure(interval_chart(gold, title="gold preference score",
                                  x_label="mean gold score (0-1), 95% interval"),
                   "What the hidden labeler thinks of each chat model's answers to open-ended prompts.")
    return sec
