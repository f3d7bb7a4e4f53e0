"""`chatforge world`: generate the built-in world, as a pipeline stage or into any directory."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    from chatforge.core.cliutil import add_stage_args

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
    from chatforge.core.errors import UserError

    if args.seed is not None:
        args.overrides = list(args.overrides) + [f"run.seed={args.seed}"]
    if args.out is None:
        from chatforge.core.cliutil import stage_main

        return stage_main("world", args)
    if args.run_dir is not None:
        raise UserError("give either --run-dir or --out, not both.")
    return write_standalone(args.out, args.preset, args.overrides)


def write_standalone(out: Path, preset: str | None, overrides: list[str]) -> int:
    import time

    from chatforge.core.atomic import atomic_dir, atomic_write_json
    from chatforge.core.config import load_config
    from chatforge.core.errors import UserError
    from chatforge.core.log import say
    from chatforge.world.api import is_world_dir
    from chatforge.world.build import MARKER, build

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"'{out}' exists and is not a directory.")
    if out.is_dir() and any(out.iterdir()) and not is_world_dir(out):
        raise UserError(f"'{out}' is not empty and is not a world directory (no {MARKER}); "
                        "choose another --out.")
    cfg = load_config(preset, overrides)
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
