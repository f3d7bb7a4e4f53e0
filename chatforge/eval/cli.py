"""`chatforge eval`: run the chat evaluation suite on a run's chat model (or any checkpoint)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from chatforge.core.errors import UserError


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser("eval", parents=parents, help="evaluate a chat model on the world's held-out tasks",
                       description="Greedy answers through the engine on held-out knowledge questions "
                       "(known-qa, known-bio-only), follow-ups, identity, arithmetic (step by step and "
                       "with the calculator), letter counting (spelled out and with python), unknown "
                       "people through search, obedience to 'Tools: none.', refusals and the hallucination "
                       "rate on unknown and invented people, and questions with a page in the context. Prints a table and "
                       "writes <run-dir>/eval/<stage>.json.")
    p.add_argument("--run-dir", type=Path, default=None, help="run directory (default: runs/cpu)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="a checkpoint file or folder (default: the run's newest chat model)")
    p.add_argument("--items", type=int, default=None, help="items per task set (default: the run's sft.eval_items)")
    p.add_argument("--tasks", default=None, help="comma-separated task sets to run (default: all)")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from chatforge.chat.cli import find_chat_checkpoint
    from chatforge.core.atomic import atomic_write_text, read_json
    from chatforge.core.config import load_config
    from chatforge.core.device import pick_device
    from chatforge.core.log import say
    from chatforge.eval.suite import evaluate
    from chatforge.tokenizer import Tokenizer
    from chatforge.train.checkpoint import load_model

    run_dir = args.run_dir or Path("runs/cpu")
    if not (run_dir / "world").is_dir():
        raise UserError(f"'{run_dir}' has no world (the evaluation sets come from it); pass --run-dir.")
    saved = read_json(run_dir / "config.json")
    cfg = load_config(None, [], saved=saved) if saved else load_config("cpu")
    path, _ = find_chat_checkpoint(run_dir, args.checkpoint)
    model, tok_dir, meta = load_model(path, pick_device(args.device))
    if tok_dir is None:
        raise UserError(f"checkpoint '{path}' has no tokenizer folder next to it.")
    tokenizer = Tokenizer.load(tok_dir)
    if args.items is not None and args.items < 1:
        raise UserError("--items must be at least 1.")
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    report = evaluate(model, tokenizer, run_dir, cfg.sft, cfg.run.seed, tasks=tasks, items=args.items)
    report["checkpoint"] = meta["checkpoint"]
    stage = meta.get("stage", "model")
    out = run_dir / "eval" / f"{stage}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=2, ensure_ascii=False))
    if args.json:
        print(json.dumps(report["summary"], indent=2))
        return 0
    say(f"{'task':<24} {'n':>4} {'accuracy':>9} {'95% interval':>13} {'tool calls':>11}")
    for name, rec in report["tasks"].items():
        lo, hi = rec["ci95"]
        say(f"{name:<24} {rec['n']:>4} {100 * rec['accuracy']:>8.1f}% {f'{100 * lo:.0f}-{100 * hi:.0f}%':>13} "
            f"{100 * rec['tool_call_rate']:>10.1f}%")
    sm = report["summary"]
    from chatforge.eval.copying import describe, passage_describe

    say(f"copy probe: next-token accuracy {describe(report['copy_probe'])} (as low as the first pass: "
        "the model does not read its context; high only close by: a positional shortcut)")
    say(f"reading probe: {passage_describe(report['reading_probe'])} (no better without the page: "
        "the model does not find facts in its context)")
    if "hallucination_rate" in sm:
        lo, hi = sm["hallucination_ci95"]
        say(f"hallucination rate: {100 * sm['hallucination_rate']:.1f}% [95% CI {100 * lo:.0f}-{100 * hi:.0f}%] "
            "(confident wrong answers about unknown and invented people, tools off)")
    say(f"checkpoint: {meta['checkpoint']}  ({sm['eval_seconds']}s)  -> {out}")
    return 0
