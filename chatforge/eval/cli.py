"""`chatforge eval`: every checkpoint of a run (or the ones named) through the one suite."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from chatforge.core.atomic import read_json
from chatforge.core.cliutil import config_of
from chatforge.core.errors import UserError
from chatforge.core.log import Logger, say
from chatforge.tasks import check_names


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser("eval", parents=parents,
                       help="evaluate every checkpoint of a run: one table with intervals",
                       description="Every checkpoint of the run (base, sft, probe, rl, rlhf, distill, "
                       "imported models saved in the run) through one suite: validation bits per byte, the "
                       "copy probe, and for chat models greedy answers through the engine on held-out "
                       "knowledge questions (known-qa, bio-only), follow-ups, identity, arithmetic (step by "
                       "step and with the calculator), letter counting (spelled out and with python), "
                       "unknown people through search, obedience to 'Tools: none.', refusals and the "
                       "hallucination rate on unknown and invented people, questions with a page in the "
                       "context, and the gold preference score on open-ended prompts. Figures a stage "
                       "already measured on the same checkpoint and items are reused. Writes "
                       "<run-dir>/eval/metrics.json, eval/table.md and eval/<checkpoint>.json.")
    p.add_argument("--run-dir", type=Path, default=None, help="run directory (default: runs/cpu)")
    p.add_argument("--checkpoint", type=Path, action="append", default=None,
                   help="evaluate only this checkpoint file or folder (repeatable; default: every checkpoint "
                   "of the run)")
    p.add_argument("--only", default=None, help="comma-separated checkpoint names of the run (e.g. sft,rl)")
    p.add_argument("--items", type=int, default=None,
                   help="items per task set (default: the run's eval.items, else sft.eval_items)")
    p.add_argument("--tasks", default=None, help="comma-separated task sets to run (default: all)")
    p.add_argument("--force", action="store_true",
                   help="measure again, even what is cached or a stage measured")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="print eval/metrics.json's rows as JSON")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from chatforge.core.device import pick_device  # noqa: PLC0415 - torch: start-up time
    from chatforge.eval.board import evaluate_run, named, run_checkpoints  # noqa: PLC0415 - start-up time
    from chatforge.eval.table import LEGEND, transposed  # noqa: PLC0415 - start-up time

    run_dir = args.run_dir or Path("runs/cpu")
    if not (run_dir / "world").is_dir():
        raise UserError(f"'{run_dir}' has no world (the evaluation sets come from it); pass --run-dir.")
    if args.items is not None and args.items < 1:
        raise UserError("--items must be at least 1.")
    saved = read_json(run_dir / "config.json")
    cfg = config_of(args, saved=saved) if saved else config_of(args, "cpu")
    if args.checkpoint:
        ckpts = named(args.checkpoint)
    else:
        ckpts = run_checkpoints(run_dir)
        if not ckpts:
            raise UserError(f"no checkpoint in '{run_dir}' (train one first, e.g. "
                            f"`chatforge run --run-dir {run_dir}`).")
    if args.only:
        want = [n.strip() for n in args.only.split(",") if n.strip()]
        bad = [n for n in want if n not in ckpts]
        if bad:
            raise UserError(f"no checkpoint named '{bad[0]}' (this run has: {', '.join(ckpts)}).")
        ckpts = {n: ckpts[n] for n in want}
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    if tasks:
        check_names(tasks, "--tasks")
    log = Logger(run_dir / "eval" / "log.jsonl", prefix="eval")
    out = evaluate_run(run_dir, cfg, ckpts, items=args.items or cfg.eval.items or cfg.sft.eval_items,
                       tasks=tasks, force=args.force, device=pick_device(args.device), log=log)
    if args.json:
        print(json.dumps(out["rows"], indent=2))
        return 0
    say("")
    say(transposed(out["rows"]))
    say(LEGEND + " (eval/table.md: the same, a row per checkpoint.)")
    for r in out["rows"]:
        src = ", ".join(f"{k} from {v}" if "/" in v else f"{k} {v}" for k, v in r["source"].items()
                        if v != "computed") or "measured"
        say(f"  {r['name']}: {src} ({r['seconds']}s)"
            + (f", cached in eval/{r['name']}.json" if r["cached"] else ""))
    if "reward_model" in out:
        say(f"reward model held-out pairwise accuracy: {100 * out['reward_model']['accuracy']:.1f}% "
            f"({out['reward_model']['from']})")
    say(f"-> {run_dir / 'eval' / 'metrics.json'}, {run_dir / 'eval' / 'table.md'}  ({out['seconds']}s)")
    return 0
