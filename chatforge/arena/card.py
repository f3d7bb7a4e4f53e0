"""The arena's section of the report: Bradley-Terry ratings with intervals."""

from __future__ import annotations

from pathlib import Path

from chatforge.report.doc import Section
from chatforge.report.plot import interval_chart
from chatforge.report.read import pct, read


def section(run: Path) -> Section:
    sec = Section("arena", "Arena: pairwise ratings")
    st = read(run, "arena/ratings.json")
    if not isinstance(st, dict) or not st.get("ratings"):
        return sec.p(f"No arena yet: `chatforge arena --run-dir {run}` pits the chat models "
                     "against each other.")
    rows = sorted(st["ratings"].items(), key=lambda kv: -kv[1]["rating"])
    judges = ", ".join(f"{j}: {b.get('votes')}" for j, b in (st.get("by_judge") or {}).items())
    sec.table(["model", "rating", "95% interval", "votes", "won", "lost", "tied"],
              [[n, f"{r['rating']:.0f}", f"{r['ci95'][0]:.0f}-{r['ci95'][1]:.0f}", r["votes"], r["wins"],
                r["losses"], r["ties"]] for n, r in rows],
              f"Bradley-Terry over {st.get('votes')} votes on {st.get('prompts')} open-ended prompts "
              f"({judges}); "
              "Elo scale, mean 1000, +100 = preferred 64% of the time; bootstrap 95% intervals. "
              "These models, these prompts, this judge: no more.")
    a = st.get("people_vs_gold")
    if isinstance(a, dict) and a.get("votes"):
        sec.p(f"People agree with the gold judge on {a.get('agree')} of {a.get('votes')} pairs both judged "
              f"({pct(a.get('rate'), 0)}).")
    sec.figure(interval_chart([(n, r["rating"], *r["ci95"]) for n, r in rows], title="arena ratings",
                              x_label="rating (Elo scale), 95% bootstrap interval", ref=1000),
               "Overlapping intervals: the order between those models is not settled by these votes.")
    return sec
