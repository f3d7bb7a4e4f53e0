"""Reading a run directory for the report: JSON files, metric events, and figures as text.

A report section reads files other stages wrote and renders what it finds; a file that is absent
or not JSON reads as None, never an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chatforge.report.doc import Section


def read(run: Path, rel: str) -> Any:
    try:
        with open(run / rel, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def events(run: Path, stage: str, kind: str) -> list[dict]:
    out = []
    try:
        with open(run / stage / "metrics.jsonl", encoding="utf-8") as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if isinstance(r, dict) and r.get("event") == kind:
                    out.append(r)
    except OSError:
        pass
    return out


def complete(run: Path, stage: str) -> bool:
    return (run / stage / "_COMPLETE.json").is_file()


def pct(x: Any, digits: int = 1) -> str:
    return "—" if not isinstance(x, (int, float)) else f"{100 * x:.{digits}f}%"


def ci(c: Any) -> str:
    return f"[{100 * c[0]:.0f}-{100 * c[1]:.0f}%]" if isinstance(c, (list, tuple)) and len(c) == 2 else ""


def span(c: Any) -> str:
    return f"{c[0]:.3f}-{c[1]:.3f}" if isinstance(c, (list, tuple)) and len(c) == 2 else ""


def absent(sec: Section, stage: str, cmd: str) -> Section:
    return sec.p(f"This run has no {stage} stage yet (`{cmd}`).")
