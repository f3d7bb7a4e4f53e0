"""`chatforge tokenizer train|encode|decode|show|stats`."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from chatforge.core.atomic import atomic_dir
from chatforge.core.cliutil import add_stage_args, config_of, stage_main
from chatforge.core.deps import require
from chatforge.core.errors import UserError
from chatforge.core.log import Logger, say
from chatforge.tokenizer.checks import checks

_DEFAULT_RUN = Path("runs/cpu")


def register(sub, parents) -> None:
    p = sub.add_parser("tokenizer", parents=parents, help="train, inspect and use the BPE tokenizer",
                       description="Byte-level BPE with GPT-4's split pattern: train it, encode "
                       "with it, look at its tokens.")
    tsub = p.add_subparsers(dest="tok_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    t = tsub.add_parser("train", parents=parents, help="train a tokenizer (pipeline stage or text files)",
                        description="Without --input: the pipeline stage, on the data stage's "
                        "documents in --run-dir. With --input: train on plain text files and "
                        "write the tokenizer to --out.")
    add_stage_args(t)
    t.add_argument("--input", nargs="+", type=Path, metavar="FILE", help="plain UTF-8 text files to train on")
    t.add_argument("--out", type=Path, help="output tokenizer directory (with --input)")
    t.add_argument("--vocab-size", type=int, help="total vocabulary incl. special tokens (with --input)")
    t.add_argument("--trainer", choices=("rustbpe", "hf"), help="trainer (with --input)")
    t.set_defaults(func=_train)

    def source(q: argparse.ArgumentParser, with_file: bool = True) -> None:
        g = q.add_mutually_exclusive_group()
        g.add_argument("--encoding", help="a tiktoken encoding, e.g. cl100k_base (offline)")
        g.add_argument("--tokenizer", type=Path, metavar="DIR", help="a tokenizer directory")
        g.add_argument("--run-dir", type=Path, help=f"a run directory's tokenizer (default {_DEFAULT_RUN})")
        if with_file:
            q.add_argument("file", nargs="?", default="-", help="input file, or - for stdin (default)")
            q.add_argument("--text", help="encode this string instead of a file")

    e = tsub.add_parser("encode", parents=parents, help="print token ids as a JSON array")
    source(e)
    e.add_argument("--reference", action="store_true", help="use the pure-Python reference encoder")
    e.set_defaults(func=_encode)

    d = tsub.add_parser("decode", parents=parents, help="JSON array of ids -> bytes on stdout")
    source(d)
    d.set_defaults(func=_decode)

    s = tsub.add_parser("show", parents=parents, help="each token coloured, with its id and the count")
    source(s)
    s.add_argument("--no-color", action="store_true", help="plain table even on a terminal")
    s.add_argument("--explain", action="store_true", help="show the merges applied to each piece")
    s.set_defaults(func=_show)

    st = tsub.add_parser("stats", parents=parents, help="bytes per token on held-out text vs cl100k_base")
    source(st, with_file=False)
    st.add_argument("files", nargs="*", type=Path,
                    help="text files (default: the tokenizer's held-out sample)")
    st.add_argument("--compare", default="cl100k_base",
                    help="tiktoken encoding to compare with ('' for none)")
    st.add_argument("--json", action="store_true", help="print JSON instead of a table")
    st.set_defaults(func=_stats)


# ---- helpers --------------------------------------------------------------------------------
def load_source(args):
    from chatforge.tokenizer.core import Tokenizer  # noqa: PLC0415 - start-up time

    if getattr(args, "encoding", None):
        return Tokenizer.from_encoding(args.encoding)
    if getattr(args, "tokenizer", None):
        return Tokenizer.load(args.tokenizer)
    run_dir = args.run_dir or _DEFAULT_RUN
    if not (run_dir / "tokenizer").is_dir():
        if args.run_dir is None:
            raise UserError("name a tokenizer: --tokenizer DIR, --run-dir DIR or --encoding cl100k_base "
                            f"({_DEFAULT_RUN} has none).")
        raise UserError(f"run directory '{run_dir}' has no tokenizer; run "
                        f"`chatforge tokenizer train --run-dir {run_dir}` first.")
    return Tokenizer.load(run_dir / "tokenizer")


def read_input(name: str | Path) -> bytes:
    if str(name) == "-":
        return sys.stdin.buffer.read()
    p = Path(name)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise UserError(f"input file '{p}' does not exist.") from None
    except IsADirectoryError:
        raise UserError(f"input '{p}' is a directory, not a file.") from None
    except PermissionError:
        raise UserError(f"cannot read input file '{p}': permission denied.") from None


def _input_bytes(args) -> bytes:
    return (args.text.encode("utf-8", errors="surrogateescape") if args.text is not None
            else read_input(args.file))


# ---- actions --------------------------------------------------------------------------------
def _train(args) -> int:
    if args.input is None:
        if args.out or args.vocab_size or args.trainer:
            raise UserError("--out, --vocab-size and --trainer go with --input; for the pipeline "
                            "stage use --set tokenizer.KEY=VALUE.")

        return stage_main("tokenizer", args)
    if args.out is None:
        raise UserError("training on --input files needs --out DIR for the tokenizer.")

    from chatforge.tokenizer.stage import train_tokenizer  # noqa: PLC0415 - start-up time

    require("tokenizer", checks())

    cfg = config_of(args).tokenizer
    cfg = replace(cfg, heldout_every=0, **({"vocab_size": args.vocab_size} if args.vocab_size else {}),
                  **({"trainer": args.trainer} if args.trainer else {}))
    for f in args.input:  # fail before training, not half-way through
        if not f.is_file():
            raise UserError(f"input file '{f}' does not exist." if not f.exists()
                            else f"input '{f}' is not a file.")
    tok, reader, info = train_tokenizer(_file_texts(args.input), cfg, Logger(prefix="tokenizer"))
    with atomic_dir(args.out) as tmp:
        tok.save(tmp, extra_meta={"trained_on": {"files": [str(f) for f in args.input],
                                                 "chars": reader.chars}})
    say(f"[tokenizer] {tok.n_ranks} BPE tokens + {len(tok.special_tokens)} special = {tok.n_vocab} "
        f"from {reader.chars:,} characters in {info['train_s']:.1f}s -> {args.out}")
    return 0


def _file_texts(files: list[Path], chunk: int = 1 << 20):
    """Plain text files as ~1 MB chunks cut at line ends (a multi-megabyte single string would
    keep the trainer's parallel splitting on one core)."""
    for f in files:
        try:
            with open(f, encoding="utf-8") as fh:
                buf: list[str] = []
                size = 0
                for line in fh:
                    buf.append(line)
                    size += len(line)
                    if size >= chunk:
                        yield "".join(buf)
                        buf, size = [], 0
                if buf:
                    yield "".join(buf)
        except UnicodeDecodeError:
            raise UserError(f"training file '{f}' is not UTF-8 text.") from None
        except PermissionError:
            raise UserError(f"cannot read training file '{f}': permission denied.") from None


def _encode(args) -> int:
    tok = load_source(args)
    data = _input_bytes(args)
    ids = tok.reference().encode(data) if args.reference else tok.encode_bytes(data)
    print(json.dumps(ids))
    return 0


def _decode(args) -> int:
    tok = load_source(args)
    raw = _input_bytes(args)
    try:
        ids = json.loads(raw)
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise ValueError
    except ValueError:
        raise UserError("decode expects a JSON array of integer token ids.") from None
    try:
        out = tok.decode_bytes(ids)
    except ValueError as e:
        raise UserError(f"{e}.") from None
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    return 0


def _show(args) -> int:
    from chatforge.tokenizer.show import explain, render  # noqa: PLC0415 - start-up time

    tok = load_source(args)
    data = _input_bytes(args)
    color = sys.stdout.isatty() and not args.no_color
    if args.explain:
        print(explain(tok.reference(), data, color))
    else:
        print(render(tok, tok.encode_bytes(data), data, color))
    return 0


def _stats(args) -> int:
    from chatforge.tokenizer.core import Tokenizer  # noqa: PLC0415 - start-up time
    from chatforge.tokenizer.spec import HELDOUT_FILE  # noqa: PLC0415 - start-up time
    from chatforge.tokenizer.stats import compare, table  # noqa: PLC0415 - start-up time

    tok = load_source(args)
    if args.files:
        texts = [read_input(f).decode("utf-8", errors="surrogateescape") for f in args.files]
        where = ", ".join(map(str, args.files))
    else:
        tdir = args.tokenizer or (args.run_dir or _DEFAULT_RUN) / "tokenizer"
        held = Path(tdir) / HELDOUT_FILE
        if args.encoding or not held.is_file():
            raise UserError("give text files to measure on (this tokenizer has no held-out sample).")
        # split on "\n" only: str.splitlines would also cut at U+2028 inside a JSON string
        texts = [json.loads(line)["text"] for line in held.read_text(encoding="utf-8").split("\n") if line]
        where = str(held)
    toks = [tok] + ([Tokenizer.from_encoding(args.compare)]
                    if args.compare and args.compare != tok.name else [])
    rows = compare(toks, texts)
    if args.json:
        print(json.dumps({"text": where, "rows": rows}, indent=2))
    else:
        print(f"held-out text: {where}")
        print(table(rows))
    return 0
