"""Distillation: a small, fast student learns from a chat model (white-box logits, black-box text,
on-policy)."""

from __future__ import annotations

from chatforge.core.stage import Stage
from chatforge.distill import card
from chatforge.distill.config import DistillConfig
from chatforge.tools.checks import sampling_checks


def _run(ctx) -> dict:
    from chatforge.distill.stage import run  # noqa: PLC0415 - start-up time

    return run(ctx)


# the teacher is the most refined chat model of the run: it reads rl's and rlhf's
STAGE = Stage("distill", _run, config={"distill": DistillConfig},
              needs=("world", "data", "tokenizer", "sft", "tools", "rl", "rlhf"), checks=sampling_checks,
              report=(card.section,))
