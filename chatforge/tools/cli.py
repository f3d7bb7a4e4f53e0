"""`chatforge tools run calculator|python|search ...` and `chatforge tools index`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub, parents) -> None:
    from chatforge.core.cliutil import add_config_args, add_stage_args

    p = sub.add_parser("tools", parents=parents, help="run a tool by hand; build the search index",
                       description="The tools the model calls mid-answer: calculator, sandboxed "
                       "python, local search.")
    tsub = p.add_subparsers(dest="tools_command", metavar="SUBCOMMAND")
    r = tsub.add_parser("run", parents=parents, help="run one tool and print JSON {ok, output, error, limit}",
                        description="Run one tool and print JSON {ok, output, error, limit}; exit 1 when the tool failed.")
    add_config_args(r, run_dir_help="run directory: its search index and saved [tools] config")
    r.add_argument("tool", choices=["calculator", "python", "search"])
    r.add_argument("input", nargs="*", help="the expression or query (python: code on stdin, or -c)")
    r.add_argument("-c", "--code", default=None, help="python: the code (instead of stdin)")
    r.add_argument("--index", type=Path, default=None, help="search: an index file instead of --run-dir")
    r.add_argument("-k", "--top-k", type=int, default=None, help="search: number of results")
    r.set_defaults(func=main_run)
    i = tsub.add_parser("index", parents=parents, help="build the search index (the tools stage)",
                        description="Build run_dir/tools/search.sqlite from the world's search documents.")
    add_stage_args(i)
    i.set_defaults(func=main_index)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _tools_config(args):
    from chatforge.core.config import load_config
    from chatforge.core.rundir import saved_config

    saved = None
    if args.run_dir is not None and args.preset is None and Path(args.run_dir).is_dir():
        saved = saved_config(args.run_dir)
    return load_config(args.preset, args.overrides, saved=saved).tools


def main_run(args: argparse.Namespace) -> int:
    from chatforge.core.errors import UserError
    from chatforge.tools.registry import index_path, run_tool

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
            raise UserError(f"no search index at '{index}' (build it with `chatforge tools index --run-dir D`).")
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
    from chatforge.core.cliutil import stage_main

    return stage_main("tools", args)
