"""`chatforge serve`: the OpenAI-compatible API and the web page for a run's models."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from chatforge.core.cliutil import config_of
from chatforge.core.log import say, warn
from chatforge.core.rundir import saved_config


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser(
        "serve", parents=parents, help="serve models over an OpenAI-compatible API with a web page",
        description="Serve the checkpoints of a run (--run-dir; the default is the best chat model that "
        "keeps the evaluation suite) "
        "or one checkpoint (--checkpoint): /v1/chat/completions, /v1/completions, /v1/models, "
        "/health, /openapi.json, /docs, and a web page at / for chat, tokens, the model's insides and "
        "ranking answers. Listens on 127.0.0.1 unless --host says otherwise.")
    p.add_argument("--run-dir", type=Path, default=None, help="run directory (default: runs/cpu)")
    p.add_argument("--checkpoint", type=Path, default=None, help="serve this checkpoint file or folder only")
    p.add_argument("--preset", default=None, help="config preset for the [serve] limits (default: the run's)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value, e.g. --set serve.concurrency=4")
    p.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=None, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--api-key", default=None,
                   help="require 'Authorization: Bearer KEY' (default: $CHATFORGE_API_KEY, else none)")
    p.add_argument("--device", default="auto", help="cpu, cuda, mps or auto")
    p.set_defaults(func=main)


def _config(args: argparse.Namespace):
    run_dir = args.run_dir
    saved = saved_config(run_dir) if run_dir is not None and args.preset is None else None
    cfg = config_of(args, saved=saved)
    s = cfg.serve
    if args.host is not None:
        s.host = args.host
    if args.port is not None:
        s.port = args.port
    s.validate()
    return cfg


def main(args: argparse.Namespace) -> int:
    # torch, FastAPI and uvicorn load only when a server starts: `chatforge --help` imports this module
    from chatforge.core.device import apply_threads, pick_device  # noqa: PLC0415 - torch: start-up time
    from chatforge.serve.app import App, Server  # noqa: PLC0415 - start-up time
    from chatforge.serve.models import Models  # noqa: PLC0415 - torch: start-up time

    if args.run_dir is None and args.checkpoint is None:
        args.run_dir = Path("runs/cpu")
    cfg = _config(args)
    s = cfg.serve
    apply_threads(s.threads or cfg.run.threads)
    device = str(pick_device(args.device))
    models = Models(args.run_dir, args.checkpoint, device, s.context_length, s.max_loaded_models)
    run_dir = args.run_dir
    if run_dir is None and args.checkpoint is not None:
        guess = Path(args.checkpoint).resolve()
        guess = guess.parent if guess.is_file() else guess
        for d in (guess, *guess.parents[:3]):
            if (d / "config.json").is_file():
                run_dir = d
                break
    api_key = args.api_key or os.environ.get("CHATFORGE_API_KEY") or None
    if s.host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        warn(f"listening on {s.host} without --api-key: anyone who can reach this machine can use "
             "the server.")
    app = App(s, models, run_dir, api_key, log=say)
    server = Server(app, s.host, s.port)
    host, port = server.server_address
    say(f"chatforge serve: model '{models.default}' ({models.paths[models.default]}), "
        f"{len(models.paths)} checkpoint(s) available")
    say(f"  default: {models.why}")
    say(f"  web page:  http://{host}:{port}/")
    say(f"  OpenAI API: base_url=http://{host}:{port}/v1" + ("  (API key required)" if api_key else ""))
    say("  Ctrl-C stops the server")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        say("stopping")
    finally:
        app.close()
    return 0
