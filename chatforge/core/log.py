"""Console lines for people, a JSONL metrics stream for programs, progress with rate and ETA.

`--quiet` silences the console (errors still print); the JSONL stream is always written.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def say(msg: str = "", file: TextIO | None = None) -> None:
    """Print one human-readable line unless --quiet."""
    if not _quiet:
        print(msg, file=file or sys.stdout, flush=True)


def warn(msg: str) -> None:
    """Warnings print even with --quiet: they are about data that was skipped or changed."""
    print(f"warning: {msg}", file=sys.stderr, flush=True)


def _fmt_secs(s: float) -> str:
    if s != s or s == float("inf"):
        return "?"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{sec:02d}s" if m else f"{sec}s")


def _fmt_num(x: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"{x / div:.1f}{unit}"
    return f"{x:.0f}" if x >= 10 else f"{x:.2f}"


class Logger:
    """Per-stage logger: `info` for people, `metric` for the JSONL stream, `progress` for loops."""

    def __init__(self, jsonl_path: str | Path | None = None, prefix: str = ""):
        self.jsonl_path = Path(jsonl_path) if jsonl_path else None
        self.prefix = f"[{prefix}] " if prefix else ""
        if self.jsonl_path:
            self.jsonl_path.parent.mkdir(parents=True, exist_ok=True)

    def info(self, msg: str) -> None:
        say(f"{self.prefix}{msg}")

    def warn(self, msg: str) -> None:
        warn(f"{self.prefix}{msg}")

    def metric(self, **values: Any) -> None:
        """Append one record to the stage's metrics.jsonl (append-only, one line per event)."""
        if not self.jsonl_path:
            return
        rec = {"time": round(time.time(), 3), **values}
        with open(self.jsonl_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, default=float) + "\n")

    def progress(self, total: int | None, desc: str = "", unit: str = "step",
                 start: int = 0) -> Progress:
        return Progress(total, desc=f"{self.prefix}{desc}", unit=unit, start=start)


class Progress:
    """A progress line: count/total, rate, extra throughput (e.g. tokens/s), ETA.

    On a terminal it redraws in place; otherwise it prints a line at most every 10 seconds, so
    logs from CI or `tee` stay readable.
    """

    def __init__(self, total: int | None, desc: str = "", unit: str = "step", start: int = 0,
                 stream: TextIO | None = None):
        self.total, self.desc, self.unit = total, desc, unit
        self.n = start
        self.start_n = start
        self.t0 = time.perf_counter()
        self.last_print = 0.0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.counters: dict[str, float] = {}
        self.extra = ""

    def update(self, n: int = 1, extra: str = "", **counters: float) -> None:
        """Advance by n; counters (e.g. tokens=4096) are shown as rates."""
        self.n += n
        for k, v in counters.items():
            self.counters[k] = self.counters.get(k, 0.0) + v
        if extra:
            self.extra = extra
        now = time.perf_counter()
        interval = 0.2 if self.tty else 10.0
        if now - self.last_print >= interval or (self.total and self.n >= self.total):
            self.last_print = now
            self._draw(now)

    def line(self) -> str:
        el = time.perf_counter() - self.t0
        done = self.n - self.start_n
        rate = done / el if el > 0 else 0.0
        parts = [f"{self.desc} {self.n}/{self.total}" if self.total else f"{self.desc} {self.n}"]
        parts.append(f"{_fmt_num(rate)} {self.unit}/s")
        for k, v in self.counters.items():
            parts.append(f"{_fmt_num(v / el if el > 0 else 0)} {k}/s")
        if self.total:
            left = (self.total - self.n) / rate if rate > 0 else float("inf")
            parts.append(f"ETA {_fmt_secs(left)}")
        parts.append(f"elapsed {_fmt_secs(el)}")
        if self.extra:
            parts.append(self.extra)
        return " | ".join(parts)

    def _draw(self, now: float) -> None:
        if _quiet:
            return
        text = self.line()
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if _quiet:
            return
        self._draw(time.perf_counter())
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
