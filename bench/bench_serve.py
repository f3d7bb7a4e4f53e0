"""The server under load and fuzzing, old and new side by side: the same clients against each.

    python bench/bench_serve.py                                  # old (/work/baseline) vs this checkout
    python bench/bench_serve.py --servers new                    # this checkout only
    python bench/bench_serve.py --old-root /path/to/other/checkout --clients 32 --duration 60
    python bench/bench_serve.py --run-dir runs/cpu               # a real run's chat model

Each server is a real `chatforge serve` subprocess on loopback, started from its checkout
(`PYTHONPATH=<root> python -m chatforge serve ...`, with the checkout's `chatforge.__file__`
checked), serving the same tiny chat model (tests/tiny.py, made once) with the same settings.
After one warm-up request, N clients loop for T seconds: a streaming chat completion with a
random prompt, timing the first token and the whole answer; every 10th request hangs up after 3
chunks (cancel-on-disconnect). An error is a non-200 answer, an exception, or a stream without
its [DONE]. The server's resident memory is sampled every second (and its kernel high-water mark
read at the end); generated tokens come from the server's own /health counter. Then
schemathesis generates valid and invalid requests from the server's /openapi.json and every
response with a 5xx status is counted (from its HAR log).

One table compares the servers (with new/old ratios) and the machine's load average during each
run; the JSON goes to bench/results/serve_old_vs_new.json (--out). `--rounds 2` runs them
old, new, new, old, so a drifting background load falls on both alike.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # tests/tiny.py: the tiny model

from tiny import make_tiny_checkpoint  # noqa: E402

PROMPTS = ["hi", "hello", "who are you?", "what is 2+2?", "say something", "Tell me a story about a city.",
           "What is the capital of the place where you were made?", "Count to ten.", "naïve café 🙂 日本語?"]


def rss_mb(pid: int, key: str = "VmRSS") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def env_for(root: Path) -> dict:
    # PYTHONDONTWRITEBYTECODE: a read-only baseline checkout is left exactly as it is
    return {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}


def check_root(root: Path) -> str:
    """The chatforge package a server started from `root` imports: it must be that checkout's."""
    out = subprocess.run([sys.executable, "-c", "import chatforge; print(chatforge.__file__)"], cwd=root,
                         env=env_for(root), capture_output=True, text=True)
    where = out.stdout.strip()
    if out.returncode != 0 or not Path(where).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"chatforge from {root} imports {where or out.stderr.strip()}, not that checkout's")
    return where


def start_server(root: Path, where: list[str], args) -> tuple[subprocess.Popen, str]:
    settings = {"max_tokens": args.max_tokens, "default_max_tokens": args.max_tokens,
                "concurrency": args.concurrency, "queue_size": max(64, 2 * args.clients),
                "threads": args.threads}
    cmd = [sys.executable, "-m", "chatforge", "serve", *where, "--port", "0", "--preset", "cpu"]
    for k, v in settings.items():
        cmd += ["--set", f"serve.{k}={v}"]
    proc = subprocess.Popen(cmd, cwd=root, env=env_for(root), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    url, seen = None, []
    for line in proc.stdout:
        seen.append(line)
        m = re.search(r"web page:\s+(http://\S+)/", line)
        if m:
            url = m.group(1)
            break
    if url is None:
        raise SystemExit(f"the server from {root} did not start:\n" + "".join(seen))
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # drain the access log
    host, port = url.removeprefix("http://").rsplit(":", 1)
    for _ in range(300):  # printed the address: wait until it answers
        try:
            health(host, int(port))
            break
        except OSError:
            time.sleep(0.1)
    return proc, url


def one_request(host: str, port: int, rng: random.Random, max_tokens: int, hang_up: bool) -> dict:
    body = json.dumps({"model": "default", "stream": True, "max_tokens": max_tokens,
                       "temperature": 0.8, "messages": [{"role": "user", "content": rng.choice(PROMPTS)}]})
    t0 = time.perf_counter()
    c = http.client.HTTPConnection(host, port, timeout=120)
    try:
        c.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        if r.status != 200:
            return {"ok": False, "error": f"HTTP {r.status}: {r.read()[:200]!r}"}
        ttft, chunks, done = None, 0, False
        for raw in r:
            line = raw.strip()
            if not line.startswith(b"data: "):
                continue
            if line == b"data: [DONE]":
                done = True
                break
            obj = json.loads(line[6:])
            if "error" in obj:
                return {"ok": False, "error": f"error event: {obj['error']}"}
            delta = obj["choices"][0].get("delta", {}) if obj.get("choices") else {}
            if delta.get("content"):
                chunks += 1
                ttft = ttft if ttft is not None else time.perf_counter() - t0
            if hang_up and chunks >= 3:
                return {"ok": True, "hung_up": True}
        if not done:
            return {"ok": False, "error": "stream ended without [DONE]"}
        return {"ok": True, "ttft": ttft, "total": time.perf_counter() - t0, "chunks": chunks}
    except Exception as e:  # any failure is a data point
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}
    finally:
        c.close()


def health(host: str, port: int) -> dict:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", "/health")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def pct(xs: list[float], q: float) -> float | None:
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 3) if xs else None


def load(url: str, pid: int, clients: int, duration: float, max_tokens: int) -> dict:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    port = int(port)
    one_request(host, port, random.Random(-1), max_tokens, False)  # warm-up: first-call costs out
    results: list[dict] = []
    lock = threading.Lock()
    mem: list[float] = []
    tokens0 = health(host, port)["tokens"]
    load0 = os.getloadavg()[0]
    stop_at = time.time() + duration

    def client(i: int) -> None:
        rng = random.Random(i)
        n = 0
        while time.time() < stop_at:
            n += 1
            res = one_request(host, port, rng, max_tokens, hang_up=(n % 10 == 0))
            with lock:
                results.append(res)

    def sampler() -> None:
        while time.time() < stop_at + 1:
            mem.append(rss_mb(pid))
            time.sleep(1.0)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    threading.Thread(target=sampler, daemon=True).start()
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    load1 = os.getloadavg()[0]
    full = [r for r in results if r.get("ok") and not r.get("hung_up")]
    errors = [r["error"] for r in results if not r.get("ok")]
    ttft = sorted(r["ttft"] for r in full if r.get("ttft") is not None)
    total = sorted(r["total"] for r in full)
    idle = None
    for _ in range(100):  # the server must end idle: every slot freed, nothing queued
        h = health(host, port)
        if h["running"] == 0 and h["waiting"] == 0:
            idle = h
            break
        time.sleep(0.1)
    tokens = (idle or health(host, port))["tokens"] - tokens0
    return {
        "clients": clients, "duration_s": round(wall, 1), "requests": len(results),
        "completed": len(full), "hung_up": sum(1 for r in results if r.get("hung_up")),
        "errors": len(errors), "error_samples": errors[:5],
        "ttft_s": {"p50": pct(ttft, 0.5), "p90": pct(ttft, 0.9), "p99": pct(ttft, 0.99)},
        "request_s": {"p50": pct(total, 0.5), "p90": pct(total, 0.9), "p99": pct(total, 0.99),
                      "max": round(total[-1], 3) if total else None},
        "streamed_chunks_per_s": round(sum(r["chunks"] for r in full) / wall, 1),
        "generated_tokens_per_s": round(tokens / wall, 1),
        "rss_mb": {"start": round(mem[0], 1) if mem else None, "peak": round(max(mem), 1) if mem else None,
                   "end": round(mem[-1], 1) if mem else None},
        "load_avg_1min": {"start": round(load0, 2), "end": round(load1, 2)},
        "idle_after": idle is not None, "server_stats": idle,
    }


def fuzz(url: str, examples: int, workdir: Path) -> dict:
    """schemathesis over the server's own /openapi.json; every response's status from its HAR log."""
    exe = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    if not Path(exe).exists():
        return {"skipped": "schemathesis is not installed (pip install -e '.[bench]' -c constraints.txt)"}
    har = workdir / f"fuzz-{time.time_ns()}.har"
    cmd = [exe, "run", f"{url}/openapi.json", "--checks", "not_a_server_error", "--max-examples",
           str(examples), "--workers", "1", "--seed", "1", "--no-color", "--request-timeout", "60",
           "--continue-on-failure",
           "--phases", "examples,coverage,fuzzing", "--suppress-health-check", "all",
           "--report", "har", "--report-har-path", str(har)]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    entries = json.loads(har.read_text())["log"]["entries"] if har.is_file() else []
    statuses = [e["response"]["status"] for e in entries]
    five = sorted({f"{e['request']['method']} {e['request']['url'].split('?')[0].removeprefix(url)} -> "
                   f"{e['response']['status']}" for e in entries if e["response"]["status"] >= 500})
    return {"exit_code": p.returncode, "requests": len(statuses),
            "responses_5xx": sum(s >= 500 for s in statuses),
            "responses_4xx": sum(400 <= s < 500 for s in statuses), "where_5xx": five,
            "seconds": round(time.time() - t0, 1),
            "summary": (p.stdout + p.stderr).strip().splitlines()[-15:]}


def run_one(name: str, root: Path, where: list[str], args, workdir: Path) -> dict:
    pkg = check_root(root)
    proc, url = start_server(root, where, args)
    try:
        print(f"[{name}] {pkg}: server at {url} (pid {proc.pid}); {args.clients} clients for "
              f"{args.duration:.0f}s", flush=True)
        out = {"root": str(root), "package": pkg,
               "load": load(url, proc.pid, args.clients, args.duration, args.max_tokens)}
        out["load"]["rss_mb"]["high_water"] = round(rss_mb(proc.pid, "VmHWM"), 1)
        print(json.dumps(out["load"], indent=2), flush=True)
        if not args.no_fuzz:
            out["fuzz"] = fuzz(url, args.fuzz_examples, workdir)
            print(json.dumps({k: v for k, v in out["fuzz"].items() if k != "summary"}, indent=2), flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return out


def _mean(runs: list[dict], get) -> float | None:
    vals = [get(r) for r in runs]
    vals = [v for v in vals if v is not None]
    return sum(vals) / len(vals) if vals else None


ROWS = [  # label, how to read it from one run, format
    ("requests (complete + hung up)", lambda r: r["load"]["requests"], "{:.0f}"),
    ("errors", lambda r: r["load"]["errors"], "{:.0f}"),
    ("time to first token p50 (s)", lambda r: r["load"]["ttft_s"]["p50"], "{:.3f}"),
    ("time to first token p90 (s)", lambda r: r["load"]["ttft_s"]["p90"], "{:.3f}"),
    ("time to first token p99 (s)", lambda r: r["load"]["ttft_s"]["p99"], "{:.3f}"),
    ("whole answer p50 (s)", lambda r: r["load"]["request_s"]["p50"], "{:.3f}"),
    ("whole answer p99 (s)", lambda r: r["load"]["request_s"]["p99"], "{:.3f}"),
    ("generated tokens/s (server count)", lambda r: r["load"]["generated_tokens_per_s"], "{:.1f}"),
    ("streamed text chunks/s (clients)", lambda r: r["load"]["streamed_chunks_per_s"], "{:.1f}"),
    ("server RSS at start (MB)", lambda r: r["load"]["rss_mb"]["start"], "{:.1f}"),
    ("server RSS peak (MB)", lambda r: r["load"]["rss_mb"]["high_water"], "{:.1f}"),
    ("ends idle (1 = yes)", lambda r: float(r["load"]["idle_after"]), "{:.0f}"),
    ("load average during the run (1 min)",
     lambda r: (r["load"]["load_avg_1min"]["start"] + r["load"]["load_avg_1min"]["end"]) / 2, "{:.2f}"),
    ("schemathesis requests", lambda r: r.get("fuzz", {}).get("requests"), "{:.0f}"),
    ("schemathesis 5xx responses", lambda r: r.get("fuzz", {}).get("responses_5xx"), "{:.0f}"),
]


def table(results: dict[str, list[dict]]) -> str:
    names = list(results)
    head = ["", *names] + (["new/old"] if names == ["old", "new"] else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for label, get, fmt in ROWS:
        vals = [_mean(results[n], get) for n in names]
        cells = [fmt.format(v) if v is not None else "-" for v in vals]
        if len(head) > len(cells) + 1:
            old, new = vals
            cells.append(f"{new / old:.2f}x" if old and new is not None else "-")
        lines.append("| " + " | ".join([label, *cells]) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", choices=["both", "old", "new"], default="both")
    ap.add_argument("--old-root", type=Path, default=Path("/work/baseline"),
                    help="the old server's checkout")
    ap.add_argument("--new-root", type=Path, default=REPO,
                    help="the new server's checkout (default: this one)")
    ap.add_argument("--run-dir", type=Path, default=None, help="serve this run (default: a tiny model)")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--concurrency", type=int, default=16, help="the server's batch size")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads in the server (0 = torch's default)")
    ap.add_argument("--rounds", type=int, default=1, help="old, new, then new, old, ... (both only)")
    ap.add_argument("--fuzz-examples", type=int, default=30, help="schemathesis examples per operation")
    ap.add_argument("--no-fuzz", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "serve_old_vs_new.json")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench_serve."))
    roots = {"old": args.old_root, "new": args.new_root}
    order = ["old", "new"] if args.servers == "both" else [args.servers]
    results: dict[str, list[dict]] = {n: [] for n in order}
    try:
        if args.run_dir:
            where = ["--run-dir", str(args.run_dir.resolve())]
        else:
            where = ["--checkpoint", str(make_tiny_checkpoint(workdir / "run", train_steps=80))]
        for r in range(args.rounds):
            for name in order if r % 2 == 0 else order[::-1]:
                results[name].append(run_one(name, roots[name].resolve(), where, args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = table(results)
    cpus = f"{os.cpu_count()} CPUs"
    print(f"\n{args.clients} streaming clients x {args.duration:.0f} s, {args.max_tokens} max tokens, "
          f"serve.concurrency={args.concurrency}, serve.threads={args.threads}, {cpus}, "
          f"{args.rounds} round(s)\n\n{text}")
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    out = {"machine": cpus, "settings": settings, "table": text, "runs": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten: {args.out}")
    new = results.get("new", [])
    ok = all(r["load"]["errors"] == 0 and r["load"]["idle_after"]
             and not r.get("fuzz", {}).get("responses_5xx") for r in new)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
