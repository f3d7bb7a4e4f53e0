"""What the tools need working: the python sandbox starts and answers, sqlite3 has FTS5 for the
search index. Stages that sample with the tools on (sft, probe, rl, distill) need torch too."""

from __future__ import annotations

import sqlite3

from chatforge.core.deps import TORCH, Check
from chatforge.tools.sandbox import run_python


def _fts5() -> None:
    con = sqlite3.connect(":memory:")
    try:
        con.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    finally:
        con.close()


def _sandbox() -> None:
    r = run_python("print(6 * 7)")
    if not r.ok or r.output.strip() != "42":
        raise RuntimeError(f"print(6 * 7) gave {r.output.strip()!r} ({r.error or 'no error'})")


def checks(cfg=None) -> list[Check]:
    """The tools the run's [tools] section enables (None: every tool)."""
    enabled = set(getattr(getattr(cfg, "tools", None), "enabled", None) or ("python", "search"))
    out = []
    if "python" in enabled:
        out.append(Check("python sandbox", "(see docs/tools.md: namespaces, Landlock)", _sandbox))
    if "search" in enabled:
        out.append(Check("sqlite3 FTS5 (the search index)", "a Python whose sqlite3 has FTS5", _fts5))
    return out


def sampling_checks(cfg=None) -> list[Check]:
    """A stage that trains and samples a chat model with the tools on."""
    return [TORCH, *checks(cfg)]
