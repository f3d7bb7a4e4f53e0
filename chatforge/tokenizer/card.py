"""The tokenizer's section of the report."""

from __future__ import annotations

from pathlib import Path

from chatforge.report.doc import Section
from chatforge.report.read import absent, read


def section(run: Path) -> Section:
    sec = Section("tokenizer", "Tokenizer")
    m = read(run, "tokenizer/metrics.json")
    if not isinstance(m, dict):
        return absent(sec, "tokenizer", "chatforge tokenizer train")
    rows = [["vocabulary", f"{m.get('n_vocab')} ({m.get('n_special')} special)"],
            ["trainer", f"{m.get('trainer')} in {m.get('train_s')} s "
                        f"on {m.get('train_chars', 0):,} characters"],
            ["held-out bytes per token", m.get("heldout_bytes_per_token")],
            ["cl100k_base on the same text", m.get("cl100k_heldout_bytes_per_token")]]
    return sec.table(["", "value"], rows, "More bytes per token = fewer tokens for the same text.")
