"""Distillation's section of the report: students against the teacher."""

from __future__ import annotations

from pathlib import Path

from chatforge.eval import keep
from chatforge.report.doc import Section
from chatforge.report.read import absent, pct, read


def section(run: Path) -> Section:
    sec = Section("distill", "Distillation: students against the teacher")
    m = read(run, "distill/metrics.json")
    if not isinstance(m, dict):
        return absent(sec, "distill", "chatforge distill")
    t = m.get("table") or {}
    teacher = m.get("teacher_row") or {}
    sets = sorted({k for r in t.values() if isinstance(r, dict) for k in (r.get("scores") or {})})
    rows = []
    if teacher:
        rows.append(["teacher", f"{teacher.get('params', 0):,}", "1.0x", teacher.get("val_loss"),
                     *[pct((teacher.get("scores") or {}).get(s), 0) for s in sets], ""])
    for arm, r in t.items():
        if isinstance(r, dict):
            rows.append([arm, f"{r.get('params', 0):,}", f"{r.get('speedup')}x", r.get("val_loss"),
                         *[pct((r.get("scores") or {}).get(s), 0) for s in sets],
                         "met" if r.get("met") else "missed"])
    if rows:
        sec.table(["model", "params", "decode speed", "val loss", *sets, "target"], rows,
                  "Target: at most 1/4 of the teacher's parameters, at least 2x its decode speed, and at "
                  "least 90% of its score on every set where it scores 30% or more.")
    keep.card(sec, m)
    for arm, r in t.items():
        if isinstance(r, dict) and "met" in r:
            below = ", ".join(r.get("sets_below_90pct") or []) or "none"
            sec.verdict(bool(r["met"]), f"student `{arm}`: {pct(r.get('params_vs_teacher'), 0)} of the "
                        f"teacher's parameters, {r.get('speedup')}x decode speed, below 90% of the teacher "
                        f"on: {below}.")
    return sec
