"""The pipeline: every stage in order, as each stage package declares itself.

`chatforge run` runs these in order; `chatforge doctor` runs their dependency checks; the report
card renders their sections (and the arena's, a command rather than a stage). The config of a
run has one section per section the stages and commands own. Adding a stage is one declaration
in its package (its `STAGE`) and one line here.
"""

from __future__ import annotations

from typing import Any

import chatforge.eval as evaluation
from chatforge import data, distill, importer, pretrain, probe, report, rl, rlhf, sft, tokenizer, tools, world
from chatforge.arena import card as arena_card
from chatforge.core import config
from chatforge.core.config import Config
from chatforge.core.stage import Pipeline
from chatforge.export.checks import checks as export_checks
from chatforge.serve.config import ServeConfig
from chatforge.tokenizer.checks import CL100K

PIPELINE = Pipeline(
    (world.STAGE, data.STAGE, importer.STAGE, tokenizer.STAGE, pretrain.STAGE, tools.STAGE, sft.STAGE,
     probe.STAGE, rl.STAGE, *rlhf.STAGES, distill.STAGE, evaluation.STAGE, report.STAGE),
    sections={"serve": ServeConfig},
    reports=(arena_card.section,),
    # commands that are not stages; serve's token view needs cl100k (serving works without it)
    checks={"export": export_checks, "serve": lambda cfg=None: [CL100K]},
)


def load_config(preset: str | None = None, overrides: list[str] | None = None,
                saved: dict[str, Any] | None = None) -> Config:
    """A run's config with every section of the pipeline: a preset (default 'cpu') or a saved run
    config, then `section.key=value` overrides."""
    return config.load_config(preset, overrides, saved, sections=PIPELINE.sections)
