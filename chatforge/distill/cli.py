"""`chatforge distill`: a small, fast student trained from the run's chat model (or any teacher)."""

from __future__ import annotations

import argparse
import json

from chatforge.core.cliutil import add_stage_args, stage_main


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser("distill", parents=parents, help="distil the chat model into a small, fast student",
                       description="A student a quarter of the teacher's size (or any shape) is pretrained "
                       "on the run's documents, then trained on the teacher's fine-tuning conversations: "
                       "with the teacher's next-token distributions (logits: forward/reverse KL or "
                       "generalised JSD at a temperature, mixed with cross-entropy; optionally only its "
                       "top-k, computed once), on the teacher's answers alone (text: through the engine or "
                       "any OpenAI-compatible endpoint), or on its own samples graded token by token by the "
                       "teacher (on-policy). Compares, at equal steps, the teacher, a student trained "
                       "without a teacher and each method: task scores, validation loss, parameters, decode "
                       "speed. Resumable.")
    add_stage_args(p)
    p.add_argument("--method", choices=("logits", "text", "on-policy"),
                   help="shorthand for --set distill.method=...")
    p.add_argument("--teacher", help="teacher checkpoint (default: the run's most refined chat model)")
    p.add_argument("--student", help="student: a preset name or .toml config (its [model] section), or a "
                   "checkpoint to start from (default: distill.student_* on top of the run's [model])")
    p.add_argument("--teacher-url",
                   help="text method: an OpenAI-compatible endpoint that answers as the teacher")
    p.add_argument("--compare", help="comma-separated arms trained besides the method: scratch, logits, "
                   "text, on-policy, logits-topk ('' for none)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    sets = list(args.overrides or [])
    for flag, key in (("method", "method"), ("teacher", "teacher"), ("student", "student"),
                      ("teacher_url", "teacher_url")):
        value = getattr(args, flag)
        if value is not None:
            sets.append(f"distill.{key}={value}")
    if args.compare is not None:
        sets.append("distill.compare="
                    f"{json.dumps([a.strip() for a in args.compare.split(',') if a.strip()])}")
    args.overrides = sets
    return stage_main("distill", args)
