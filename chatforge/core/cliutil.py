"""Arguments and config resolution shared by every command that works on a run directory.

`chatforge.cli` gives every command the pipeline it runs in as `args.pipeline` (its stages and
the config sections they own); these helpers read it from there.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from chatforge.core.config import Config, load_config
from chatforge.core.deps import require
from chatforge.core.rundir import (
    check_deps,
    is_complete,
    run_stage,
    save_config,
    saved_config,
    validate_run_dir,
)


def add_config_args(p: argparse.ArgumentParser, run_dir_help: str | None = None) -> None:
    p.add_argument("--run-dir", type=Path, default=None,
                   help=run_dir_help or "run directory (default: runs/<preset>)")
    p.add_argument("--preset", default=None,
                   help="config preset: smoke, cpu, ... (default: the run's saved config, else cpu)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one config value; repeatable")


def resolve(args: argparse.Namespace) -> tuple[Path, Config]:
    """Run directory and config from --run-dir / --preset / --set, with the run's saved config
    used when no preset is named."""
    from chatforge.core.device import apply_threads  # noqa: PLC0415 - torch: start-up time
    run_dir = args.run_dir
    if run_dir is None:
        run_dir = Path("runs") / (args.preset or "cpu")
    run_dir = validate_run_dir(run_dir)
    saved = saved_config(run_dir) if args.preset is None else None
    cfg = load_config(args.preset, args.overrides, saved=saved, sections=args.pipeline.sections)
    apply_threads(cfg.run.threads)
    return run_dir, cfg


def config_of(args: argparse.Namespace, preset: str | None = None, saved: dict | None = None) -> Config:
    """The config a command without a run directory of its own works with: `preset` (or
    --preset), else `saved`, then --set overrides."""
    return load_config(preset or getattr(args, "preset", None), getattr(args, "overrides", None) or [],
                       saved=saved, sections=args.pipeline.sections)


def add_stage_args(p: argparse.ArgumentParser) -> None:
    add_config_args(p)
    p.add_argument("--force", action="store_true", help="re-run even if the stage is complete")


def stage_main(name: str, args: argparse.Namespace, extra: dict[str, Any] | None = None) -> int:
    """Resolve config, save it into the run directory, and run one stage under the protocol."""
    pipeline = args.pipeline
    spec = pipeline.stage(name)
    run_dir, cfg = resolve(args)
    check_deps(pipeline, spec, run_dir, cfg)  # before anything is written: a failed command leaves no trace
    if getattr(args, "force", False) or not is_complete(pipeline, spec, run_dir, cfg):
        require(name, spec.checks(cfg))  # the packages the stage needs load and work
    save_config(run_dir, cfg)
    run_stage(pipeline, name, run_dir, cfg, force=getattr(args, "force", False), extra=extra)
    return 0
