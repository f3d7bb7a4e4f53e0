"""Are two data-stage outputs the same? Used to check that an executor (Ray, Slurm) changes how
the tasks run and nothing else: the same shards byte for byte, the same documents in the same
order, the same funnel and the same rejected samples.

    from chatforge.data.compare import compare_outputs
    compare_outputs("clean_local", "clean_ray")["identical"]   # -> True
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from chatforge.data import iter_documents


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stats(out: Path) -> list[dict]:
    stats = json.loads((out / "stats.json").read_text())
    for s in stats:
        s.pop("time_s", None)  # the only field that depends on the machine's load
    return stats


def compare_outputs(a: str | Path, b: str | Path) -> dict:
    """Shard hashes, document-by-document equality (id, url, text, every column, in order),
    stats.json without timings, and rejected/*.jsonl; `identical` is the conjunction."""

    a, b = Path(a), Path(b)
    shards_a = {p.name: _sha256(p) for p in sorted((a / "docs").glob("*.parquet"))}
    shards_b = {p.name: _sha256(p) for p in sorted((b / "docs").glob("*.parquet"))}
    docs_a, docs_b = list(iter_documents(a)), list(iter_documents(b))
    first_diff = next((i for i, (x, y) in enumerate(zip(docs_a, docs_b)) if x != y), None)
    if first_diff is None and len(docs_a) != len(docs_b):
        first_diff = min(len(docs_a), len(docs_b))
    rej_a = {p.name: _sha256(p) for p in sorted((a / "rejected").glob("*.jsonl"))}
    rej_b = {p.name: _sha256(p) for p in sorted((b / "rejected").glob("*.jsonl"))}
    res = {
        "documents": [len(docs_a), len(docs_b)],
        "shards": sorted(shards_a),
        "shards_identical_bytes": shards_a == shards_b,
        "shard_sha256": shards_a,
        "documents_identical_in_order": first_diff is None,
        "first_differing_document": first_diff,
        "stats_identical": _stats(a) == _stats(b),
        "rejected_identical": rej_a == rej_b,
    }
    res["identical"] = bool(res["shards_identical_bytes"] and res["documents_identical_in_order"]
                            and res["stats_identical"] and res["rejected_identical"] and docs_a)
    return res
