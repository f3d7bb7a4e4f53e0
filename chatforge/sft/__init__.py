"""Supervised fine-tuning: the world's task sets as a conversation mixture, on the post-training floor."""

from __future__ import annotations

from chatforge.core.stage import Stage
from chatforge.sft import card
from chatforge.sft.config import SFTConfig
from chatforge.tools.checks import sampling_checks


def _run(ctx) -> dict:
    from chatforge.sft.stage import run  # noqa: PLC0415 - start-up time

    return run(ctx)


STAGE = Stage("sft", _run, config={"sft": SFTConfig}, needs=("world", "import", "pretrain", "tools"),
              checks=sampling_checks, report=(card.losses, card.targets))
