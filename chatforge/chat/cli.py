"""`chatforge chat`: talk to a chat model in the terminal, or ask one question with -p.

Input: one line is one message. A line ending in a backslash continues on the next line, and a
line that is just `\"\"\"` opens a block that runs until the next `\"\"\"` line (for pasting code).
Commands: /reset, /system TEXT (or /system alone to clear), /temp X, /tools on|off, /help, /quit.
Tool calls and their results are shown as they happen, dimmed on a terminal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chatforge.core.errors import UserError
from chatforge.core.log import say

HELP = """commands:
  /reset            start a new conversation
  /system TEXT      set your own system instructions (/system alone clears them)
  /temp X           sampling temperature (0 = greedy)
  /tools on|off     let the model call calculator, python and search (or not)
  /help             this text
  /quit             leave (Ctrl-D works too)
input: end a line with \\ to continue it; a line with just \"\"\" starts and ends a block."""


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser("chat", parents=parents, help="talk to a chat model in the terminal",
                       description="Chat with the best chat model of a run (--run-dir: the most refined "
                       "one that keeps the evaluation suite) or with a checkpoint file (--checkpoint). "
                       "-p asks one question and prints the answer.",
                       epilog=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, default=None, help="run directory (default: runs/cpu)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="a checkpoint file or folder instead of a run")
    p.add_argument("-p", "--prompt", default=None, help="ask one question, print the answer, exit")
    p.add_argument("--system", default=None, help="system instructions")
    p.add_argument("--temp", type=float, default=0.0, help="temperature (default 0: greedy)")
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--no-tools", action="store_true", help="start with tools switched off")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: decoding a small model is a chain of tiny matmuls)")
    p.set_defaults(func=main)


def find_chat_checkpoint(run_dir: Path | None, checkpoint: Path | None):
    """-> (the model to talk to: source.Pick with its name, path and why; run dir or None). The
    run's best chat model by the same rule as serve and export (chatforge.engine.source.pick).
    With both, the checkpoint is used and the run directory only provides the tools' index."""
    from chatforge.engine.source import choose  # noqa: PLC0415 - start-up time

    if checkpoint is None:
        run_dir = run_dir or Path("runs/cpu")
    return choose(run_dir, checkpoint, chat_only=True), run_dir


class Style:
    def __init__(self, tty: bool):
        self.tty = tty

    def dim(self, s: str) -> str:
        return f"\x1b[2m{s}\x1b[0m" if self.tty else s

    def tool(self, s: str) -> str:
        return f"\x1b[36m{s}\x1b[0m" if self.tty else s


def read_message(prompt: str = "> ") -> str | None:
    """One user message from stdin (None at end of input), with continuation and blocks."""
    try:
        line = input(prompt)
    except EOFError:
        return None
    if line.strip() == '"""':
        lines = []
        while True:
            try:
                nxt = input("")
            except EOFError:
                break
            if nxt.strip() == '"""':
                break
            lines.append(nxt)
        return "\n".join(lines)
    parts = []
    while line.endswith("\\"):
        parts.append(line[:-1])
        try:
            line = input(". ")
        except EOFError:
            line = ""
            break
    parts.append(line)
    return "\n".join(parts)


def make_session(args: argparse.Namespace):
    from chatforge.chat.session import Session, Settings  # noqa: PLC0415 - start-up time
    from chatforge.core.device import apply_threads, pick_device  # noqa: PLC0415 - torch: start-up time
    from chatforge.tokenizer import Tokenizer  # noqa: PLC0415 - start-up time
    from chatforge.tools import make_executor  # noqa: PLC0415 - start-up time
    from chatforge.train.checkpoint import load_model  # noqa: PLC0415 - start-up time

    apply_threads(args.threads)
    got, run_dir = find_chat_checkpoint(args.run_dir, args.checkpoint)
    say(f"model: {got.name} ({got.why})", file=sys.stderr)
    model, tok_dir, meta = load_model(got.path, pick_device(args.device))
    if tok_dir is None:
        raise UserError(f"checkpoint '{got.path}' has no tokenizer folder next to it.")
    tokenizer = Tokenizer.load(tok_dir)
    executor = make_executor(run_dir)
    settings = Settings(temperature=args.temp, top_k=args.top_k, top_p=args.top_p,
                        max_new_tokens=args.max_new_tokens, tools=not args.no_tools,
                        instructions=args.system, seed=args.seed)
    return Session(model=model, tokenizer=tokenizer, executor=executor, settings=settings), meta


def answer(session, text: str, style: Style, out=None) -> None:
    out = out or sys.stdout
    def on_text(s: str) -> None:
        out.write(s)
        out.flush()

    def on_event(seg: dict) -> None:
        if seg["type"] == "tool_call":
            out.write(style.tool(f"\n[{seg['tool']}] {seg['input']}\n"))
        else:
            out.write(style.dim(f"[result] {seg['output'].rstrip()}\n"))
        out.flush()

    session.ask(text, on_text=on_text, on_event=on_event)
    out.write("\n")
    out.flush()


def command(session, line: str, style: Style) -> bool:
    """Handle a /command; False means quit."""
    cmd, _, arg = line[1:].partition(" ")
    arg = arg.strip()
    s = session.settings
    if cmd in ("quit", "exit", "q"):
        return False
    if cmd == "reset":
        session.reset()
        print(style.dim("(new conversation)"))
    elif cmd == "system":
        s.instructions = arg or None
        session.reset()
        print(style.dim(f"(system instructions {'set' if arg else 'cleared'}; new conversation)"))
    elif cmd == "temp":
        try:
            t = float(arg)
            if t < 0:
                raise ValueError
        except ValueError:
            print(style.dim("usage: /temp X with X >= 0"))
            return True
        s.temperature = t
        print(style.dim(f"(temperature {t})"))
    elif cmd == "tools":
        if arg not in ("on", "off"):
            print(style.dim("usage: /tools on|off"))
            return True
        s.tools = arg == "on"
        print(style.dim(f"(tools {arg})"))
    elif cmd == "help":
        print(HELP)
    else:
        print(style.dim(f"unknown command /{cmd}; /help lists them"))
    return True


def main(args: argparse.Namespace) -> int:
    if args.temp < 0:
        raise UserError("--temp must be >= 0.")
    session, meta = make_session(args)
    if args.prompt is not None:
        answer(session, args.prompt, Style(sys.stdout.isatty()))
        return 0
    style = Style(sys.stdout.isatty())
    print(style.dim(f"chatforge chat: {meta['checkpoint']} — /help for commands, Ctrl-D to leave"))
    while True:
        text = read_message()
        if text is None:
            print()
            return 0
        if not text.strip():
            continue
        if text.startswith("/") and "\n" not in text:
            if not command(session, text.strip(), style):
                return 0
            continue
        try:
            answer(session, text, style)
        except KeyboardInterrupt:
            print(style.dim("\n(interrupted)"))
