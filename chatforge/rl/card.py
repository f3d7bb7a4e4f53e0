"""RL's section of the report: pass@k curves, the table before and after, the guards' verdicts."""

from __future__ import annotations

from pathlib import Path

from chatforge.eval import keep
from chatforge.report.doc import Section
from chatforge.report.plot import line_chart
from chatforge.report.read import absent, ci, pct, read


def section(run: Path) -> Section:
    sec = Section("rl", "RL on verifiable problems: pass@k")
    m = read(run, "rl/metrics.json")
    if not isinstance(m, dict):
        return absent(sec, "rl", "chatforge rl")
    curve = [p for p in (m.get("curve") or []) if isinstance(p, dict)]
    sets = sorted({k for p in curve for k, v in p.items() if isinstance(v, dict)})
    if curve and sets:
        sec.figure(line_chart({s: [(p["step"], p[s]["pass@1"]) for p in curve if isinstance(p.get(s), dict)
                                   and "pass@1" in p[s]] for s in sets},
                              title="pass@1 during RL", x_label="step", y_label="pass@1", y_range=(0, 1)),
                   "pass@1 on the curve's problems at each evaluation step.")
        top = max((k for p in curve for s in sets if isinstance(p.get(s), dict) for k in p[s]
                   if k.startswith("pass@") and k[5:].isdigit()), key=lambda k: int(k[5:]), default=None)
        if top and top != "pass@1":
            sec.figure(line_chart({s: [(p["step"], p[s][top]) for p in curve if isinstance(p.get(s), dict)
                                       and top in p[s]] for s in sets},
                                  title=f"{top} during RL", x_label="step", y_label=top, y_range=(0, 1)),
                       f"{top}: is a right answer among {top[5:]} samples?")
    keep.card(sec, m)
    t = m.get("table") or {}
    if t:
        sec.table(["set", "pass@1 before", "after", "blind guesser", "gain"],
                  [[k, pct(r.get("before_pass@1")),
                    f"{pct(r.get('after_pass@1'))} {ci(r.get('after_pass@1_ci95'))}",
                    pct(r.get("blind_pass@1")), pct(r.get("gain"))]
                   for k, r in t.items() if isinstance(r, dict)])
        for k, r in t.items():
            if not isinstance(r, dict):
                continue
            if r.get("guard"):
                sec.verdict(bool(r.get("kept")), f"{k} (a guard: behaviour RL must keep): "
                            f"{pct(r.get('before_pass@1'))} -> "
                            f"{pct(r.get('after_pass@1'))} (kept: at least 90% of before).")
            elif r.get("signal") is False:
                sec.verdict(None, f"{k}: no signal to amplify (no group had both a right and a wrong "
                            "answer).")
            elif "met" in r:
                sec.verdict(bool(r["met"]), f"{k}: pass@1 {pct(r.get('before_pass@1'))} -> "
                            f"{pct(r.get('after_pass@1'))}"
                            f" (target: +10 points, and the interval above the blind guesser's "
                            f"{pct(r.get('blind_pass@1'))}).")
    return sec
