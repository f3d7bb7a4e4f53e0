"""The data stage on datatrove's Ray executor vs its local executor: same input, same output?

    ray start --head --num-cpus=2 --include-dashboard=false     # a real (one-node) Ray cluster
    python bench/data_ray.py [--world-preset cpu] [--tasks 4] [--workers 2] [--address auto]
    ray stop

Inputs: the crawl of a generated world (cpu preset: ~1,500 pages, one WARC) plus every WARC in
../shared/data/warc (13 files, 6 of them malformed) when that folder exists, so the filter stage
has several tasks and the shards' order matters. Both runs are the real command
(`chatforge data --input ... --out ...`, once with `--executor ray`), in subprocesses, one after
the other. The comparison (chatforge.data.compare) checks the parquet shards byte for byte, the
documents one by one in order, the funnel and the rejected samples; it and the timings go to
bench/results/data_ray.json. Exit 1 when the outputs differ.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def machine() -> dict:
    info = {"python": platform.python_version(), "cores": os.cpu_count(), "platform": platform.platform()}
    try:
        cpu = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(ln.split(":", 1)[1].strip() for ln in cpu.splitlines()
                           if ln.startswith("model name"))
        flags = next(ln.split(":", 1)[1].split() for ln in cpu.splitlines() if ln.startswith("flags"))
        info["flags"] = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
        mem = Path("/proc/meminfo").read_text().split()[1]
        info["mem_gib"] = round(int(mem) / 2 ** 20, 1)
    except (OSError, StopIteration, IndexError):
        pass
    return info


def run_data(inputs: list[str], out: Path, tasks: int, workers: int, extra: list[str]) -> float:
    cmd = [sys.executable, "-m", "chatforge", "--quiet", "data", "--input", *inputs, "--out", str(out),
           "--tasks", str(tasks), "--workers", str(workers), *extra]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return round(wall, 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world-preset", default="cpu")
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--address", default="auto",
                    help="the Ray cluster (default: the one `ray start` left here)")
    ap.add_argument("--no-shared", action="store_true", help="only the world's crawl")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "data_ray.json")
    args = ap.parse_args()

    from importlib.metadata import version

    import ray

    from chatforge.data.compare import compare_outputs
    from chatforge.data.inputs import discover

    tmp = Path(tempfile.mkdtemp(prefix="chatforge-data-ray-"))
    try:
        world = tmp / "world"
        subprocess.run([sys.executable, "-m", "chatforge", "--quiet", "world", "--preset", args.world_preset,
                        "--out", str(world)], cwd=REPO, check=True)
        inputs = [str(world / "crawl" / "crawl.warc.gz")]
        shared = REPO.parent / "shared" / "data" / "warc"
        if shared.is_dir() and not args.no_shared:
            inputs.append(str(shared))
        walls = {"local": run_data(inputs, tmp / "local", args.tasks, args.workers, []),
                 "ray": run_data(inputs, tmp / "ray", args.tasks, args.workers,
                                 ["--executor", "ray", "--ray-address", args.address])}
        cmp = compare_outputs(tmp / "local", tmp / "ray")
        metrics = {k: json.loads((tmp / k / "metrics.json").read_text()) for k in walls}
        ray.init(address=args.address, log_to_driver=False, logging_level="ERROR")
        cluster = {"nodes": len([n for n in ray.nodes() if n.get("Alive")]),
                   "resources": {k: v for k, v in ray.cluster_resources().items()
                                 if k in ("CPU", "GPU", "memory")}}
        ray.shutdown()
        res = {
            "command": f"chatforge data --input {' '.join(inputs)} --out OUT --tasks {args.tasks} "
                       f"--workers {args.workers} [--executor ray --ray-address {args.address}]",
            "world_preset": args.world_preset, "input_files": len(discover(inputs)),
            "input_documents": metrics["local"]["input_documents"],
            "output_documents": metrics["local"]["output_documents"],
            "comparison": cmp,
            "wall_s": walls,
            "pipeline_wall_s": {k: m["pipeline_wall_s"] for k, m in metrics.items()},
            "precision_recall": {k: [m.get("precision"), m.get("recall")] for k, m in metrics.items()},
            "versions": {"ray": ray.__version__, "datatrove": version("datatrove")},
            "ray_cluster": cluster,
            "machine": machine(),
            "finished_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=2) + "\n")
        print(f"{res['input_documents']} pages -> {res['output_documents']} documents in "
              f"{len(cmp['shards'])} shards; local {walls['local']} s, ray {walls['ray']} s (wall, "
              f"incl. start-up); identical: {cmp['identical']} (shards byte for byte "
              f"{cmp['shards_identical_bytes']}, documents in order {cmp['documents_identical_in_order']}, "
              f"funnel {cmp['stats_identical']}, rejected samples {cmp['rejected_identical']}) -> {args.out}")
        return 0 if cmp["identical"] else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
