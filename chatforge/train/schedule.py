"""Learning-rate schedule: linear warmup, a flat stretch, then a decay to a floor.

This is the warmup-stable-decay ("trapezoid") shape: it trains as well as cosine for a fixed
budget and, unlike cosine, lets a run be extended from any checkpoint taken before the decay.
`decay_frac=1.0, shape="cosine"` gives the classic warmup + cosine schedule.
"""

from __future__ import annotations

import math


def lr_multiplier(step: int, total_steps: int, warmup_steps: int = 0, decay_frac: float = 0.3,
                  final_frac: float = 0.1, shape: str = "linear") -> float:
    """Multiplier in (0, 1] applied to every group's base learning rate at optimizer step `step`
    (0-based: the first update uses step 0)."""
    if shape not in ("linear", "cosine"):
        raise ValueError(f"unknown decay shape {shape!r}")
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, round(decay_frac * total_steps)) if decay_frac > 0 else 0
    decay_start = max(warmup_steps, total_steps - decay_steps)
    if decay_steps == 0 or step < decay_start:
        return 1.0
    span = max(1, total_steps - decay_start)
    progress = min(1.0, (step - decay_start + 1) / span)
    if shape == "cosine":
        progress = 0.5 * (1.0 - math.cos(math.pi * progress))
    return 1.0 - (1.0 - final_frac) * progress
