"""Pretraining: token shards from the data stage's documents, then the training core."""

from __future__ import annotations

from chatforge.core.deps import TORCH, Check, imports
from chatforge.core.stage import Stage
from chatforge.model.config import ModelConfig
from chatforge.pretrain import card
from chatforge.pretrain.config import PretrainConfig


def _run(ctx) -> dict:
    from chatforge.pretrain.stage import run  # noqa: PLC0415 - start-up time

    return run(ctx)


def checks(cfg=None) -> list[Check]:
    return [TORCH, Check("numpy", "numpy", imports("numpy"))]


STAGE = Stage("pretrain", _run, config={"model": ModelConfig, "pretrain": PretrainConfig},
              needs=("data", "import", "tokenizer"), checks=checks, report=(card.losses, card.samples))
