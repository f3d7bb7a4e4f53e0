"""One script for a GPU session: NCCL comes up, and a ~124M model trains fast on the training core.

    python bench/gpu_check.py                 # bf16, torch.compile, batch 16 x 1024, 30 timed steps
    python bench/gpu_check.py --no-compile --steps 10 --out results.json

Checks, in order (each prints one line; the first failure exits non-zero with the reason):
  1. CUDA is there (exit 2 with a clear message when it is not: this is not a CPU script)
  2. NCCL initialises as a 1-process group and all-reduces a tensor
  3. a GPT-2-small-sized chatforge GPT (12 x 768, vocab 50304, seq 1024, ~124M params) trains
     through chatforge.train (Trainer, Muon/AdamW, bf16 autocast, optional compile); loss must drop
Reports tokens/s and MFU against the bf16 matmul peak measured on this GPU (and against the
card's nominal dense bf16 peak where known).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NOMINAL_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12}


class RandomTokens:
    """Batches drawn from a fixed pool of 256 random rows: nothing to learn but memorisation,
    which is enough for the loss to fall visibly within a few dozen steps."""

    def __init__(self, vocab, batch, seq, device):
        import torch

        self.batch, self.pos = batch, 0
        g = torch.Generator().manual_seed(0)
        self.pool = torch.randint(0, vocab, (256, seq + 1), generator=g).to(device)
        self.g = g

    def next_batch(self):
        import torch

        idx = torch.randint(0, len(self.pool), (self.batch,), generator=self.g).to(self.pool.device)
        rows = self.pool[idx]
        self.pos += 1
        return rows[:, :-1], rows[:, 1:]

    def state_dict(self):
        return {"pos": self.pos}

    def load_state_dict(self, s):
        self.pos = s["pos"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=30, help="timed steps")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--optimizer", default="muon", choices=["muon", "adamw"])
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args()

    import torch
    import torch.distributed as dist

    if not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU is visible to PyTorch (torch.cuda.is_available() is False); "
              "run this on a GPU machine with a CUDA build of torch.", file=sys.stderr)
        return 2
    dev = torch.device("cuda", 0)
    name = torch.cuda.get_device_name(dev)
    print(f"[1] CUDA ok: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}")

    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29531")
    os.environ.setdefault("RANK", "0")
    os.environ.setdefault("WORLD_SIZE", "1")
    t0 = time.perf_counter()
    dist.init_process_group("nccl", device_id=dev)
    x = torch.ones(4, device=dev)
    dist.all_reduce(x)
    torch.cuda.synchronize()
    assert x.tolist() == [1.0] * 4, "NCCL all_reduce gave a wrong result"
    print(f"[2] NCCL ok: 1-process group, all_reduce in {time.perf_counter() - t0:.2f}s")

    from chatforge.model.config import ModelConfig
    from chatforge.model.gpt import GPT
    from chatforge.train.dist import DistInfo
    from chatforge.train.loop import LoopConfig, Trainer
    from chatforge.train.mfu import measure_matmul_peak
    from chatforge.train.optim import OptimConfig, build_optimizer
    from chatforge.train.schedule import lr_multiplier

    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    peak = measure_matmul_peak(dev, torch.bfloat16)
    torch.manual_seed(0)
    cfg = ModelConfig(n_layer=12, d_model=768, n_head=12, n_kv_head=12, max_seq_len=args.seq,
                      vocab_size=50304)
    model = GPT(cfg).to(dev)
    fpt = model.flops_per_token(args.seq)
    opt = build_optimizer(model, OptimConfig(name=args.optimizer,
                                             lr=6e-4 if args.optimizer == "adamw" else 3e-3, muon_lr=0.02))
    total = args.warmup + args.steps

    def loss_fn(m, batch):
        x, y = batch
        return m(x, targets=y), x.numel()

    times: list[float] = []
    losses: list[float] = []

    def record(tr):
        times.append(tr.stats.step_time)
        losses.append(tr.stats.loss)

    from chatforge.train.loop import Hook

    tr = Trainer(model, opt, RandomTokens(cfg.vocab_size, args.batch, args.seq, dev), loss_fn,
                 LoopConfig(steps=total, dtype="bfloat16", compile=not args.no_compile, ckpt_every=0,
                            log_every=0, lr=lambda s: lr_multiplier(s, total, 5, 0.0), flops_per_token=fpt,
                            peak_flops=peak),
                 dist=DistInfo(device=dev), hooks=[Hook(1, record)])
    t0 = time.perf_counter()
    tr.fit()
    wall = time.perf_counter() - t0
    timed = times[args.warmup:]
    step_s = sorted(timed)[len(timed) // 2]
    tps = args.batch * args.seq / step_s
    mfu = fpt * tps / peak
    nominal = next((v for k, v in NOMINAL_BF16.items() if k in name), None)
    res = {
        "gpu": name, "params": model.num_params(), "flops_per_token": fpt, "batch": args.batch,
        "seq": args.seq, "optimizer": args.optimizer, "compile": not args.no_compile,
        "median_step_s": round(step_s, 4), "tokens_per_s": round(tps), "mfu_vs_measured_peak": round(mfu, 4),
        "measured_bf16_peak_tflops": round(peak / 1e12, 1),
        "mfu_vs_nominal_peak": round(fpt * tps / nominal, 4) if nominal else None,
        "loss_first": round(losses[0], 3), "loss_last": round(losses[-1], 3), "wall_s": round(wall, 1),
        "max_mem_gib": round(torch.cuda.max_memory_allocated(dev) / 2 ** 30, 2),
    }
    ok = losses[-1] < losses[0] - 1.0
    print(f"[3] training {'ok' if ok else 'FAILED (loss did not fall)'}: "
          f"{model.num_params() / 1e6:.0f}M params, {tps:,.0f} tokens/s, "
          f"MFU {100 * mfu:.1f}% of measured {peak / 1e12:.0f} TFLOP/s bf16"
          + (f" ({100 * res['mfu_vs_nominal_peak']:.1f}% of nominal)" if nominal else "")
          + f", loss {losses[0]:.2f} -> {losses[-1]:.2f}, {res['max_mem_gib']} GiB")
    print(json.dumps(res, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2))
    dist.destroy_process_group()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
