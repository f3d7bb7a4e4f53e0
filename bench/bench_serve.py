"""Load and fuzz the server: N concurrent streaming clients for T seconds, then schemathesis.

    python bench/bench_serve.py                          # a tiny model made on the spot
    python bench/bench_serve.py --run-dir runs/cpu       # a real run's chat model
    python bench/bench_serve.py --clients 32 --duration 60 --fuzz-examples 30 --out bench/serve.json

The server runs as a real `chatforge serve` subprocess on loopback. Each client loops: a
streaming chat completion with a random prompt, timing the first token and the whole answer;
every 10th request hangs up after a few chunks (to exercise cancel-on-disconnect). An error is a
non-200 answer, an exception, or a stream without its [DONE]. The server's resident memory is
sampled every second. Then schemathesis generates valid and invalid requests from /openapi.json
and checks that none gets a 5xx. Results are printed and written as JSON (--out).
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # tests/tiny.py: the tiny model

PROMPTS = ["hi", "hello", "who are you?", "what is 2+2?", "say something", "Tell me a story about a city.",
           "What is the capital of the place where you were made?", "Count to ten.", "naïve café 🙂 日本語?"]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def start_server(args, workdir: Path) -> tuple[subprocess.Popen, str]:
    if args.run_dir:
        where = ["--run-dir", str(args.run_dir)]
    else:
        from tiny import make_tiny_checkpoint

        ckpt = make_tiny_checkpoint(workdir / "run", train_steps=80)
        where = ["--checkpoint", str(ckpt)]
    cmd = [sys.executable, "-m", "chatforge", "serve", *where, "--port", "0", "--preset", "cpu",
           "--set", f"serve.max_tokens={args.max_tokens}",
           "--set", f"serve.default_max_tokens={args.max_tokens}", "--set", f"serve.concurrency={args.concurrency}",
           "--set", f"serve.queue_size={max(64, 2 * args.clients)}", "--set", f"serve.threads={args.threads}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    url, seen = None, []
    for line in proc.stdout:
        seen.append(line)
        m = re.search(r"web page:\s+(http://\S+)/", line)
        if m:
            url = m.group(1)
            break
    if url is None:
        raise SystemExit("the server did not start:\n" + "".join(seen))
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # drain the access log
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
            delta = json.loads(line[6:])["choices"][0]["delta"] if b'"choices": [{' in line else {}
            if delta.get("content"):
                chunks += 1
                ttft = ttft if ttft is not None else time.perf_counter() - t0
            if hang_up and chunks >= 3:
                return {"ok": True, "hung_up": True}
        if not done:
            return {"ok": False, "error": "stream ended without [DONE]"}
        return {"ok": True, "ttft": ttft, "total": time.perf_counter() - t0, "chunks": chunks}
    except Exception as e:  # noqa: BLE001 - any failure is a data point
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}
    finally:
        c.close()


def load(url: str, pid: int, clients: int, duration: float, max_tokens: int) -> dict:
    host, port = url.removeprefix("http://").split(":")
    port = int(port)
    results: list[dict] = []
    lock = threading.Lock()
    stop_at = time.time() + duration
    mem: list[float] = []

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
    full = [r for r in results if r.get("ok") and not r.get("hung_up")]
    errors = [r["error"] for r in results if not r.get("ok")]
    ttft = sorted(r["ttft"] for r in full if r.get("ttft") is not None)
    total = sorted(r["total"] for r in full)

    def pct(xs, q):
        return round(xs[min(len(xs) - 1, int(q * len(xs)))], 3) if xs else None

    # the server must end idle: every slot freed, nothing queued
    conn = http.client.HTTPConnection(host, port, timeout=10)
    idle = None
    for _ in range(100):
        conn.request("GET", "/health")
        health = json.loads(conn.getresponse().read())
        if health["running"] == 0 and health["waiting"] == 0:
            idle = health
            break
        time.sleep(0.1)
    conn.close()
    quarter = mem[len(mem) // 4] if mem else float("nan")
    return {
        "clients": clients, "duration_s": round(wall, 1), "requests": len(results),
        "completed": len(full), "hung_up": sum(1 for r in results if r.get("hung_up")),
        "errors": len(errors), "error_samples": errors[:5],
        "ttft_s": {"p50": pct(ttft, 0.5), "p90": pct(ttft, 0.9), "p99": pct(ttft, 0.99)},
        "request_s": {"p50": pct(total, 0.5), "p90": pct(total, 0.9), "max": total[-1] if total else None},
        "streamed_chunks_per_s": round(sum(r["chunks"] for r in full) / wall, 1),
        "rss_mb": {"start": round(mem[0], 1) if mem else None, "at_25pct": round(quarter, 1),
                   "peak": round(max(mem), 1) if mem else None, "end": round(mem[-1], 1) if mem else None},
        "idle_after": idle is not None,
        "server_stats": idle,
    }


def fuzz(url: str, examples: int, workdir: Path) -> dict:
    exe = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    if not Path(exe).exists():
        return {"skipped": "schemathesis is not installed (pip install schemathesis)"}
    report = workdir / "fuzz.json"
    cmd = [exe, "run", f"{url}/openapi.json", "--checks", "not_a_server_error", "--max-examples", str(examples),
           "--workers", "1", "--seed", "1", "--no-color", "--request-timeout", "60",
           "--phases", "examples,coverage,fuzzing", "--suppress-health-check", "all",
           "--report", "json", "--report-json-path", str(report)]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    tail = (p.stdout + p.stderr).strip().splitlines()[-25:]
    return {"exit_code": p.returncode, "no_5xx": p.returncode == 0, "seconds": round(time.time() - t0, 1),
            "summary": tail}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", type=Path, default=None, help="serve this run (default: a tiny model)")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--concurrency", type=int, default=16, help="the server's batch size")
    ap.add_argument("--threads", type=int, default=1, help="torch threads in the server (0 = torch default; 1 is fastest for small models on a busy CPU)")
    ap.add_argument("--fuzz-examples", type=int, default=30, help="schemathesis examples per operation")
    ap.add_argument("--no-fuzz", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench_serve."))
    try:
        proc, url = start_server(args, workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        print(f"server at {url} (pid {proc.pid}); {args.clients} clients for {args.duration:.0f}s", flush=True)
        out = {"machine": f"{os.cpu_count()} CPUs", "load": load(url, proc.pid, args.clients, args.duration,
                                                                args.max_tokens)}
        print(json.dumps(out["load"], indent=2), flush=True)
        if not args.no_fuzz:
            out["fuzz"] = fuzz(url, args.fuzz_examples, workdir)
            print(json.dumps(out["fuzz"], indent=2), flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(out, indent=2) + "\n")
    ok = out["load"]["errors"] == 0 and out["load"]["idle_after"] and out.get("fuzz", {}).get("no_5xx", True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
