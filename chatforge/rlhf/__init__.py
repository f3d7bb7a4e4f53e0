"""RLHF: rankings of sampled answers, a reward model, RL against it, and reward hacking caught."""

from __future__ import annotations

from chatforge.core.deps import TORCH, Check
from chatforge.core.stage import Stage
from chatforge.rlhf import card
from chatforge.rlhf.config import RankConfig, RLHFConfig, RMConfig


def _rank(ctx) -> dict:
    from chatforge.rlhf.rank import run  # noqa: PLC0415 - start-up time

    return run(ctx)


def _rm(ctx) -> dict:
    from chatforge.rlhf.rm import run  # noqa: PLC0415 - start-up time

    return run(ctx)


def _rlhf(ctx) -> dict:
    from chatforge.rlhf.stage import run  # noqa: PLC0415 - start-up time

    return run(ctx)


def checks(cfg=None) -> list[Check]:
    return [TORCH]  # open-ended prompts: no tools


RANK = Stage("rank", _rank, config={"rank": RankConfig}, needs=("world", "rl"), checks=checks)
RM = Stage("rm", _rm, config={"rm": RMConfig}, needs=("world", "sft", "rank"), checks=checks)
RLHF = Stage("rlhf", _rlhf, config={"rlhf": RLHFConfig}, needs=("world", "sft", "rl", "rm"), checks=checks,
             report=(card.section,))
STAGES = (RANK, RM, RLHF)
