"""`chatforge tools run calculator|python|search ...` and `chatforge tools index`."""

from __future__ import annotations

import argparse
import sys
import typing
from pathlib import Path

from chatforge.core.cliutil import add_config_args, add_stage_args, stage_main
from chatforge.core.config import _preset_values, coerce
from chatforge.core.errors import UserError
from chatforge.core.rundir import saved_config


def register(sub, parents) -> None:
    p = sub.add_parser("tools", parents=parents, help="run a tool by hand; build the search index",
                       description="The tools the model calls mid-answer: calculator, sandboxed "
                       "python, local search.")
    tsub = p.add_subparsers(dest="tools_command", metavar="SUBCOMMAND")
    r = tsub.add_parser("run", parents=parents, help="run one tool and print JSON {ok, output, error, limit}",
                        description="Run one tool and print JSON {ok, output, error, limit}; "
                        "exit 1 when the tool failed.")
    rsub = r.add_subparsers(dest="tool", metavar="TOOL")
    # one parser per tool, each with a single positional, so options may come before the words
    helps = {"calculator": "evaluate an arithmetic expression (arguments or stdin)",
             "python": "run code from stdin (or -c CODE) in the sandbox",
             "search": "search the run's documents (--run-dir D or --index FILE)"}
    for tool, help_ in helps.items():
        t = rsub.add_parser(tool, parents=parents, help=help_, description=help_)
        add_config_args(t, run_dir_help="run directory: its search index and saved [tools] config")
        if tool == "python":
            t.add_argument("-c", "--code", default=None, help="the code (instead of stdin)")
            t.add_argument("input", nargs="*", help=argparse.SUPPRESS)
        else:
            t.add_argument("input", nargs="*", help="the expression or query (default: stdin)")
        if tool == "search":
            t.add_argument("--index", type=Path, default=None, help="an index file instead of --run-dir")
            t.add_argument("-k", "--top-k", type=int, default=None, help="number of results")
        t.set_defaults(func=main_run, tool=tool)
    r.set_defaults(func=lambda args: (r.print_help(), 2)[1])
    i = tsub.add_parser("index", parents=parents, help="build the search index (the tools stage)",
                        description="Build run_dir/tools/search.sqlite from the world's search documents.")
    add_stage_args(i)
    i.set_defaults(func=main_index)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _tools_config(args):
    """The [tools] section only: preset or the run's saved config, then --set tools.KEY=VALUE.

    Built by hand rather than through load_config, which instantiates every section and so
    imports the model package (and torch): a calculator call should not take seconds.
    """

    from chatforge.tools.config import ToolsConfig  # noqa: PLC0415 - start-up time

    values: dict = {}
    if args.preset is not None:
        values = _preset_values(args.preset).get("tools", {})
    elif args.run_dir is not None and Path(args.run_dir).is_dir():
        values = (saved_config(args.run_dir) or {}).get("tools") or {}
    else:
        values = _preset_values("cpu").get("tools", {})
    pairs = list(values.items())
    for item in args.overrides:
        key, eq, value = item.partition("=")
        section, _, name = key.strip().partition(".")
        if not eq or section != "tools" or not name:
            raise UserError(f"override '{item}' must look like tools.KEY=VALUE here.")
        pairs.append((name, value.strip()))
    cfg = ToolsConfig()
    hints = typing.get_type_hints(ToolsConfig)
    for name, value in pairs:
        if name not in hints:
            raise UserError(f"unknown config key 'tools.{name}'.")
        setattr(cfg, name, coerce(value, hints[name], f"tools.{name}"))
    return cfg


def main_run(args: argparse.Namespace) -> int:
    from chatforge.tools.registry import index_path, run_tool  # noqa: PLC0415 - start-up time

    cfg = _tools_config(args)
    index = None
    if args.tool == "python":
        if args.input:
            raise UserError("python reads its code from stdin (or -c CODE), not from arguments.")
        text = args.code if args.code is not None else sys.stdin.read()
    else:
        text = " ".join(args.input) if args.input else sys.stdin.read()
    if args.tool == "search":
        if args.index is None and args.run_dir is None:
            raise UserError("search needs --run-dir D (with a built index) or --index FILE.")
        index = args.index if args.index is not None else index_path(args.run_dir)
        if not Path(index).is_file():
            raise UserError(f"no search index at '{index}' "
                            "(build it with `chatforge tools index --run-dir D`).")
        if args.top_k is not None:
            if args.top_k < 1:
                raise UserError("--top-k must be at least 1.")
            cfg.search_top_k = args.top_k
    if not text.strip():
        raise UserError(f"nothing to give the {args.tool} tool (empty input).")
    res = run_tool(args.tool, text, cfg, index)
    print(res.to_json())
    return 0 if res.ok else 1


def main_index(args: argparse.Namespace) -> int:
    return stage_main("tools", args)
