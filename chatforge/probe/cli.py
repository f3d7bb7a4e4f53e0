"""`chatforge probe`: find what the chat model does not know, and teach it to say so."""

from __future__ import annotations

import argparse

from chatforge.core.cliutil import add_stage_args, stage_main


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser("probe", parents=parents, help="hallucination probe: interrogate, classify, mitigate",
                       description="Ask the chat model about every person and attribute (train phrasings), "
                       "sample several answers each, judge them against the world (or a judge model), "
                       "classify each fact as known / unsure / unknown, build refusal, answer, search and "
                       "in-context data from that, fine-tune the chat model on it mixed with the SFT "
                       "mixture, and evaluate before and after (hallucination rate, refusals, over-refusal, "
                       "knowledge from the weights vs from the context). Resumable.")
    add_stage_args(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    return stage_main("probe", args)
