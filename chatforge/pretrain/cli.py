"""`chatforge pretrain`: train the base model (also under `torchrun --nproc_per_node=N`)."""

from __future__ import annotations

import argparse
import os

from chatforge.core.atomic import read_json
from chatforge.core.cliutil import add_stage_args, resolve, stage_main
from chatforge.core.errors import UserError
from chatforge.core.log import Logger
from chatforge.core.rundir import STARTED, StageContext, is_complete, stage_hashes


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser(
        "pretrain", parents=parents, help="pretrain the base model on the run's documents",
        description="Tokenize the data stage's documents into shards and train the base model, "
        "printing samples from fixed prompts as it learns. An interrupted run continues exactly "
        "where its last checkpoint left off when the same command is repeated (or with --resume). "
        "Under `torchrun --nproc_per_node=N -m chatforge pretrain ...` it trains data-parallel.")
    add_stage_args(p)
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run (the default when one is found; kept for clarity)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from chatforge.train.dist import env_rank, env_world_size, teardown  # noqa: PLC0415 - torch: start-up time

    if getattr(args, "resume", False):
        _check_resumable(args)
    try:
        if env_world_size() > 1 and env_rank() != 0:
            return _follower(args)
        return stage_main("pretrain", args)
    finally:
        teardown()


def _follower(args: argparse.Namespace) -> int:
    """Ranks other than 0 under torchrun: rank 0 owns the run directory (config, markers,
    moving stale outputs aside); the others only train, and skip exactly when rank 0 will."""
    from chatforge.pretrain import stage as pretrain_stage  # noqa: PLC0415 - start-up time

    run_dir, cfg = resolve(args)
    if not args.force and is_complete(args.pipeline, args.pipeline.stage("pretrain"), run_dir, cfg):
        return 0
    ctx = StageContext(name="pretrain", run_dir=run_dir, out=run_dir / "pretrain", config=cfg,
                       log=Logger(None, prefix=f"pretrain rank {os.environ.get('RANK')}"),
                       resuming=True, pipeline=args.pipeline)
    pretrain_stage.run(ctx)
    return 0


def _check_resumable(args: argparse.Namespace) -> None:
    """--resume promises to continue, never to start over: refuse when the config changed (the
    protocol would move the old outputs aside) or there is nothing to continue."""
    if args.force:
        raise UserError("--resume and --force contradict each other; use one.")
    run_dir, cfg = resolve(args)
    started = read_json(run_dir / "pretrain" / STARTED)
    if not started:
        raise UserError(f"nothing to resume: pretraining was never started in {run_dir}.")
    want = stage_hashes(args.pipeline, args.pipeline.stage("pretrain"), run_dir, cfg)
    if any(started.get(k) != v for k, v in want.items()):
        raise UserError(f"cannot resume: the model/pretrain config or the inputs of {run_dir} changed "
                        "since the run started (drop --resume to start over; the old run is kept aside).")
