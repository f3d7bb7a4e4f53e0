"""Generation speed of chatforge's engine next to Hugging Face `generate` on the same weights.

    python bench/bench_engine.py                 # cpu-preset shape and the older 6x256, random weights
    python bench/bench_engine.py --checkpoint runs/cpu/pretrain

Two workloads, each timed end to end (prefill included), best of --reps, alternating the
implementations so a busy machine slows them alike: the engine now, the engine with its lean
decode step off (`Engine(lean_decode=False)`, the module path it had before), and HF:
  batch 1:  one prompt, --new-tokens greedy tokens             -> decode tokens/s
  batch 16: one prompt, 16 sampled continuations in one batch  -> total new tokens/s
HF runs `LlamaForCausalLM.generate` (or Qwen3) with its KV cache, no early stop on EOS, in the
same dtype (float32). Writes bench/results/engine.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


SHAPES = {"cpu": {}, "6x256": dict(n_layer=6, d_model=256, n_head=4, n_kv_head=4)}


def build_model(checkpoint: str | None, vocab: int, shape: str):
    import dataclasses

    from chatforge.model import GPT
    from chatforge.pipeline import load_config

    if checkpoint:
        from chatforge.train.checkpoint import load_model

        model, _, meta = load_model(checkpoint, "cpu")
        return model, f"checkpoint {meta['checkpoint']}"
    torch.manual_seed(0)
    cfg = dataclasses.replace(load_config("cpu").model, **SHAPES[shape])
    c = cfg
    return GPT.build(cfg, vocab).eval(), (f"{shape} shape: {c.n_layer} layers x d {c.d_model} x "
                                          f"{c.n_head} heads; random weights, vocab {vocab}")


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process). With one thread on a machine shared with
    other jobs, CPU time is the fairer clock: it does not count time spent waiting for a core."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def bench_one(model, what: str, args) -> dict:
    from chatforge.engine import Engine
    from chatforge.engine.sampling import GREEDY
    from chatforge.model.hf_map import to_hf_model

    hf = to_hf_model(model)
    V, N, B = model.config.vocab_size, args.new_tokens, args.batch
    g = torch.Generator().manual_seed(1)
    prompt = torch.randint(0, V, (1, args.prompt_len), generator=g)
    ids = prompt[0].tolist()
    engines = {"ours": Engine(model), "before": Engine(model, lean_decode=False)}

    def b1(eng):
        out = eng.generate([ids], max_new_tokens=N, sampling=GREEDY)
        assert len(out[0].tokens) == N

    def bn(eng):
        out = eng.generate([ids], num_samples=B, max_new_tokens=N, seed=0)
        assert sum(len(o.tokens) for o in out) == N * B

    hf_kw = dict(max_new_tokens=N, min_new_tokens=N, use_cache=True, pad_token_id=0, eos_token_id=None)

    @torch.inference_mode()
    def hf_b1():
        out = hf.generate(prompt, do_sample=False, **hf_kw)
        assert out.shape[1] == args.prompt_len + N

    @torch.inference_mode()
    def hf_bn():
        out = hf.generate(prompt.repeat(B, 1), do_sample=True, temperature=1.0, top_k=0, **hf_kw)
        assert out.shape == (B, args.prompt_len + N)

    # the engine (both decode paths) and HF must agree on greedy output (same weights, KV caches)
    ref = hf.generate(prompt, do_sample=False, **hf_kw)[0, args.prompt_len:].tolist()
    same = all(e.generate([ids], max_new_tokens=N, sampling=GREEDY)[0].tokens == ref
               for e in engines.values())

    fns = {"ours_b1": lambda: b1(engines["ours"]), "before_b1": lambda: b1(engines["before"]), "hf_b1": hf_b1,
           "ours_bn": lambda: bn(engines["ours"]), "before_bn": lambda: bn(engines["before"]), "hf_bn": hf_bn}
    for fn in fns.values():  # warm-up
        fn()
    wall = {k: float("inf") for k in fns}
    cpu = dict(wall)
    for _ in range(args.reps):  # interleaved, best of reps
        for name, fn in fns.items():
            w, c = timed(fn)
            wall[name], cpu[name] = min(wall[name], w), min(cpu[name], c)
    clock = cpu if torch.get_num_threads() == 1 else wall
    res = {"model": what, "params": model.num_params(), "greedy_matches_hf": same,
           "wall_seconds": wall, "cpu_seconds": cpu}
    for key, n_tok, suffix in (("batch1_tok_s", N, "b1"), (f"batch{B}_tok_s", N * B, "bn")):
        r = {"chatforge": n_tok / clock[f"ours_{suffix}"],
             "chatforge_before": n_tok / clock[f"before_{suffix}"],
             "transformers": n_tok / clock[f"hf_{suffix}"]}
        r["speedup"] = r["chatforge"] / r["transformers"]
        r["speedup_before"] = r["chatforge_before"] / r["transformers"]
        res[key] = r
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default=None, help="checkpoint file or folder (default: random weights)")
    ap.add_argument("--shapes", default="cpu,6x256",
                    help=f"model shapes with random weights, comma-separated, from {sorted(SHAPES)}")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--prompt-len", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: fastest for this model size; 0 = torch's default)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "engine.json"))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import transformers

    from chatforge.core.atomic import atomic_write_json

    shapes = [None] if args.checkpoint else [s.strip() for s in args.shapes.split(",") if s.strip()]
    for s in shapes:
        if s is not None and s not in SHAPES:
            ap.error(f"unknown shape {s!r}; choose from {sorted(SHAPES)}")
    runs = []
    for s in shapes:
        model, what = build_model(args.checkpoint, args.vocab, s)
        runs.append(bench_one(model, what, args))
    res = {
        "prompt_len": args.prompt_len,
        "new_tokens": args.new_tokens,
        "batch": args.batch,
        "threads": torch.get_num_threads(),
        "clock": "process CPU time" if torch.get_num_threads() == 1 else "wall",
        "models": runs,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
        "transformers_version": transformers.__version__,
        "load_avg_1m": os.getloadavg()[0],
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    atomic_write_json(Path(args.out), res)
    print(f"threads {res['threads']}, clock: {res['clock']}, load avg {res['load_avg_1m']:.1f}, "
          f"{res['when']}")
    print()
    print("| model | workload | chatforge before tok/s | chatforge now tok/s | transformers tok/s | "
          "speedup before | speedup now |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for run in runs:
        name = run["model"].split(";")[0] + f" ({run['params'] / 1e6:.2f}M params)"
        if not run["greedy_matches_hf"]:
            name += " (greedy differs from HF!)"
        for label, k in (("batch 1, greedy", "batch1_tok_s"),
                         (f"batch {args.batch}, sampled (total)", f"batch{args.batch}_tok_s")):
            r = run[k]
            print(f"| {name} | {label} | {r['chatforge_before']:.0f} | {r['chatforge']:.0f} | "
                  f"{r['transformers']:.0f} | {r['speedup_before']:.2f}x | {r['speedup']:.2f}x |")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
