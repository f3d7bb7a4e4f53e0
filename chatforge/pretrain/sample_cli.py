"""`chatforge sample`: the base model as a document simulator.

The prompt is the start of a document; the model continues it until the document ends
(<|endoftext|>) or --max-new-tokens. A few-shot prompt is just a longer document start. The
first sample streams as it is generated; the others follow. Samples go to stdout, notes about
the checkpoint to stderr, so `chatforge sample ... > out.txt` keeps only text.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chatforge.core.errors import UserError
from chatforge.core.log import say


def register(sub, parents) -> None:
    p = sub.add_parser("sample", parents=parents, help="continue a prompt with a base model",
                       description="Continue a text prompt with a base (pretrained) model. The prompt "
                       "comes from the argument, or from stdin when the argument is '-' or absent "
                       "and stdin is not a terminal; with no prompt the model writes a document "
                       "from scratch.")
    p.add_argument("prompt", nargs="?", default=None, help="text to continue ('-' reads stdin)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--run-dir", type=Path, default=None,
                     help="run directory: use its newest base checkpoint (default: runs/cpu)")
    src.add_argument("--checkpoint", type=Path, default=None,
                     help="a checkpoint file, or a folder holding checkpoints")
    p.add_argument("--num-samples", "-n", type=int, default=1)
    p.add_argument("--max-new-tokens", type=int, default=200)
    p.add_argument("--temperature", type=float, default=0.8, help="0 = greedy")
    p.add_argument("--top-k", type=int, default=50, help="0 = no top-k filter")
    p.add_argument("--top-p", type=float, default=None, help="nucleus sampling, e.g. 0.95")
    p.add_argument("--seed", type=int, default=None, help="same seed, same samples")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--no-echo", action="store_true", help="print only the continuation, not the prompt")
    p.set_defaults(func=main)


def read_prompt(arg: str | None) -> str:
    if arg == "-" or (arg is None and not sys.stdin.isatty()):
        try:
            return sys.stdin.read()
        except UnicodeDecodeError:
            raise UserError("the prompt on stdin is not valid UTF-8 text.") from None
    return arg or ""


def load_base(run_dir: Path | None, checkpoint: Path | None, device):
    """-> (model, tokenizer, meta) for the newest base checkpoint of a run, or a named one."""
    from chatforge.tokenizer import Tokenizer  # noqa: PLC0415 - start-up time
    from chatforge.train.checkpoint import load_model  # noqa: PLC0415 - start-up time

    if checkpoint is None:
        run_dir = run_dir or Path("runs") / "cpu"
        if not run_dir.is_dir():
            raise UserError(f"run directory '{run_dir}' does not exist; give --run-dir or --checkpoint.")
        checkpoint = run_dir / "pretrain"
        if not checkpoint.is_dir():
            raise UserError(f"'{run_dir}' has no base model yet; "
                            f"run `chatforge pretrain --run-dir {run_dir}` first.")
    model, tok_dir, meta = load_model(checkpoint, device)
    if tok_dir is None and run_dir is not None and (run_dir / "tokenizer").is_dir():
        tok_dir = run_dir / "tokenizer"
    if tok_dir is None:
        raise UserError(f"no tokenizer found next to checkpoint '{meta.get('checkpoint', checkpoint)}'.")
    tok = Tokenizer.load(tok_dir)
    if tok.n_vocab != model.config.vocab_size:
        raise UserError(f"the tokenizer in '{tok_dir}' has {tok.n_vocab} tokens but the model "
                        f"expects {model.config.vocab_size}.")
    return model, tok, meta


def main(args: argparse.Namespace) -> int:
    from chatforge.core.device import pick_device  # noqa: PLC0415 - torch: start-up time
    from chatforge.engine import Engine  # noqa: PLC0415 - start-up time

    prompt = read_prompt(args.prompt)
    if args.num_samples < 1:
        raise UserError(f"--num-samples must be at least 1, got {args.num_samples}.")
    if args.max_new_tokens < 1:
        raise UserError(f"--max-new-tokens must be at least 1, got {args.max_new_tokens}.")
    device = pick_device(args.device)
    model, tok, meta = load_base(args.run_dir, args.checkpoint, device)
    say(f"model: {meta.get('checkpoint')} (step {meta.get('step')}, "
        f"{model.num_params() / 1e6:.1f}M parameters, context {model.config.max_seq_len} tokens)",
        file=sys.stderr)
    n_prompt = 1 + len(tok.encode(prompt))  # + the document-start token
    ctx = model.config.max_seq_len
    if n_prompt >= ctx:
        raise UserError(f"the prompt is {n_prompt} tokens but this model reads at most {ctx}; "
                        f"shorten it (for few-shot prompts, use fewer examples).")
    if n_prompt + args.max_new_tokens > ctx:
        say(f"note: only {ctx - n_prompt} new tokens fit after this {n_prompt}-token prompt "
            f"(context {ctx}).", file=sys.stderr)

    engine = Engine(model, tok)
    out = sys.stdout
    many = args.num_samples > 1

    def head(i: int) -> None:
        if many:
            out.write(f"{'' if i == 0 else chr(10)}--- sample {i + 1} ---\n")
        if not args.no_echo:
            out.write(prompt)

    head(0)
    out.flush()

    def stream(row: int, piece: str) -> None:
        if row == 0:
            out.write(piece)
            out.flush()

    texts = engine.generate_text(prompt, num_samples=args.num_samples,
                                 max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                                 top_k=args.top_k or None, top_p=args.top_p, seed=args.seed,
                                 on_text=stream)
    out.write("\n")
    for i, text in enumerate(texts[1:], 1):
        head(i)
        out.write(text + "\n")
    out.flush()
    return 0
