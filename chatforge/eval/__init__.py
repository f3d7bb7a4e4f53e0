"""The one evaluation suite every stage calls for its figures, and the eval stage: every checkpoint of a
run through it, one table with intervals."""

from __future__ import annotations

from chatforge.core.stage import Stage
from chatforge.eval import card
from chatforge.eval.config import EvalConfig


def _run(ctx) -> dict:
    from chatforge.eval.stage import run  # noqa: PLC0415 - start-up time

    return run(ctx)


# decided by [sft] too: the suite's item count and generation settings live there
STAGE = Stage("eval", _run, config={"eval": EvalConfig}, decides=("eval", "sft"),
              needs=("world", "data", "tokenizer", "pretrain", "sft", "probe", "rl", "rm", "rlhf", "distill"),
              report=(card.section,))
