"""`chatforge world`: generate the built-in world, as a pipeline stage or into any directory."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from chatforge.core.atomic import atomic_dir, atomic_write_json
from chatforge.core.cliutil import add_stage_args, config_of, stage_main
from chatforge.core.errors import UserError
from chatforge.core.log import say


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser("world", parents=parents, help="generate the built-in synthetic world",
                       description="Generate the synthetic world (people, documents, task sets and a "
                       "labelled web crawl) deterministically from the seed. With --run-dir it runs as "
                       "the first pipeline stage; with --out it writes a world into that directory.")
    add_stage_args(p)
    p.add_argument("--out", type=Path, default=None,
                   help="write the world into this directory instead of a run directory")
    p.add_argument("--seed", type=int, default=None, help="random seed (overrides run.seed)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.seed is not None:
        args.overrides = list(args.overrides) + [f"run.seed={args.seed}"]
    if args.out is None:
        return stage_main("world", args)
    if args.run_dir is not None:
        raise UserError("give either --run-dir or --out, not both.")
    return write_standalone(args.out, config_of(args))


def write_standalone(out: Path, cfg) -> int:
    from chatforge.world.api import is_world_dir  # noqa: PLC0415 - start-up time
    from chatforge.world.build import MARKER, build  # noqa: PLC0415 - start-up time

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"'{out}' exists and is not a directory.")
    if out.is_dir() and any(out.iterdir()) and not is_world_dir(out):
        raise UserError(f"'{out}' is not empty and is not a world directory (no {MARKER}); "
                        "choose another --out.")
    t0 = time.perf_counter()
    with atomic_dir(out) as tmp:
        counts = build(tmp, cfg.world, cfg.run.seed)
        atomic_write_json(tmp / "metrics.json", counts)
    dt = time.perf_counter() - t0
    ppl = counts["people"]
    say(f"world ({cfg.preset}, seed {cfg.run.seed}) generated in {dt:.2f}s -> {out}")
    say(f"  people: {ppl['known-qa']} known-qa, {ppl['known-bio-only']} known-bio-only, "
        f"{ppl['unknown']} unknown; documents: {counts['documents']}; crawl pages: "
        f"{counts['crawl_pages']} ({counts['crawl_keep']} keep)")
    return 0
