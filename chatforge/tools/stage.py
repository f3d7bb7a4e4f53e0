"""The tools stage: build the search index over the world's search documents."""

from __future__ import annotations

import time

from chatforge.core.errors import UserError
from chatforge.tools.registry import INDEX_NAME
from chatforge.tools.search import SearchIndex, build_index, fts5_available
from chatforge.world import load_world


def run(ctx) -> dict:
    if not fts5_available():
        raise UserError("this Python's sqlite3 has no FTS5; the search tool needs it.")
    world = load_world(ctx.input_dir("world"))
    docs = list(world.search_documents())
    ctx.log.info(f"indexing {len(docs)} documents for search")
    path = ctx.out / INDEX_NAME
    stats = build_index(docs, path)
    # one timed query per person name gives the latency a model will see per call
    idx = SearchIndex(path)
    names = [p.name for p in getattr(world, "people", [])][:50]
    t0 = time.perf_counter()
    for name in names:
        idx.search(name, ctx.config.tools.search_top_k, ctx.config.tools.search_snippet_chars)
    per_query_ms = (time.perf_counter() - t0) * 1000 / max(1, len(names))
    idx.close()
    ctx.log.info(f"search index: {stats['n_docs']} documents, {stats['index_bytes'] / 1e6:.2f} MB -> {path}")
    metrics = {**stats, "search_ms_per_query": round(per_query_ms, 3), "index": str(path)}
    ctx.log.metric(**metrics)
    return metrics
