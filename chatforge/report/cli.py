"""`chatforge report --run-dir D`: the run's report card (report/report.html and report.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from chatforge.core.errors import UserError
from chatforge.core.log import say
from chatforge.report.build import write


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser("report", parents=parents,
                       help="the run's report card: one HTML page with plots, and Markdown",
                       description="Render what the run directory holds into one self-contained HTML page "
                       "(plots inline as SVG) and a Markdown twin: the data funnel, tokenizer stats, "
                       "loss curves, samples over training, SFT and probe targets, the eval table across "
                       "stages (run `chatforge eval` first), RL pass@k curves, RLHF proxy vs true reward, "
                       "the distillation comparison, arena ratings (`chatforge arena`), time per stage and "
                       "the hardware. Targets a stage missed are listed first, in words. Stages that have "
                       "not run get one sentence.")
    p.add_argument("--run-dir", type=Path, default=None, help="run directory (default: runs/cpu)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: <run-dir>/report)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    run_dir = args.run_dir or Path("runs/cpu")
    if not run_dir.is_dir() or not (run_dir / "config.json").is_file():
        raise UserError(f"'{run_dir}' is not a chatforge run directory (no config.json); pass --run-dir.")
    page, md, figs, missed = write(run_dir, args.pipeline, args.out)
    if missed:
        say(f"{len(missed)} target(s) missed:")
        for m in missed:
            say(f"  - {m}")
    say(f"report: {page} ({page.stat().st_size // 1024} KiB, {figs} plots inline) and {md}")
    return 0
