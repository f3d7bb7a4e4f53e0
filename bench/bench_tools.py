"""Tool latencies: sandbox start-up per call (with each isolation layer switched off in turn),
search per query over a world's documents, calculator per expression.

    python bench/bench_tools.py [--world DIR] [--n 20]

Without --world a cpu-preset world is generated into a temporary directory first (a few seconds).
Prints one JSON object. Numbers depend on machine load: say what else was running.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _stats(ts: list[float]) -> dict:
    ts = sorted(ts)
    return {"median_ms": round(statistics.median(ts) * 1000, 2),
            "p90_ms": round(ts[int(0.9 * (len(ts) - 1))] * 1000, 2), "n": len(ts)}


def bench_sandbox(n: int) -> dict:
    from chatforge.tools.sandbox import _interpreter, run_python

    out = {}
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([_interpreter(), "-I", "-S", "-c", "pass"], check=True)
        ts.append(time.perf_counter() - t)
    out["bare_interpreter"] = _stats(ts)
    variants = {"all_layers": {}, "no_audit_hook": {"policy": False}, "no_landlock": {"landlock": False},
                "no_netns": {"network_isolation": False}}
    for name, kw in variants.items():
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            r = run_python("print(1)", **kw)
            ts.append(time.perf_counter() - t)
            assert r.ok, r
        out[name] = {**_stats(ts), "layers": r.layers}
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        r = run_python("import math, statistics, collections\nprint(statistics.mean([1, 2, 3]))")
        ts.append(time.perf_counter() - t)
    out["with_imports"] = _stats(ts)
    return out


def bench_search(world_dir: Path) -> dict:
    from chatforge.tools.search import SearchIndex, build_index
    from chatforge.world import load_world

    w = load_world(world_dir)
    docs = w.search_documents()
    with tempfile.TemporaryDirectory() as d:
        stats = build_index(docs, Path(d) / "s.sqlite")
        idx = SearchIndex(Path(d) / "s.sqlite")
        items = w.tasks("knowledge", "test")
        res = {"index": stats}
        for k, chars in ((1, 300), (2, 300), (3, 240)):
            ts, found = [], {}
            for it in items:
                t = time.perf_counter()
                hits = idx.search(it["question"], k, chars)
                ts.append(time.perf_counter() - t)
                g = found.setdefault(it["group"], [0, 0])
                g[0] += any(str(it["answer"]).lower() in h.snippet.lower() for h in hits)
                g[1] += 1
            res[f"k{k}_chars{chars}"] = {**_stats(ts), "answer_in_results": {
                g: round(a / b, 4) for g, (a, b) in found.items()}}
        idx.close()
    return res


def bench_calculator(n: int) -> dict:
    from chatforge.tools.calculator import evaluate

    exprs = ["(17 + 25) * 3 - 4 / 8", "2**64 - 1", "sqrt(144) + round(2.567, 2)", "123456789 * 987654321"]
    ts = []
    for _ in range(n):
        for e in exprs:
            t = time.perf_counter()
            evaluate(e)
            ts.append(time.perf_counter() - t)
    return _stats(ts)


def _world(tmp: Path) -> Path:
    import typing

    from chatforge.core.config import _preset_values, coerce
    from chatforge.world.build import build
    from chatforge.world.config import WorldConfig

    cfg = WorldConfig()
    hints = typing.get_type_hints(WorldConfig)
    for k, v in _preset_values("cpu").get("world", {}).items():
        setattr(cfg, k, coerce(v, hints[k], k))
    build(tmp, cfg, 1337)
    return tmp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", type=Path, default=None)
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args()
    out = {"machine": f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f} at start",
           "python": sys.version.split()[0], "root": os.geteuid() == 0}
    out["calculator"] = bench_calculator(args.n * 10)
    out["sandbox"] = bench_sandbox(args.n)
    with tempfile.TemporaryDirectory() as d:
        world = args.world or _world(Path(d))
        out["search"] = bench_search(world)
    out["load_average_end"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
