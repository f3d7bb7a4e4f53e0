"""What a GRPO step's forward/backward costs, with its rows padded to the longest or cut by length.

    python bench/grpo_step.py --run-dir runs/smol10 [--stage probe] [--rows 224] [--micro-batch 16]

A step's rows are prompts with sampled answers of different lengths: most answers are short, a
few run long (the RL stage's rollouts on runs/smol10: 15-41 tokens on average, up to 128). Before
`rl.grpo.by_length`, every micro-batch was padded to the step's longest row; now rows of similar
length go together and each micro-batch is cut to its longest row. This times both on the same
synthetic step (the same ids, mask and advantages; bf16 autocast where the CPU has it in
hardware; `--dtype float32`), one after the other, on the training core's loss
(`rl.grpo.make_loss`), and compares the two gradients (in fp32 they agree to ~1e-6; in bf16 the
rounding depends on the shapes and they differ far more).

Prints a table and writes bench/results/grpo_step_<run>.json (machine, settings, seconds, ratio).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chatforge.core.atomic import atomic_write_json  # noqa: E402
from chatforge.core.machine import cpu_summary  # noqa: E402


def synthetic_step(rows: int, vocab: int, prompt: int, long_share: float, seed: int):
    """ids [rows, L], the mask of the answers' tokens, advantages: answers of 12-24 tokens, and a
    `long_share` of them 60-128 tokens (an answer that ran on)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    lengths = []
    for _ in range(rows):
        long = float(torch.rand(1, generator=g)) < long_share
        lengths.append(int(torch.randint(60, 129, (1,), generator=g) if long else
                           torch.randint(12, 25, (1,), generator=g)))
    L = prompt + max(lengths)
    ids = torch.randint(0, vocab, (rows, L), generator=g)
    mask = torch.zeros(rows, L - 1)
    for i, n in enumerate(lengths):
        mask[i, prompt - 1:prompt - 1 + n] = 1.0
    return ids, mask, torch.randn(rows, generator=g), lengths


def padded(batch: dict, rows: int) -> list[dict]:
    """The step as it was cut before: row order kept, every chunk as long as the longest row."""
    n = batch["ids"].shape[0]
    norm = float(batch["mask"].sum())
    return [{"ids": batch["ids"][i:i + rows], "mask": batch["mask"][i:i + rows],
             "adv": batch["adv"][i:i + rows], "ref_logp": batch["ref_logp"][i:i + rows], "old_logp": None,
             "norm": norm, "first": i == 0}
            for i in range(0, n, rows)]


def timed(model, pieces: list[dict], loss_fn, autocast) -> tuple[float, object]:
    import torch

    model.zero_grad(set_to_none=True)
    t0 = time.perf_counter()
    for piece in pieces:
        with autocast():
            loss, _ = loss_fn(model, piece)
        loss.backward()
    seconds = time.perf_counter() - t0
    grad = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]).clone()
    return seconds, grad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run-dir", type=Path, required=True)
    ap.add_argument("--stage", default="probe")
    ap.add_argument("--rows", type=int, default=224, help="a step's kept samples (runs/smol10: 112-240)")
    ap.add_argument("--micro-batch", type=int, default=16)
    ap.add_argument("--prompt", type=int, default=40, help="prompt tokens a row")
    ap.add_argument("--long-share", type=float, default=0.05, help="share of answers that run on")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--dtype", default="native", choices=["native", "float32"])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    import contextlib

    import torch

    from chatforge.core.errors import UserError
    from chatforge.rl.grpo import make_loss, micro_batches
    from chatforge.train import checkpoint as ckpt
    from chatforge.train.mfu import resolve_dtype

    stage_dir = args.run_dir / args.stage
    if not stage_dir.is_dir():
        raise SystemExit(f"no {args.stage} stage in {args.run_dir}: run it first.")
    try:
        model, _, meta = ckpt.load_model(stage_dir)
    except (UserError, OSError, ValueError) as e:
        raise SystemExit(f"cannot load the {args.stage} model of {args.run_dir}: {e}") from None
    model.train()
    dtype = resolve_dtype(args.dtype, torch.device("cpu"), None)
    autocast = ((lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if dtype != "float32"
                else contextlib.nullcontext)
    ids, mask, adv, lengths = synthetic_step(args.rows, model.config.vocab_size, args.prompt,
                                             args.long_share, 0)
    batch = {"ids": ids, "mask": mask, "adv": adv, "ref_logp": torch.full(mask.shape, -2.0), "old_logp": None}
    loss_fn = make_loss(SimpleNamespace(clip_low=0.2, clip_high=0.28, kl=0.0), "cpu", {})
    ways = {"padded to the longest row": padded(batch, args.micro_batch),
            "by length (rl.grpo.by_length)": micro_batches(batch, args.micro_batch)}
    seconds: dict = {k: [] for k in ways}
    grads = {}
    for _ in range(args.repeats):  # alternate, so both see the same machine state
        for name, pieces in ways.items():
            s, grads[name] = timed(model, pieces, loss_fn, autocast)
            seconds[name].append(round(s, 2))
    a, b = (min(v) for v in seconds.values())
    g = list(grads.values())
    rel = float((g[0] - g[1]).norm() / g[0].norm().clamp(min=1e-12))
    tokens = sum(lengths)
    print(f"model {meta['checkpoint']}, {args.rows} rows, micro-batch {args.micro_batch}, dtype {dtype}, "
          f"{tokens} answer tokens, longest answer {max(lengths)}")
    print(f"| cut | seconds (best of {args.repeats}) | answer tokens/s |")
    print("|---|---|---|")
    for name, v in seconds.items():
        print(f"| {name} | {min(v):.1f} | {tokens / min(v):.0f} |")
    print(f"ratio {a / b:.2f}x; gradients differ by {rel:.1e} (relative norm)")
    out = args.out or REPO / "bench" / "results" / f"grpo_step_{args.run_dir.name}.json"
    settings = vars(args) | {"run_dir": str(args.run_dir), "out": str(out), "dtype": dtype}
    atomic_write_json(out, {"machine": cpu_summary(), "settings": settings,
                            "answer_tokens": tokens, "longest": max(lengths), "seconds": seconds,
                            "ratio": round(a / b, 3), "grad_rel_diff": rel})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
