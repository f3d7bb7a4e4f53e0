"""The rankings store for RLHF: one JSON line per ranking in run_dir/rankings.jsonl, written by
people in the web page (source "web") and by `chatforge rank`'s labelers (source "gold"), mixed
by the reward model.

    {"time": "2026-...Z", "model": "sft", "checkpoint": ".../step_000400.pt", "source": "web",
     "messages": [... the conversation up to the prompt ...],
     "answers": ["...", "...", ...],          # the sampled answers, as shown
     "ranking": [2, 0, 1]}                     # indices into answers, best first

Append-safe: each batch of records is one `write()` of whole lines to a file opened with
O_APPEND (the kernel places it at the end even with several writers), under a lock for this
process's threads and an exclusive `flock` for other processes (a server and `chatforge rank`
at once), then fsync'd, so a crash never leaves a half line followed by a good one, and readers
skip a torn last line if power fails mid-write.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path

FILE = "rankings.jsonl"
_lock = threading.Lock()


def append(run_dir: Path, record: dict) -> Path:
    return append_many(run_dir, [record])


def append_many(run_dir: Path, records: list[dict]) -> Path:
    """Append records (each stamped with the time) in one locked, fsync'd write."""
    path = Path(run_dir) / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    data = b"".join((json.dumps({"time": now, **r}, ensure_ascii=False) + "\n").encode("utf-8")
                    for r in records)
    with _lock:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            view = memoryview(data)
            while view:  # a regular file takes it in one write; loop in case it does not
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)  # releases the flock
    return path


def read(run_dir: Path) -> list[dict]:
    """All complete records (a torn last line is skipped)."""
    out = []
    try:
        with open(Path(run_dir) / FILE, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
    except FileNotFoundError:
        pass
    return out


def select(records: list[dict], sources: str) -> list[dict]:
    """The records of the named sources ("all", or a comma list such as "gold,web")."""
    if sources.strip() == "all":
        return records
    want = {x.strip() for x in sources.split(",") if x.strip()}
    return [r for r in records if r.get("source", "web") in want]
