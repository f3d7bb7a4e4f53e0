"""`chatforge sft`: fine-tune the newest base checkpoint of a run into a chat model."""

from __future__ import annotations

import argparse

from chatforge.core.cliutil import add_stage_args, stage_main


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser("sft", parents=parents, help="supervised fine-tuning: base model -> chat model",
                       description="Build the conversation mixture from the run's world (knowledge QA, "
                       "arithmetic, letter counting, identity, tool use), fine-tune the newest base "
                       "checkpoint on it with the loss on assistant tokens only, then evaluate the chat "
                       "model. Resumable: repeat the command after an interruption.")
    add_stage_args(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    return stage_main("sft", args)
