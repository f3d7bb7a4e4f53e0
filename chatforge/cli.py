"""The `chatforge` command: one subcommand per stage, registered from chatforge.core.stages."""

from __future__ import annotations

import argparse
import importlib
import sys

from chatforge import __version__
from chatforge.core.errors import UserError
from chatforge.core.log import set_quiet
from chatforge.core.stages import COMMANDS, module_exists


def _common_parser(suppress: bool) -> argparse.ArgumentParser:
    # The same flags before and after the subcommand; SUPPRESS keeps a subparser from resetting
    # a flag that was given before the subcommand.
    default = argparse.SUPPRESS if suppress else False
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--quiet", action="store_true", default=default, help="print only errors and warnings")
    p.add_argument("--debug", action="store_true", default=default, help="show tracebacks for errors")
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
        if module_exists(mod):
            importlib.import_module(mod).register(sub, parents)
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
