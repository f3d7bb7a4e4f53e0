"""What RL's two methods (GRPO, RFT) work with, in one object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatforge.core.rundir import StageContext
from chatforge.rl.config import RLConfig
from chatforge.tools.training import CachedExecutor
from chatforge.train.dist import DistInfo


@dataclass
class Practice:
    """What both methods work with: the policy, the problems, the run's tools and where to write."""
    ctx: StageContext
    cfg: RLConfig
    model: Any
    tokenizer: Any
    tok_dir: Path
    world: Any
    pool: list[dict]  # the train problems of every practised set
    execute: CachedExecutor
    dist: DistInfo
    seed: int
    meta: dict  # written into every checkpoint
    curve_point: Callable[[int], None]  # pass@k on the curve's problems after step (round) n
