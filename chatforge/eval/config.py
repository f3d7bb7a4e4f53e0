"""The `[eval]` config section: what the pipeline's eval stage measures (`chatforge eval` too)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EvalConfig:
    items: int = 0  # items per task set; 0 = the run's sft.eval_items (the stages' own evaluations)
    tasks: list[str] = field(default_factory=list)  # task sets to run; empty = every set
