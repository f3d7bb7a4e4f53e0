"""`chatforge run`: every stage of the pipeline in order, skipping complete ones."""

from __future__ import annotations

import argparse
import time

from chatforge.core.cliutil import add_config_args, resolve
from chatforge.core.errors import UserError
from chatforge.core.log import say
from chatforge.core.rundir import run_stage, save_config


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser("run", parents=parents, help="run the whole pipeline (resumable)",
                       description="Run every stage in order under a preset. Complete stages are "
                       "skipped; an interrupted run continues when the same command is repeated.")
    add_config_args(p)
    p.add_argument("--until", default=None, help="stop after this stage")
    p.add_argument("--force", default=None, metavar="STAGE", help="re-run this stage even if complete")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    pipeline = args.pipeline
    names = pipeline.names
    for opt in ("until", "force"):
        val = getattr(args, opt)
        if val is not None and val not in names:
            raise UserError(f"--{opt} names unknown stage '{val}' (stages: {', '.join(names)}).")
    run_dir, cfg = resolve(args)
    unknown = [s for s in cfg.run.skip if s not in names]
    if unknown:
        raise UserError(f"run.skip names unknown stage '{unknown[0]}' (stages: {', '.join(names)}).")
    save_config(run_dir, cfg)
    say(f"run directory: {run_dir}  preset: {cfg.preset}  stages: {', '.join(names) or '(none)'}")
    times: list[tuple[str, str, float]] = []
    for spec in pipeline:
        t0 = time.perf_counter()
        if spec.name in cfg.run.skip:
            times.append((spec.name, "left out", 0.0))
        else:
            metrics = run_stage(pipeline, spec.name, run_dir, cfg, force=(args.force == spec.name))
            times.append((spec.name, "skipped" if metrics is None else "ran", time.perf_counter() - t0))
        if args.until == spec.name:
            break
    say("")
    say(f"{'stage':<12} {'status':<9} {'wall':>9}")
    for name, status, wall in times:
        say(f"{name:<12} {status:<9} {wall:>8.1f}s")
    say(f"{'total':<12} {'':<9} {sum(t for _, _, t in times):>8.1f}s")
    say(f"outputs: {run_dir}")
    return 0
