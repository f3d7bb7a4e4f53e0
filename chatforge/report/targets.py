"""The issues' targets that the stages do not judge themselves, for the report's verdicts.

RL, RLHF, the reward model and distillation write their own "met" into metrics.json and the
report reads it; the SFT and probe targets below are the ones their issues set (docs/sft.md's
table, docs/probe.md), and the whole run's time limit is issue 19's.
"""

from __future__ import annotations

from typing import Any, Callable

# metrics.json key -> (what it measures, the target: at least)
SFT = {
    "acc_knowledge_known_qa": ("known-qa accuracy (held-out phrasings, tools off)", 0.95),
    "acc_knowledge_bio_only": ("bio-only accuracy (facts only in pretraining)", 0.80),
    "acc_identity": ("identity answers", 1.0),
    "acc_arithmetic_calculator": ("arithmetic with the calculator", 0.98),
    "acc_letters_python": ("letter counting with python", 0.95),
    "acc_search_unknown": ("unknown people answered through search", 0.80),
    "tools_off_obedience": ("no tool call when tools are switched off", 1.0),
}


def _pct(x: Any) -> str:
    return f"{100 * x:.1f}%" if isinstance(x, (int, float)) else "—"


def _at_least(key: str, label: str, target: float) -> Callable[[dict], tuple[bool | None, str]]:
    def check(m: dict) -> tuple[bool | None, str]:
        v = m.get(key)
        if not isinstance(v, (int, float)):
            return None, f"{label}: not in the stage's metrics."
        return v >= target, f"{label}: {_pct(v)} (target at least {_pct(target)})."
    return check


def _over_refusal(m: dict) -> tuple[bool | None, str]:
    v = m.get("over_refusal")
    if not isinstance(v, (int, float)):
        return None, "over-refusal: not in the stage's metrics."
    return v <= 0.05, (f"over-refusal (known-qa answers right before, refused after): {_pct(v)} of "
                       f"{m.get('over_refusal_base')} (target at most 5%).")


def _known_kept(m: dict) -> tuple[bool | None, str]:
    before, after = (m.get("before") or {}).get("acc_knowledge_known_qa"), m.get("acc_knowledge_known_qa")
    if not isinstance(before, (int, float)) or not isinstance(after, (int, float)):
        return None, "known-qa before and after: not in the stage's metrics."
    return after >= before - 0.05, f"known-qa {_pct(before)} -> {_pct(after)} (target: drop at most 5 points)."


PROBE = (
    _at_least("acc_refusal_unknown", "refusal on unknown people", 0.90),
    _at_least("acc_refusal_invented", "refusal on invented people", 0.90),
    _over_refusal,
    _known_kept,
)

RUN_MINUTES = {"cpu": 60}  # preset -> the whole run's limit on the 2-core machine (issue 19)
