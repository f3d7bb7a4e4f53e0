"""Arena votes, stored durably in one SQLite file: `<run>/arena/votes.sqlite`.

One row per vote: which prompt, which two models (by name and by the sha256 of the checkpoint
file each answer came from, so votes about a retrained "sft" are not counted for the new one),
who judged ("gold", or "person" from the web page), and the winner: "a", "b" or "tie". SQLite in
WAL mode with synchronous=FULL makes every committed vote survive a crash or a restart, and lets
the arena command and a running server write at the same time (each write is one transaction;
a busy database is waited for, not failed). The gold judge's votes are unique per (prompt, pair of
checkpoints), so running the arena again adds only the battles it has not judged yet; people may
vote on the same pair as often as they like.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

FILE = "votes.sqlite"
JUDGES = ("gold", "person")
SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    judge TEXT NOT NULL,
    prompt_id TEXT NOT NULL,
    model_a TEXT NOT NULL, sha_a TEXT NOT NULL,
    model_b TEXT NOT NULL, sha_b TEXT NOT NULL,
    winner TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie')),
    score_a REAL, score_b REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS gold_once ON votes (prompt_id, sha_a, sha_b) WHERE judge = 'gold';
"""


def path(run_dir: Path) -> Path:
    return Path(run_dir) / "arena" / FILE


def connect(run_dir: Path) -> sqlite3.Connection:
    p = path(run_dir)
    p.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(p, timeout=30, isolation_level=None)  # explicit transactions below
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.executescript(SCHEMA)
    return con


def add(run_dir: Path, votes: list[dict]) -> int:
    """Append votes {judge, prompt_id, model_a, sha_a, model_b, sha_b, winner, score_a?, score_b?}
    in one transaction; a gold vote already stored is skipped. Returns how many were added."""
    for v in votes:  # INSERT OR IGNORE would also drop a row failing the schema's CHECK silently
        if v.get("winner") not in ("a", "b", "tie") or v.get("judge") not in JUDGES:
            raise ValueError(f"not a vote: winner {v.get('winner')!r}, judge {v.get('judge')!r}")
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    rows = [(now, v["judge"], v["prompt_id"], v["model_a"], v["sha_a"], v["model_b"], v["sha_b"], v["winner"],
             v.get("score_a"), v.get("score_b")) for v in votes]
    con = connect(run_dir)
    try:
        con.execute("BEGIN IMMEDIATE")
        before = con.total_changes
        con.executemany("INSERT OR IGNORE INTO votes (time, judge, prompt_id, model_a, sha_a, model_b, "
                        "sha_b, winner, score_a, score_b) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("COMMIT")
        return con.total_changes - before
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def read(run_dir: Path) -> list[dict]:
    if not path(run_dir).is_file():
        return []
    con = connect(run_dir)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM votes ORDER BY id")]
    finally:
        con.close()


def judged(run_dir: Path) -> set[tuple[str, str, str]]:
    """(prompt_id, sha_a, sha_b) of every gold vote, to skip battles already judged."""
    return {(v["prompt_id"], v["sha_a"], v["sha_b"]) for v in read(run_dir) if v["judge"] == "gold"}
