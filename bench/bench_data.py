"""Data pipeline throughput: ours vs datatrove's stock FineWeb pipeline, same input, one run.

    python bench/bench_data.py [--world-preset cpu] [--skip-stock] [--out bench/results/data.json]

Inputs: the crawl of a generated world (cpu preset: ~1,500 pages; `--set world.n_known=...` to
grow it) and every file in ../shared/data/warc. Both pipelines run in this process on one task
and one worker, reading the same documents through our reader (so both see the same pages).

"stock" is datatrove's examples/fineweb.py made to run offline: its URLFilter (with tldextract
told to use its bundled suffix list), Trafilatura(favour_precision=True) in datatrove's
timeout sandbox, LanguageFilter replaced by our step running the same lid.176 model (the stock
one downloads lid.176.bin), Gopher/C4/FineWeb filters with datatrove's default English
tokenizer (spaCy), MinHash with sha1 hashing (datatrove 0.10's xxhash path fails on str), PII,
JsonlWriter. Ours: the same recipe with our fast tokenizer, cached URL blocklist and our
extraction step (see docs/data.md).

Also measured: extraction quality/speed on ../shared/data/html-extraction, and language-ID
agreement with the world's labels for both offline backends.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TQDM_DISABLE", "1")


def shared_data() -> Path | None:
    env = os.environ.get("CHATFORGE_SHARED_DATA")
    p = Path(env) if env else REPO.parent / "shared" / "data"
    return p if p.is_dir() else None


def cpu_s() -> float:
    r, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


def run_ours(inputs: list[str], out: Path) -> dict:
    from chatforge.core.log import Logger, set_quiet
    from chatforge.data.stage import process
    from chatforge.pipeline import load_config

    set_quiet(True)
    cfg = load_config("cpu", ["data.tasks=1", "data.workers=1"]).data
    return process(cfg, inputs, out, Logger(None, prefix="data"))


def run_stock(inputs: list[str], out: Path) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        URLFilter,
    )
    from datatrove.pipeline.formatters import PIIFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig
    from tldextract import TLDExtract

    from chatforge.data.inputs import discover
    from chatforge.data.steps import InputReader, LanguageID

    url = URLFilter()
    url.tldextractor = TLDExtract(suffix_list_urls=(), cache_dir=None)
    files = discover(inputs)
    mh = MinhashConfig(hash_config=HashConfig(precision=64, hash_fc="sha1"))

    def ex(p, tasks, name):
        return LocalPipelineExecutor(pipeline=p, tasks=tasks, workers=1, logging_dir=str(out / "logs" / name),
                                     start_method="fork")

    ex([InputReader(files, 5_000_000), url, Trafilatura(favour_precision=True),
        LanguageID("ft176", ["en"], 0.65), GopherRepetitionFilter(), GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False), FineWebQualityFilter(),
        JsonlWriter(str(out / "filtered"))], 1, "filter").run()
    ex([JsonlReader(str(out / "filtered")), MinhashDedupSignature(str(out / "sigs"), config=mh)],
       1, "sigs").run()
    ex([MinhashDedupBuckets(str(out / "sigs"), str(out / "buckets"), config=mh)], 14, "buckets").run()
    ex([MinhashDedupCluster(str(out / "buckets"), str(out / "remove"), config=mh)], 1, "cluster").run()
    ex([JsonlReader(str(out / "filtered")), MinhashDedupFilter(str(out / "remove")), PIIFormatter(),
        JsonlWriter(str(out / "final"))], 1, "final").run()
    n = 0
    import gzip
    for f in (out / "final").glob("*.jsonl.gz"):
        with gzip.open(f, "rt") as fh:
            n += sum(1 for _ in fh)
    return {"output_documents": n}


def timed(fn, inputs: list[str], n_pages: int, work: Path) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    c0, t0 = cpu_s(), time.perf_counter()
    res = fn(inputs, work)
    wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    return {"pages": n_pages, "output_documents": res.get("output_documents"),
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "pages_per_s": round(n_pages / wall, 2), "pages_per_cpu_s": round(n_pages / cpu, 2)}


def count_pages(inputs: list[str]) -> int:
    from chatforge.data.inputs import discover, read_all

    return sum(1 for _ in read_all(discover(inputs)))


def langid_agreement(world: Path) -> dict:
    """Share of world crawl pages whose English / not-English call matches labels.jsonl."""
    from chatforge.data.extract import trafilatura_extract
    from chatforge.data.inputs import discover, read_all
    from chatforge.data.langid import load_langid

    labels = {json.loads(line)["url"]: json.loads(line) for line in (world / "crawl" / "labels.jsonl").open()}
    pages = [(d["url"], trafilatura_extract(d["text"]))
             for d in read_all(discover([str(world / "crawl" / "crawl.warc.gz")]))]
    out = {}
    for backend in ("ft176", "py3langid"):
        m = load_langid(backend, ["en"])
        t0 = time.process_time()
        ok = n = 0
        for url, text in pages:
            if url not in labels or not text:
                continue
            keep = m.predict(text)[1]["en"] > 0.65
            ok += keep == (labels[url]["lang"] == "en")
            n += 1
        out[backend] = {"pages": n, "agreement": round(ok / n, 4),
                        "pages_per_cpu_s": round(n / max(time.process_time() - t0, 1e-9), 1)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--world-preset", default="cpu")
    ap.add_argument("--world-set", action="append", default=[],
                    help="world overrides, e.g. world.n_known=300")
    ap.add_argument("--skip-stock", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "data.json")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_data_"))
    world = tmp / "world"
    cmd = [sys.executable, "-m", "chatforge", "--quiet", "world", "--preset", args.world_preset,
           "--out", str(world)] + sum((["--set", s] for s in args.world_set), [])
    subprocess.run(cmd, check=True)
    corpora = {"world_crawl": [str(world / "crawl" / "crawl.warc.gz")]}
    shared = shared_data()
    if shared and (shared / "warc").is_dir():
        corpora["real_warcs"] = [str(shared / "warc")]

    def save() -> None:  # after every section, so a late failure keeps the numbers so far
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")

    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                f"load average at start {os.getloadavg()[0]:.1f}",
                     "pipelines": {}}
    for name, inputs in corpora.items():
        n = count_pages(inputs)
        row = {"ours": timed(run_ours, inputs, n, tmp / f"ours_{name}")}
        if not args.skip_stock:
            row["stock"] = timed(run_stock, inputs, n, tmp / f"stock_{name}")
        results["pipelines"][name] = row
        save()
    if shared and (shared / "html-extraction").is_dir():
        from chatforge.data.extract_bench import measure

        results["extraction"] = measure(shared / "html-extraction")
        save()
    results["langid_world"] = langid_agreement(world)
    shutil.rmtree(tmp, ignore_errors=True)

    save()
    print(f"{'input':<14}{'pipeline':<9}{'pages':>7}{'docs out':>9}{'wall s':>9}{'pages/s':>9}"
          f"{'pages/cpu-s':>12}")
    for name, row in results["pipelines"].items():
        for which, r in row.items():
            print(f"{name:<14}{which:<9}{r['pages']:>7}{r['output_documents']:>9}{r['wall_s']:>9.1f}"
                  f"{r['pages_per_s']:>9.2f}{r['pages_per_cpu_s']:>12.2f}")
    for name, r in results.get("extraction", {}).items():
        print(f"extraction {name}: recall {r['must_contain_recall']:.3f} precision "
              f"{r['must_not_contain_precision']:.3f} {r['pages_per_s']:.1f} pages/cpu-s")
    for name, r in results["langid_world"].items():
        print(f"langid {name}: agreement {r['agreement']:.3f} on {r['pages']} world pages")
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
