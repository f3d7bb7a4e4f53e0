"""Per-step stats, the funnel summary and rejected samples, from datatrove's per-task stats.

datatrove writes one stats file per finished task (_work/logs/<executor>/stats/<rank>.json); we
sum them ourselves rather than trusting its merged stats.json, which only covers the tasks run
by the last invocation (after a resume it would miss the tasks finished before the kill).
Tokens in the funnel are approximated as characters / 4 of the text at that point.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from chatforge.core.atomic import atomic_write_json, atomic_write_text

_SKIP_KEYS = {"total", "forwarded", "dropped", "doc_len", "doc_len_tokens", "documents", "written"}


def _sum_stats(folder: Path) -> list[dict]:
    """Per step: summed counters, summed doc_len total, summed time."""
    steps: list[dict] = []
    for f in sorted((folder / "stats").glob("*.json")):
        for i, st in enumerate(json.loads(f.read_text())):
            while len(steps) <= i:
                steps.append({"name": "", "counts": defaultdict(float), "chars": 0.0, "time_s": 0.0})
            s = steps[i]
            s["name"] = st.get("name", "")
            ts = st.get("time_stats")
            if isinstance(ts, dict):
                s["time_s"] += float(ts.get("total", 0.0))
            for k, v in (st.get("stats") or {}).items():
                if k == "doc_len" and isinstance(v, dict):
                    s["chars"] += float(v.get("total", 0.0))
                elif isinstance(v, dict):
                    s["counts"][k] += float(v.get("total", 0.0))
                elif isinstance(v, (int, float)):
                    s["counts"][k] += float(v)
    return steps


def step_stats(work: Path, plans: list[tuple[str, object, list[str]]]) -> list[dict]:
    """One record per pipeline step that documents flow through, in order."""
    out: list[dict] = []
    for name, _, labels in plans:
        if name in ("sigs", "buckets", "cluster"):
            continue
        summed = _sum_stats(work / "logs" / name)
        for label, s in zip(labels, summed):
            if label in ("write_filtered", "ensure_filtered", "read_filtered"):
                continue
            c = s["counts"]
            if label == "read":
                n_in = c.get("documents", 0) + sum(v for k, v in c.items() if k.startswith("skipped_"))
                kept = c.get("documents", 0)
                dropped = {k[len("skipped_"):]: int(v) for k, v in c.items() if k.startswith("skipped_")}
            elif label == "write_docs":
                n_in = kept = c.get("written", 0)
                dropped = {}
            elif label == "pii":
                n_in = kept = c.get("total", 0)
                dropped = {}
            else:
                n_in, kept = c.get("total", 0), c.get("forwarded", 0)
                dropped = {k[len("dropped_"):]: int(v) for k, v in c.items() if k.startswith("dropped_")}
                other = int(c.get("dropped", 0)) - sum(dropped.values())
                if other > 0:
                    dropped["duplicate" if label == "minhash_dedup" else "other"] = other
            out.append({"step": label, "in": int(n_in), "kept": int(kept),
                        "dropped": dict(sorted(dropped.items())),
                        "chars_kept": int(s["chars"]), "time_s": round(s["time_s"], 3)})
    # Dedup and PII don't record lengths; the written documents are the same ones.
    written = next((r["chars_kept"] for r in out if r["step"] == "write_docs"), 0)
    for rec in out:
        if rec["step"] in ("minhash_dedup", "pii") and not rec["chars_kept"]:
            rec["chars_kept"] = written
    # A step that saw no documents in any task writes no counters; keep the funnel continuous.
    prev = None
    for rec in out:
        if prev is not None and rec["in"] == 0 and prev["kept"]:
            rec["in"] = rec["kept"] = prev["kept"]
        prev = rec
    return out


def funnel_text(stats: list[dict], title: str) -> str:
    first = stats[0]["in"] if stats else 0
    lines = [title, "", "tokens ~ characters / 4 of the text after each step (raw HTML after 'read')", "",
             f"{'step':<20}{'in':>9}{'kept':>9}{'kept %':>8}{'~tokens':>12}{'time s':>9}  dropped by reason"]
    for s in stats:
        pct = 100.0 * s["kept"] / first if first else 0.0
        why = ", ".join(f"{k}={v}" for k, v in sorted(s["dropped"].items(), key=lambda kv: -kv[1]))
        if s["step"] == "pii":
            why = "(masks e-mails and public IPv4s; drops nothing)"
        lines.append(f"{s['step']:<20}{s['in']:>9}{s['kept']:>9}{pct:>7.1f}%"
                     f"{s['chars_kept'] // 4:>12}{s['time_s']:>9.2f}  {why}")
    return "\n".join(lines) + "\n"


def merge_rejected(work: Path, out: Path, limit: int) -> dict[str, int]:
    """_work/rejected/<reason>.<rank>.jsonl -> rejected/<reason>.jsonl (ranks in order, capped)."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for f in sorted((work / "rejected").glob("*.jsonl")):
        reason = f.name.rsplit(".", 2)[0]
        groups[reason].append(f)
    counts = {}
    for reason, files in sorted(groups.items()):
        rows: list[str] = []
        for f in files:
            rows += [ln for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
        rows = rows[:limit]
        atomic_write_text(out / "rejected" / f"{reason}.jsonl", "".join(r + "\n" for r in rows))
        counts[reason] = len(rows)
    return counts


def write_reports(out: Path, plans, title: str, limit: int) -> list[dict]:
    stats = step_stats(out / "_work", plans)
    atomic_write_json(out / "stats.json", stats)
    atomic_write_text(out / "summary.txt", funnel_text(stats, title))
    merge_rejected(out / "_work", out, limit)
    return stats
