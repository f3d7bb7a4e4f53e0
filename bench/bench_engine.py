"""Generation speed of chatforge's engine next to Hugging Face `generate` on the same weights.

    python bench/bench_engine.py                 # cpu-preset-sized model, random weights
    python bench/bench_engine.py --checkpoint runs/cpu/pretrain

Two workloads, each timed end to end (prefill included), best of --reps, alternating the two
implementations so a busy machine slows both alike:
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


def build_model(checkpoint: str | None, vocab: int):
    from chatforge.core.config import load_config
    from chatforge.model import GPT

    if checkpoint:
        from chatforge.train.checkpoint import load_model

        model, _, meta = load_model(checkpoint, "cpu")
        return model, f"checkpoint {meta['checkpoint']}"
    torch.manual_seed(0)
    cfg = load_config("cpu").model
    return GPT.build(cfg, vocab).eval(), f"cpu preset shape, random weights, vocab {vocab}"


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process). With one thread on a machine shared with
    other jobs, CPU time is the fairer clock: it does not count time spent waiting for a core."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default=None, help="checkpoint file or folder (default: random weights)")
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

    from chatforge.core.atomic import atomic_write_json
    from chatforge.engine import Engine
    from chatforge.model.hf_map import to_hf_model

    model, what = build_model(args.checkpoint, args.vocab)
    hf = to_hf_model(model)
    V, N = model.config.vocab_size, args.new_tokens
    g = torch.Generator().manual_seed(1)
    prompt = torch.randint(0, V, (1, args.prompt_len), generator=g)
    ids = prompt[0].tolist()
    engine = Engine(model)

    def ours_b1():
        out = engine.generate([ids], max_new_tokens=N, temperature=0)
        assert len(out[0].tokens) == N

    def ours_bn():
        out = engine.generate([ids], num_samples=args.batch, max_new_tokens=N, temperature=1.0, seed=0)
        assert sum(len(o.tokens) for o in out) == N * args.batch

    hf_kw = dict(max_new_tokens=N, min_new_tokens=N, use_cache=True, pad_token_id=0, eos_token_id=None)

    @torch.inference_mode()
    def hf_b1():
        out = hf.generate(prompt, do_sample=False, **hf_kw)
        assert out.shape[1] == args.prompt_len + N

    @torch.inference_mode()
    def hf_bn():
        out = hf.generate(prompt.repeat(args.batch, 1), do_sample=True, temperature=1.0, top_k=0, **hf_kw)
        assert out.shape == (args.batch, args.prompt_len + N)

    # the engine and HF must agree on greedy output (same weights, both with a KV cache)
    ref = hf.generate(prompt, do_sample=False, **hf_kw)[0, args.prompt_len:].tolist()
    same = engine.generate([ids], max_new_tokens=N, temperature=0)[0].tokens == ref

    for fn in (ours_b1, hf_b1, ours_bn, hf_bn):  # warm-up
        fn()
    names = ("ours_b1", "hf_b1", "ours_bn", "hf_bn")
    wall = {k: float("inf") for k in names}
    cpu = dict(wall)
    for _ in range(args.reps):  # interleaved, best of reps
        for name, fn in zip(names, (ours_b1, hf_b1, ours_bn, hf_bn)):
            w, c = timed(fn)
            wall[name], cpu[name] = min(wall[name], w), min(cpu[name], c)
    clock = cpu if torch.get_num_threads() == 1 else wall
    res = {
        "model": what,
        "params": model.num_params(),
        "prompt_len": args.prompt_len,
        "new_tokens": N,
        "batch": args.batch,
        "threads": torch.get_num_threads(),
        "clock": "process CPU time" if clock is cpu else "wall",
        "greedy_matches_hf": same,
        "batch1_tok_s": {"chatforge": N / clock["ours_b1"], "transformers": N / clock["hf_b1"]},
        f"batch{args.batch}_tok_s": {"chatforge": N * args.batch / clock["ours_bn"],
                                     "transformers": N * args.batch / clock["hf_bn"]},
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
        "load_avg_1m": os.getloadavg()[0],
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    for k in ("batch1_tok_s", f"batch{args.batch}_tok_s"):
        res[k]["speedup"] = res[k]["chatforge"] / res[k]["transformers"]
    import transformers

    res["transformers_version"] = transformers.__version__
    atomic_write_json(Path(args.out), res)
    print(f"model: {what}, {res['params'] / 1e6:.2f}M params, threads {res['threads']}, clock: {res['clock']}, "
          f"load avg {res['load_avg_1m']:.1f}, greedy output identical to HF: {same}")
    print()
    print("| workload | chatforge tok/s | transformers tok/s | speedup |")
    print("|---|---:|---:|---:|")
    for label, k in (("batch 1, greedy decode", "batch1_tok_s"),
                     (f"batch {args.batch}, sampled (total)", f"batch{args.batch}_tok_s")):
        r = res[k]
        print(f"| {label} | {r['chatforge']:.0f} | {r['transformers']:.0f} | {r['speedup']:.2f}x |")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
