"""`chatforge import SRC --out DIR`: a Llama/Qwen3 GGUF file or HF folder as a chatforge checkpoint."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from chatforge.core.deps import require
from chatforge.core.errors import UserError
from chatforge.core.log import say
from chatforge.export.checks import checks


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser(
        "import", parents=parents, help="import a Llama/Qwen3 model (GGUF file or HF folder)",
        description="Turn a local Llama- or Qwen3-family model into a chatforge checkpoint folder: a GGUF "
        "file (any quantization the gguf package reads; weights become float32) or a Hugging Face "
        "folder (config.json, safetensors, tokenizer.json). The model keeps its own tokenizer and chat "
        "template. Then use it with --checkpoint DIR in chat, serve, eval, sample.")
    p.add_argument("src", type=Path, help="a .gguf file or a Hugging Face model folder")
    p.add_argument("--out", required=True, type=Path, help="the checkpoint folder to create")
    p.add_argument("--max-seq-len", type=int, default=None,
                   help="cap the context length (default: the model's own; KV caches grow with it)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from chatforge.importer.convert import import_model  # noqa: PLC0415 - start-up time

    require("import", checks())  # the export packages: torch, safetensors, gguf, jinja2
    if args.max_seq_len is not None and args.max_seq_len <= 0:
        raise UserError(f"--max-seq-len must be positive, got {args.max_seq_len}.")
    t0 = time.perf_counter()
    ckpt, s = import_model(args.src, args.out, args.max_seq_len)
    c = s["config"]
    say(f"imported {s['source_name'] or args.src} ({s['architecture']}, {s['params'] / 1e6:.1f}M parameters, "
        f"{c['n_layer']} layers, d_model {c['d_model']}, vocab {c['vocab_size']}) into {ckpt} "
        f"in {time.perf_counter() - t0:.1f}s")
    if s.get("chat_template_matches") is False:
        say("warning: the model's chat template does not render exactly like chatforge's ChatML renderer; "
            "chats may be formatted slightly differently from how the model was trained")
    say(f"talk to it: chatforge chat --checkpoint {args.out}")
    return 0
