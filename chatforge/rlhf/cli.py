"""`chatforge rank`, `chatforge rm`, `chatforge rlhf`: RLHF's three steps, each a resumable stage."""

from __future__ import annotations

import argparse

from chatforge.core.cliutil import add_stage_args, stage_main

COMMANDS = {
    "rank": ("rank sampled answers to open-ended prompts into the rankings store",
             "Sample K answers to each of the world's open-ended prompts (jokes, poems, descriptions, "
             "stories) from the RL stage's chat model and have a labeler rank them: the world's hidden gold "
             "scorer plays the human. Rankings go to <run-dir>/rankings.jsonl, the store the web page's "
             "ranking view writes to, so people's rankings mix in. Resumable."),
    "rm": ("train a reward model on the rankings (Bradley-Terry)",
           "The SFT transformer with a scalar head, trained on all pairs of every ranking in the store "
           "(Bradley-Terry loss, optional reward centering) on the training core. Reports held-out pairwise "
           "accuracy against the gold labeler, beside the labeler's own self-consistency. Resumable."),
    "rlhf": ("RL against the reward model, with the hack shown and caught",
             "GRPO against the reward model with a KL penalty to the starting model, logging the proxy "
             "reward (the reward model), the true reward (the gold scorer, never trained on), KL, length, "
             "distinct-2 and repetition on held-out prompts; keeps the checkpoint with the best true reward. "
             "Then the same run without the KL penalty, where the detector flags proxy up / true down. "
             "Resumable."),
}


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    for name, (short, long) in COMMANDS.items():
        p = sub.add_parser(name, parents=parents, help=short, description=long)
        add_stage_args(p)
        p.set_defaults(func=lambda args, name=name: stage_main(name, args))
