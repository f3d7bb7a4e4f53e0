"""Reinforcement learning on verifiable problems: `chatforge rl --method rft|grpo`."""

from __future__ import annotations

from chatforge.core.stage import Stage
from chatforge.rl import card
from chatforge.rl.config import RLConfig
from chatforge.tools.checks import sampling_checks


def _run(ctx) -> dict:
    from chatforge.rl.stage import run  # noqa: PLC0415 - start-up time

    return run(ctx)


STAGE = Stage("rl", _run, config={"rl": RLConfig}, needs=("world", "sft", "probe", "tools"),
              checks=sampling_checks, report=(card.section,))
