"""Precision and recall of the kept documents against a crawl's ground truth (labels.jsonl).

labels.jsonl has one line per crawled URL: {url, keep, reason, doc_id, pii, lang}; reason is
null for good pages, else duplicate | near-duplicate | spam | lorem | language | short |
blocklist. A page counts as kept when its URL is among the output documents' URLs.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b")
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")


def public_ips(text: str) -> list[str]:
    out = []
    for m in IPV4.findall(text):
        try:
            if ipaddress.ip_address(m).is_global:
                out.append(m)
        except ValueError:
            pass
    return out


def pii_left(texts: Iterable[str]) -> dict[str, int]:
    emails = ips = 0
    for t in texts:
        emails += len(EMAIL.findall(t))
        ips += len(public_ips(t))
    return {"emails_left": emails, "public_ips_left": ips}


def read_labels(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def evaluate(labels: list[dict], kept_urls: set[str], texts: list[str]) -> dict:
    good = {r["url"] for r in labels if r.get("keep")}
    labelled = {r["url"] for r in labels}
    kept = kept_urls & labelled
    tp = len(kept & good)
    by_class: dict[str, dict] = {}
    totals = Counter(r.get("reason") for r in labels if not r.get("keep"))
    removed = Counter(r.get("reason") for r in labels if not r.get("keep") and r["url"] not in kept_urls)
    for reason, n in sorted(totals.items(), key=lambda kv: str(kv[0])):
        by_class[str(reason)] = {"pages": n, "removed": removed[reason],
                                 "removed_frac": round(removed[reason] / n, 4) if n else 1.0}
    # every labelled PII string of a kept page must be gone from the output
    pii_strings = [p for r in labels if r["url"] in kept_urls
                   for p in (r.get("pii") if isinstance(r.get("pii"), list) else [])]
    blob = "\n".join(texts)
    leaked = sum(1 for p in pii_strings if isinstance(p, str) and p and p in blob)
    return {
        "pages": len(labels), "good_pages": len(good), "kept_pages": len(kept),
        "kept_unlabelled": len(kept_urls - labelled),
        "precision": round(tp / len(kept), 4) if kept else 0.0,
        "recall": round(tp / len(good), 4) if good else 0.0,
        "junk_removed": by_class,
        "labelled_pii_leaked": leaked,
        **pii_left(texts),
    }
