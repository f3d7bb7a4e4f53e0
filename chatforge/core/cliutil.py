"""Arguments and config resolution shared by every command that works on a run directory."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from chatforge.core.config import Config, load_config
from chatforge.core.device import apply_threads
from chatforge.core.rundir import check_deps, run_stage, save_config, saved_config, validate_run_dir


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
    run_dir = args.run_dir
    if run_dir is None:
        run_dir = Path("runs") / (args.preset or "cpu")
    run_dir = validate_run_dir(run_dir)
    saved = saved_config(run_dir) if args.preset is None else None
    cfg = load_config(args.preset, args.overrides, saved=saved)
    apply_threads(cfg.run.threads)
    return run_dir, cfg


def add_stage_args(p: argparse.ArgumentParser) -> None:
    add_config_args(p)
    p.add_argument("--force", action="store_true", help="re-run even if the stage is complete")


def stage_main(name: str, args: argparse.Namespace, extra: dict[str, Any] | None = None) -> int:
    """Resolve config, save it into the run directory, and run one stage under the protocol."""
    from chatforge.core.deps import require
    from chatforge.core.rundir import is_complete
    from chatforge.core.stages import stage as stage_spec

    run_dir, cfg = resolve(args)
    check_deps(name, run_dir, cfg)  # before anything is written: a failed command leaves no trace
    if getattr(args, "force", False) or not is_complete(stage_spec(name), run_dir, cfg):
        require(name, cfg)  # the packages the stage needs load and work
    save_config(run_dir, cfg)
    run_stage(name, run_dir, cfg, force=getattr(args, "force", False), extra=extra)
    return 0
