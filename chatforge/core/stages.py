"""The registry: config sections, pipeline stages in order, and CLI commands.

Each entry names a module; an entry whose module is not in this install yet is skipped, so the
pipeline grows as stages land without anyone editing a central switchboard.
Stage modules expose `run(ctx: StageContext) -> dict` (the metrics written to metrics.json).
Command modules expose `register(subparsers)` and import heavy libraries (torch) lazily, so
`chatforge --help` stays fast.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


def module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


# config section -> "module:DataclassName"
SECTIONS: dict[str, str] = {
    "world": "chatforge.world.config:WorldConfig",
    "data": "chatforge.data.config:DataConfig",
    "tokenizer": "chatforge.tokenizer.config:TokenizerConfig",
    "model": "chatforge.model.config:ModelConfig",
    "pretrain": "chatforge.pretrain.config:PretrainConfig",
    "sft": "chatforge.sft.config:SFTConfig",
    "probe": "chatforge.probe.config:ProbeConfig",
    "rl": "chatforge.rl.config:RLConfig",
    "rank": "chatforge.rlhf.config:RankConfig",
    "rm": "chatforge.rlhf.config:RMConfig",
    "rlhf": "chatforge.rlhf.config:RLHFConfig",
    "distill": "chatforge.distill.config:DistillConfig",
    "eval": "chatforge.eval.config:EvalConfig",
    "tools": "chatforge.tools.config:ToolsConfig",
    "serve": "chatforge.serve.config:ServeConfig",
}


@dataclass(frozen=True)
class StageSpec:
    name: str  # also the subdirectory of the run directory
    module: str  # provides run(ctx) -> dict
    sections: tuple[str, ...]  # config sections whose values decide whether outputs are stale
    deps: tuple[str, ...]  # stages whose outputs this one reads

    def exists(self) -> bool:
        return module_exists(self.module)


# Pipeline order.
STAGES: list[StageSpec] = [
    StageSpec("world", "chatforge.world.stage", ("world",), ()),
    StageSpec("data", "chatforge.data.stage", ("data",), ("world",)),
    StageSpec("tokenizer", "chatforge.tokenizer.stage", ("tokenizer",), ("data",)),
    StageSpec("pretrain", "chatforge.pretrain.stage", ("model", "pretrain"), ("data", "tokenizer")),
    StageSpec("tools", "chatforge.tools.stage", ("tools",), ("world", "data")),
    StageSpec("sft", "chatforge.sft.stage", ("sft",), ("world", "pretrain", "tools")),
    StageSpec("probe", "chatforge.probe.stage", ("probe",), ("world", "sft", "tools")),
    StageSpec("rl", "chatforge.rl.stage", ("rl",), ("world", "sft", "probe", "tools")),
    StageSpec("rank", "chatforge.rlhf.rank", ("rank",), ("world", "rl")),
    StageSpec("rm", "chatforge.rlhf.rm", ("rm",), ("world", "sft", "rank")),
    StageSpec("rlhf", "chatforge.rlhf.stage", ("rlhf",), ("world", "sft", "rl", "rm")),
    StageSpec("distill", "chatforge.distill.stage", ("distill",),
              ("world", "data", "tokenizer", "sft", "tools", "rl", "rlhf")),  # teacher: the most refined
    StageSpec("eval", "chatforge.eval.stage", ("eval", "sft"),  # sft: eval_items, the suite's settings
              ("world", "data", "tokenizer", "pretrain", "sft", "probe", "rl", "rm", "rlhf", "distill")),
    StageSpec("report", "chatforge.report.stage", (), ("eval",)),  # renders whatever the run holds
]

# CLI commands, in --help order: command name -> module with register(subparsers).
COMMANDS: list[str] = [
    "chatforge.core.runner",
    "chatforge.core.doctor",
    "chatforge.world.cli",
    "chatforge.data.cli",
    "chatforge.tokenizer.cli",
    "chatforge.pretrain.cli",
    "chatforge.pretrain.sample_cli",
    "chatforge.sft.cli",
    "chatforge.probe.cli",
    "chatforge.rl.cli",
    "chatforge.rlhf.cli",
    "chatforge.distill.cli",
    "chatforge.chat.cli",
    "chatforge.eval.cli",
    "chatforge.arena.cli",
    "chatforge.report.cli",
    "chatforge.tools.cli",
    "chatforge.serve.cli",
    "chatforge.export.cli",
    "chatforge.importer.cli",
]


def stage(name: str) -> StageSpec:
    for s in STAGES:
        if s.name == name:
            return s
    raise KeyError(name)


def built_stages() -> list[StageSpec]:
    return [s for s in STAGES if s.exists()]
