"""The probe stage's section of the report: hallucination, refusals and their targets."""

from __future__ import annotations

from pathlib import Path

from chatforge.report.doc import Section
from chatforge.report.read import absent, ci, pct, read
from chatforge.tasks import SETS


def _at_least(metric: str, label: str, target: float, m: dict) -> tuple[bool | None, str]:
    v = m.get(metric)
    if not isinstance(v, (int, float)):
        return None, f"{label}: not in the stage's metrics."
    return v >= target, f"{label}: {pct(v)} (target at least {pct(target)})."


def _over_refusal(m: dict) -> tuple[bool | None, str]:
    v = m.get("over_refusal")
    if not isinstance(v, (int, float)):
        return None, "over-refusal: not in the stage's metrics."
    return v <= 0.05, (f"over-refusal (known-qa answers right before, refused after): {pct(v)} of "
                       f"{m.get('over_refusal_base')} (target at most 5%).")


def _known_kept(m: dict) -> tuple[bool | None, str]:
    before, after = (m.get("before") or {}).get("acc_knowledge_known_qa"), m.get("acc_knowledge_known_qa")
    if not isinstance(before, (int, float)) or not isinstance(after, (int, float)):
        return None, "known-qa before and after: not in the stage's metrics."
    return after >= before - 0.05, f"known-qa {pct(before)} -> {pct(after)} (target: drop at most 5 points)."


def verdicts(m: dict) -> list[tuple[bool | None, str]]:
    """The probe's targets: the refusal sets' (the task registry), over-refusal, known-qa kept."""
    out = [_at_least(ts.metric, ts.label, ts.target, m) for ts in SETS.values()
           if ts.target is not None and ts.judged_by == "probe"]
    return out + [_over_refusal(m), _known_kept(m)]


def section(run: Path) -> Section:
    sec = Section("probe", "Probe: hallucination and refusals")
    m = read(run, "probe/metrics.json")
    if not isinstance(m, dict):
        return absent(sec, "probe", "chatforge probe")
    t = m.get("table") or {}
    if t:
        sec.table(["task set", "n", "before", "after", "refusals before", "refusals after"],
                  [[k, r.get("n"), f"{pct(r.get('before'))} {ci(r.get('before_ci95'))}",
                    f"{pct(r.get('after'))} {ci(r.get('after_ci95'))}", pct(r.get("refusal_before")),
                    pct(r.get("refusal_after"))] for k, r in t.items() if isinstance(r, dict)])
    sec.p(f"Hallucination rate {pct(m.get('hallucination_before'))} -> {pct(m.get('hallucination_after'))} "
          f"{ci(m.get('hallucination_after_ci95'))}; over-refusal {pct(m.get('over_refusal'))} "
          f"{ci(m.get('over_refusal_ci95'))} of {m.get('over_refusal_base')} known-qa answers that were "
          "right before.")
    for met, text in verdicts(m):
        sec.verdict(met, text)
    return sec
