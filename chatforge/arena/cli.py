"""`chatforge arena`: the run's chat models (and any checkpoint named) answer the open-ended
prompts; the gold judge votes on every pair; people can vote in the web page; Bradley-Terry
ratings with bootstrap intervals go to arena/ratings.json and arena/table.md."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from chatforge.core.atomic import atomic_write_json, atomic_write_text, read_json
from chatforge.core.cliutil import config_of
from chatforge.core.errors import UserError
from chatforge.core.log import Logger, say


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser("arena", parents=parents,
                       help="pairwise battles between checkpoints -> Bradley-Terry ratings",
                       description="Every contestant answers the world's held-out open-ended prompts "
                       "(greedy, through the engine); the gold scorer judges every pair on every prompt "
                       "(people can add votes in `chatforge serve --run-dir D`'s Arena tab); votes are "
                       "stored in <run-dir>/arena/votes.sqlite and turned into Bradley-Terry ratings with "
                       "bootstrap 95% intervals (arena/ratings.json, arena/table.md). Ratings rank these "
                       "models on these prompts for this judge, no more.")
    p.add_argument("--run-dir", type=Path, default=None, help="run directory (default: runs/cpu)")
    p.add_argument("--models", default=None,
                   help="comma-separated checkpoint names of the run (default: every chat model)")
    p.add_argument("--checkpoint", type=Path, action="append", default=None,
                   help="another contestant: a checkpoint file or folder, e.g. an imported model "
                   "(repeatable)")
    p.add_argument("--prompts", type=int, default=0,
                   help="open-ended prompts to use (default: all held-out ones)")
    p.add_argument("--margin", type=float, default=0.01,
                   help="gold scores closer than this are a tie (default 0.01)")
    p.add_argument("--boot", type=int, default=1000,
                   help="bootstrap resamples for the intervals (default 1000)")
    p.add_argument("--rate-only", action="store_true",
                   help="generate and judge nothing: refit the ratings from the stored votes "
                   "(after people voted)")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from chatforge.arena import votes  # noqa: PLC0415 - start-up time
    from chatforge.arena.battles import (  # noqa: PLC0415 - start-up time
        answers,
        contestants,
        gold_votes,
        markdown,
        standings,
    )
    from chatforge.core.device import pick_device  # noqa: PLC0415 - torch: start-up time
    from chatforge.eval.gold import open_prompts  # noqa: PLC0415 - start-up time
    from chatforge.world import load_world  # noqa: PLC0415 - start-up time

    t0 = time.perf_counter()
    run_dir = args.run_dir or Path("runs/cpu")
    if not (run_dir / "world").is_dir():
        raise UserError(f"'{run_dir}' has no world (the prompts come from it); pass --run-dir.")
    if args.prompts < 0 or args.boot < 0 or not 0 <= args.margin < 1:
        raise UserError("--prompts and --boot must be >= 0 and --margin in [0, 1).")
    saved = read_json(run_dir / "config.json")
    cfg = config_of(args, saved=saved) if saved else config_of(args, "cpu")
    names = [n.strip() for n in args.models.split(",") if n.strip()] if args.models else None
    entrants = contestants(run_dir, names, args.checkpoint)
    items = open_prompts(load_world(run_dir / "world"), args.prompts)
    if not items:
        raise UserError(f"the world of {run_dir} has no held-out open-ended prompts (world.open_test = 0).")
    log = Logger(run_dir / "arena" / "log.jsonl", prefix="arena")
    device = pick_device(args.device)
    if args.rate_only:
        from chatforge.eval.board import sha256  # noqa: PLC0415 - start-up time
        from chatforge.train.checkpoint import resolve_checkpoint  # noqa: PLC0415 - start-up time

        current = {n: sha256(resolve_checkpoint(p)) for n, p in entrants.items()}
    else:
        answered = {n: answers(run_dir, n, p, items, cfg, device, log) for n, p in entrants.items()}
        current = {n: a["sha"] for n, a in answered.items()}
        added = votes.add(run_dir, gold_votes(items, answered, args.margin, votes.judged(run_dir)))
        log.info(f"gold judge: {added} new votes ({len(items)} prompts x "
                 f"{len(entrants) * (len(entrants) - 1) // 2} pairs)")
    st = standings(votes.read(run_dir), current, boot=args.boot, seed=cfg.run.seed)
    st.update(prompts=len(items), margin=args.margin, boot=args.boot,
              seconds=round(time.perf_counter() - t0, 1),
              created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    atomic_write_json(run_dir / "arena" / "ratings.json", st)
    table = markdown(st)
    atomic_write_text(run_dir / "arena" / "table.md", table)
    say("")
    say(table)
    per_judge = ", ".join(f"{j}: {b['votes']}" for j, b in st["by_judge"].items())
    say(f"{st['votes']} votes between these checkpoints ({per_judge}); ratings on the Elo scale, mean 1000: "
        f"+100 = preferred 64% of the time. {st['stale_votes']} votes about other checkpoints left out.")
    if "people_vs_gold" in st:
        a = st["people_vs_gold"]
        say(f"people agree with the gold judge on {a['agree']} of {a['votes']} pairs both judged "
            f"({100 * a['rate']:.0f}%).")
    say(f"-> {run_dir / 'arena' / 'ratings.json'}, {votes.path(run_dir)}")
    return 0
