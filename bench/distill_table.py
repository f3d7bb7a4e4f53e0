"""The distill stage's comparison as a markdown table (what docs/distill.md shows).

    python bench/distill_table.py runs/distill-cpu [more run dirs: their arms are added as rows]

Reads <run>/distill/metrics.json: the teacher row, then every arm, with each task set's score
(bold where the arm keeps >= 90% of a teacher score that is >= 30%), validation loss,
parameters and decode speed (measured side by side in one process, so the ratios hold on a busy
machine).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SETS = ["knowledge_known_qa", "followup", "identity", "arithmetic", "letters", "letters_python",
        "arithmetic_calculator", "search_unknown", "tools_off", "refusal_unknown", "refusal_invented",
        "context_known"]
SHORT = {"knowledge_known_qa": "known-qa", "followup": "follow-up", "identity": "identity",
         "arithmetic": "arith.", "letters": "letters", "letters_python": "letters+py",
         "arithmetic_calculator": "arith.+calc", "search_unknown": "search", "tools_off": "tools off",
         "refusal_unknown": "refuse unknown", "refusal_invented": "refuse invented",
         "context_known": "context"}


def main(runs: list[str]) -> None:
    first = json.loads((Path(runs[0]) / "distill" / "metrics.json").read_text())
    t = first["teacher_row"]
    print("| model | params | tok/s (x teacher) | val loss | " + " | ".join(SHORT[s] for s in SETS)
          + " | target |")
    print("|---" * (len(SETS) + 5) + "|")
    print(f"| teacher | {t['params']:,} | {t['tokens_per_s']:.0f} | {t['val_loss']} | "
          + " | ".join(f"{100 * t['scores'][s]:.1f}" for s in SETS) + " | |")
    for run in runs:
        m = json.loads((Path(run) / "distill" / "metrics.json").read_text())
        for arm, r in m["table"].items():
            cells = []
            for s in SETS:
                v = r["scores"][s]
                keep = r["kept_vs_teacher"].get(s)
                cells.append(f"**{100 * v:.1f}**" if keep is not None and keep >= 0.9 else f"{100 * v:.1f}")
            below = ", ".join(SHORT.get(s, s) for s in r["sets_below_90pct"]) or "-"
            name = arm if len(runs) == 1 else f"{arm} ({Path(run).name})"
            print(f"| {name} | {r['params']:,} ({100 * r['params_vs_teacher']:.0f}%) | "
                  f"{r['tokens_per_s']:.0f} ({r['speedup']}x) | {r['val_loss']} | " + " | ".join(cells)
                  + f" | {'met' if r['met'] else 'not met: ' + below} |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["runs/distill-cpu"])
