"""The `chatforge` command: one subcommand per stage and tool, each registered by its module.

Every command gets the pipeline it runs in as `args.pipeline` (chatforge.pipeline).
Command modules stay light to import (their handlers load torch and friends when they run), so
`chatforge --help` is quick.
"""

from __future__ import annotations

import argparse
import sys

from chatforge import __version__, doctor
from chatforge.arena import cli as arena_cli
from chatforge.chat import cli as chat_cli
from chatforge.core import runner
from chatforge.core.errors import UserError
from chatforge.core.log import set_quiet
from chatforge.data import cli as data_cli
from chatforge.distill import cli as distill_cli
from chatforge.eval import cli as eval_cli
from chatforge.export import cli as export_cli
from chatforge.importer import cli as import_cli
from chatforge.pipeline import PIPELINE
from chatforge.pretrain import cli as pretrain_cli
from chatforge.pretrain import sample_cli
from chatforge.probe import cli as probe_cli
from chatforge.report import cli as report_cli
from chatforge.rl import cli as rl_cli
from chatforge.rlhf import cli as rlhf_cli
from chatforge.serve import cli as serve_cli
from chatforge.sft import cli as sft_cli
from chatforge.tokenizer import cli as tokenizer_cli
from chatforge.tools import cli as tools_cli
from chatforge.world import cli as world_cli

# in --help order
COMMANDS = (runner, doctor, world_cli, data_cli, tokenizer_cli, pretrain_cli, sample_cli, sft_cli, probe_cli,
            rl_cli, rlhf_cli, distill_cli, chat_cli, eval_cli, arena_cli, report_cli, tools_cli, serve_cli,
            export_cli, import_cli)


def _common_parser(suppress: bool) -> argparse.ArgumentParser:
    # The same flags before and after the subcommand; SUPPRESS keeps a subparser from resetting
    # a flag that was given before the subcommand.
    default = argparse.SUPPRESS if suppress else False
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--quiet", action="store_true", default=default, help="print only errors and warnings")
    p.add_argument("--debug", action="store_true", default=default, help="show tracebacks for errors")
    p.set_defaults(pipeline=PIPELINE)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatforge", parents=[_common_parser(False)],
        description="Build a ChatGPT-style assistant from nothing: world -> data -> tokenizer -> "
        "pretrain -> sft -> tools -> ... -> chat/serve/export.",
    )
    parser.add_argument("--version", action="version", version=f"chatforge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parents = [_common_parser(True)]
    for mod in COMMANDS:
        mod.register(sub, parents)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    set_quiet(bool(getattr(args, "quiet", False)))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        if args.debug:
            raise
        print(f"chatforge: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("chatforge: interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
