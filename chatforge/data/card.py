"""The data stage's section of the report: the funnel from crawl to clean documents."""

from __future__ import annotations

from pathlib import Path

from chatforge.report.doc import Section
from chatforge.report.read import absent, pct, read

FUNNEL = ("read", "url_filter", "extract", "language", "gopher_repetition", "gopher_quality", "c4_quality",
          "fineweb_quality", "minhash_dedup", "pii", "write_docs")


def section(run: Path) -> Section:
    sec = Section("data", "Data: from crawl to clean documents")
    m = read(run, "data/metrics.json")
    if not isinstance(m, dict):
        return absent(sec, "data", "chatforge data")
    w = read(run, "world/metrics.json") or {}
    if w.get("crawl_pages"):
        sec.p(f"The world's crawl: {w['crawl_pages']:,} pages ({w.get('crawl_keep', '?')} worth keeping), "
              f"{w.get('documents', '?')} documents about "
              f"{sum((w.get('people') or {}).values()) or '?'} people.")
    steps = m.get("steps") or {}
    order = [s for s in FUNNEL if s in steps] + sorted(s for s in steps if s not in FUNNEL)
    rows = [[s, f"{steps[s]['in']:,}", f"{steps[s]['kept']:,}", f"{steps[s]['in'] - steps[s]['kept']:,}"]
            for s in order if isinstance(steps[s], dict) and "in" in steps[s]]
    if rows:
        sec.table(["step", "in", "kept", "removed"], rows, "The funnel: each filter's documents in and kept.")
    junk = m.get("junk_removed") or {}
    if junk:
        sec.table(["junk class (world's labels)", "pages", "removed"],
                  [[k, v.get("pages"), pct(v.get("removed_frac"))] for k, v in sorted(junk.items())])
    sec.p(f"Kept {m.get('output_documents', '?')} documents (~{m.get('output_tokens_approx', 0):,} tokens); "
          f"precision {m.get('precision')}, recall {m.get('recall')} against the world's labels; "
          f"e-mails left {m.get('emails_left')}, public IPs left {m.get('public_ips_left')}.")
    return sec
