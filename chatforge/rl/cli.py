"""`chatforge rl --method grpo|rft`: reinforcement learning on the world's verifiable problems."""

from __future__ import annotations

import argparse

from chatforge.core.cliutil import add_stage_args, stage_main


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser("rl", parents=parents,
                       help="RL on verifiable problems: GRPO or rejection-sampling fine-tuning",
                       description="The chat model practises the world's verifiable task sets (arithmetic, "
                       "with and without the calculator; letter counting, spelled out and with python; "
                       "knowledge recall; search): G samples per problem in batched engine calls with the "
                       "tools run, each scored by the task's checker. GRPO reinforces group-relative "
                       "advantages on the training core; RFT keeps right solutions and fine-tunes on them, "
                       "round after round. Reports pass@1 and pass@k on the test splits before and after, "
                       "beside a blind guesser, and curves. Resumable.")
    add_stage_args(p)
    p.add_argument("--method", choices=("grpo", "rft"), help="shorthand for --set rl.method=...")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.method:
        args.overrides = list(args.overrides or []) + [f"rl.method={args.method}"]
    return stage_main("rl", args)
