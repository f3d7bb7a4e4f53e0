"""Training throughput: chatforge's GPT vs Hugging Face LlamaForCausalLM, same shape, batch, dtype.

    python bench/bench_pretrain.py                 # cpu-preset model (~5M) and a ~12M model
    python bench/bench_pretrain.py --dtype bfloat16 --compile --steps 8

One training step = forward + backward + optimizer (AdamW for both; chatforge's own
optimizer vs torch.optim.AdamW) on `batch x seq` tokens. Reports tokens/s and MFU against
this machine's matmul peak measured in the same dtype, in the same process, right before the
runs (so contention from other processes shows in the denominator too). Results also go to
bench/results/pretrain.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatforge.model.config import ModelConfig
from chatforge.model.gpt import GPT
from chatforge.train.mfu import measure_matmul_peak
from chatforge.train.optim import OptimConfig, build_optimizer

SHAPES = {
    "cpu-preset (d192 L4)": dict(n_layer=4, d_model=192, n_head=3, n_kv_head=3),
    "5.9M (d256 L6)": dict(n_layer=6, d_model=256, n_head=4, n_kv_head=4),
    "12M (d384 L6)": dict(n_layer=6, d_model=384, n_head=6, n_kv_head=6),
}


def hf_model(c: ModelConfig):
    from transformers import LlamaConfig, LlamaForCausalLM

    hc = LlamaConfig(vocab_size=c.vocab_size, hidden_size=c.d_model, intermediate_size=c.ffn_dim,
                     num_hidden_layers=c.n_layer, num_attention_heads=c.n_head,
                     num_key_value_heads=c.n_kv_head, max_position_embeddings=c.max_seq_len,
                     rms_norm_eps=c.norm_eps, rope_theta=c.rope_theta,
                     tie_word_embeddings=c.tie_embeddings, attention_bias=False, mlp_bias=False)
    hc._attn_implementation = "sdpa"
    return LlamaForCausalLM(hc)


def time_steps(step, warmup: int, steps: int) -> list[float]:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


MATMUL_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"}


def op_share(step, steps: int = 2) -> dict:
    """Where one training step's time goes: self CPU time of the step's aten ops, grouped into
    matmuls (mm/addmm/bmm), attention (the SDPA kernels, whose own matmuls are inside them) and
    everything else (elementwise, copies, reductions, the optimizer's updates). Shares of the total."""
    from torch.profiler import ProfilerActivity, profile

    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    groups = {"matmul": 0.0, "attention": 0.0, "other": 0.0}
    for ev in prof.key_averages():
        if not ev.key.startswith("aten::"):
            continue
        t = ev.self_cpu_time_total
        if ev.key in MATMUL_OPS:
            groups["matmul"] += t
        elif "attention" in ev.key or "flash" in ev.key:
            groups["attention"] += t
        else:
            groups["other"] += t
    total = sum(groups.values()) or 1.0
    return {k: round(v / total, 3) for k, v in groups.items()}


def bench_one(name: str, shape: dict, args, peak: float) -> list[dict]:
    c = ModelConfig(**shape, max_seq_len=args.seq, vocab_size=args.vocab)
    torch.manual_seed(0)
    x = torch.randint(0, args.vocab, (args.batch, args.seq + 1))
    inp, tgt = x[:, :-1], x[:, 1:]
    amp = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.dtype == "bfloat16")
    rows = []

    ours = GPT(c)
    fpt = ours.flops_per_token(args.seq)
    run_ours = torch.compile(ours) if args.compile else ours
    opt = build_optimizer(ours, OptimConfig(name="adamw", lr=1e-4))

    def step_ours():
        with amp:
            loss = run_ours(inp, targets=tgt)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    hf = hf_model(c)
    run_hf = torch.compile(hf) if args.compile else hf
    hopt = torch.optim.AdamW(hf.parameters(), lr=1e-4, betas=(0.9, 0.95))

    def step_hf():
        with amp:
            out = run_hf(input_ids=inp, labels=inp)  # HF shifts labels inside: same work
        out.loss.backward()
        hopt.step()
        hopt.zero_grad(set_to_none=True)

    # interleave the two so background load hits both alike
    t_ours, t_hf = [], []
    for _ in range(args.rounds):
        t_ours += time_steps(step_ours, 1 if t_ours else args.warmup, args.steps)
        t_hf += time_steps(step_hf, 1 if t_hf else args.warmup, args.steps)
    tokens = args.batch * args.seq
    shares = ({"chatforge GPT": op_share(step_ours), "HF LlamaForCausalLM": op_share(step_hf)}
              if args.profile else {})
    for impl, ts, n in (("chatforge GPT", t_ours, ours.num_params()),
                        ("HF LlamaForCausalLM", t_hf, sum(p.numel() for p in hf.parameters()))):
        med = statistics.median(ts)
        tps = tokens / med
        rows.append(dict(model=name, impl=impl, params=n, dtype=args.dtype, compile=args.compile,
                         batch=args.batch, seq=args.seq, step_s=round(med, 4), tokens_per_s=round(tps, 1),
                         mfu=round(fpt * tps / peak, 4), **({"time_share": shares[impl]} if shares else {})))
    speed = dict(model=name, impl="speedup",
                 ratio=round(rows[-2]["tokens_per_s"] / rows[-1]["tokens_per_s"], 3))
    if shares:
        # Amdahl: if every op of ours but the matmuls and attention took no time at all
        ours_s, hf_s = rows[-2]["step_s"], rows[-1]["step_s"]
        left = shares["chatforge GPT"]["matmul"] + shares["chatforge GPT"]["attention"]
        speed["ceiling_if_other_ops_were_free"] = round(hf_s / (ours_s * left), 3)
    rows.append(speed)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=3, help="timed steps per round")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--only", default=None, help="run only shapes whose name contains this")
    ap.add_argument("--profile", action="store_true",
                    help="also profile a step of each and print where the time goes (matmul share)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dt = getattr(torch, args.dtype)
    peak = measure_matmul_peak(torch.device("cpu"), dt, seconds=2.0)
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}; measured {args.dtype} matmul peak {peak / 1e9:.1f} GFLOP/s")
    rows = []
    for name, shape in SHAPES.items():
        if args.only and args.only not in name:
            continue
        for r in bench_one(name, shape, args, peak):
            rows.append(r)
            if r["impl"] == "speedup":
                print(f"  {r['model']}: chatforge / HF = {r['ratio']:.2f}x")
                if "ceiling_if_other_ops_were_free" in r:
                    print(f"  ceiling with every elementwise/copy/optimizer op free (same matmuls and "
                          f"attention): {r['ceiling_if_other_ops_were_free']:.2f}x")
            else:
                print(f"{r['model']:<22} {r['impl']:<20} {r['params'] / 1e6:5.2f}M  "
                      f"{r['step_s']:.3f} s/step  {r['tokens_per_s']:8.0f} tok/s  MFU {100 * r['mfu']:.0f}%")
                if "time_share" in r:
                    print("    time share: "
                          + ", ".join(f"{k} {100 * v:.0f}%" for k, v in r["time_share"].items()))
    out = Path(__file__).resolve().parent / "results" / "pretrain.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"peak_flops": peak, "threads": torch.get_num_threads(), "rows": rows},
                              indent=2))


if __name__ == "__main__":
    main()
