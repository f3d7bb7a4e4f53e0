"""`chatforge data`: standalone on any input, or as the `data` stage of a run directory.

    chatforge data --input crawl.warc.gz pages/ sample.jsonl --out clean/
    chatforge data --run-dir runs/cpu            # stage: the world's crawl by default
    chatforge data --input /data/cc --out clean/ --executor ray   # on a running Ray cluster
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from chatforge.core.cliutil import add_stage_args, config_of, stage_main
from chatforge.core.deps import require
from chatforge.core.errors import UserError
from chatforge.core.log import Logger
from chatforge.data.checks import checks


def register(sub, parents) -> None:
    p = sub.add_parser(
        "data", parents=parents, help="clean raw web data with the FineWeb recipe (datatrove)",
        description="Run the FineWeb recipe (URL filter, extraction, language ID, Gopher, C4 and "
        "FineWeb filters, MinHash dedup, PII masking) on WARC / HTML / JSONL / parquet inputs. "
        "With --input and no --run-dir it runs standalone into --out; otherwise it is the data "
        "stage of a run directory (default input: the world's crawl).")
    p.add_argument("--input", nargs="+", default=None, metavar="PATH",
                   help="input files or folders (WARC, WARC.gz, HTML, JSONL, parquet; mixed)")
    p.add_argument("--out", type=Path, default=None, help="output folder when standalone (default: data_out)")
    p.add_argument("--labels", type=Path, default=None,
                   help="labels.jsonl to score the output against (default: one next to the input)")
    p.add_argument("--tasks", type=int, default=None, help="datatrove tasks (input shards)")
    p.add_argument("--workers", type=int, default=None, help="tasks run in parallel")
    p.add_argument("--extractor", choices=["trafilatura", "resiliparse"], default=None)
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="how datatrove runs the tasks: here (local) or on a running Ray cluster "
                   "(ray; same output, see docs/data.md)")
    p.add_argument("--ray-address", default="auto", metavar="ADDR",
                   help="the Ray cluster for --executor ray (default: auto, the one `ray start "
                   "--head` left on this machine, or $RAY_ADDRESS)")
    add_stage_args(p)
    p.set_defaults(func=main)


def _overrides(args: argparse.Namespace) -> list[str]:
    out = list(args.overrides or [])
    if args.input:
        out.append(f"data.inputs={json.dumps([str(Path(i).resolve()) for i in args.input])}")
    for key in ("tasks", "workers", "extractor"):
        v = getattr(args, key)
        if v is not None:
            out.append(f"data.{key}={v}")
    return out


def main(args: argparse.Namespace) -> int:
    args.overrides = _overrides(args)
    executor = getattr(args, "executor", "local")
    address = getattr(args, "ray_address", "auto")
    if executor == "ray":  # before anything is written: no ray or no cluster is one sentence
        from chatforge.data.pipeline import connect_ray  # noqa: PLC0415 - start-up time

        connect_ray(address)
    if args.input and args.run_dir is None:
        from chatforge.data.stage import find_labels, process  # noqa: PLC0415 - start-up time

        cfg = config_of(args)
        out = args.out or Path("data_out")
        labels = args.labels or find_labels(cfg.data.inputs)
        if labels is not None and not Path(labels).is_file():
            raise UserError(f"labels file '{labels}' does not exist.")

        require("data", checks(cfg))  # before anything is written
        out.mkdir(parents=True, exist_ok=True)
        if args.force:  # start over: drop what a previous run left (only our own outputs)

            for name in ("_work", "docs", "rejected"):
                shutil.rmtree(out / name, ignore_errors=True)
            (out / "_DONE.json").unlink(missing_ok=True)
        process(cfg.data, cfg.data.inputs, out, Logger(out / "metrics.jsonl", prefix="data"), labels,
                executor=executor, ray_address=address)
        return 0
    if args.out is not None:
        raise UserError("--out is for standalone runs with --input; "
                        "with --run-dir the output is <run-dir>/data.")

    return stage_main("data", args, extra={"executor": executor, "ray_address": address})
