"""Batches decoded side by side: `chat.turns.complete_many` with 1 worker thread against N.

    python bench/decode_workers.py                                  # runs/cpu/probe, 32 prompts x 16
    python bench/decode_workers.py --checkpoint runs/cpu/sft --prompts 64 --samples 8
    python bench/decode_workers.py --quick                          # a random tiny model, seconds

The workload is the RL stage's pass@k evaluation shape: P chat prompts (the run's arithmetic
test problems as the RL stage asks them, when a run is given), G samples each at temperature 1,
`batch_size` prompts per engine call, up to --max-new-tokens tokens. torch runs one intra-op
thread (what the sampling stages set: a small model decodes faster on one), and
`CHATFORGE_DECODE_WORKERS` picks how many batches decode at once. Each setting is timed end to
end, alternating, best of --reps; the completions must be identical across settings (each batch
has its own seed). Timings mean something only on an idle machine: the JSON records the load
average.

Writes bench/results/decode_workers.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load(args):
    from chatforge.tokenizer import Tokenizer

    if args.quick:
        from chatforge.model import GPT, ModelConfig

        tok = Tokenizer.from_ranks({bytes([i]): i for i in range(256)})
        torch.manual_seed(0)
        model = GPT(ModelConfig(n_layer=2, d_model=64, n_head=4, n_kv_head=2, max_seq_len=128,
                                vocab_size=tok.n_vocab, init_std=0.3)).eval()
        convs = [[{"role": "user", "content": f"What is {i} plus {i + 3}?"}] for i in range(args.prompts)]
        return model, tok, convs, "random tiny model (2 x 64)"
    from chatforge.rl.problems import test_problems
    from chatforge.train.checkpoint import load_model
    from chatforge.world import load_world

    model, tok_dir, meta = load_model(args.checkpoint, "cpu")
    model.eval()
    tok = Tokenizer.load(tok_dir)
    run_dir = Path(args.checkpoint).resolve().parents[1 if Path(args.checkpoint).is_dir() else 2]
    world = load_world(run_dir / "world")
    convs = [p["messages"] for p in test_problems(world, ["arithmetic"], args.prompts, 1337)["arithmetic"]]
    return model, tok, convs, f"{meta['checkpoint']} ({model.num_params() / 1e6:.2f}M params)"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", default="runs/cpu/probe/ckpt")
    p.add_argument("--prompts", type=int, default=32)
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=96)
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts to compare")
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.prompts, args.samples, args.max_new_tokens, args.reps = 8, 4, 24, 1

    from chatforge.chat.turns import complete_many
    from chatforge.core.machine import cpu_summary

    torch.set_num_threads(1)
    model, tok, convs, what = load(args)
    counts = [int(w) for w in args.workers.split(",")]
    best: dict[int, float] = {}
    outputs: dict[int, list] = {}
    load_before = os.getloadavg()[0]
    for _ in range(args.reps):
        for w in counts:
            os.environ["CHATFORGE_DECODE_WORKERS"] = str(w)
            t0 = time.perf_counter()
            done = complete_many(model, tok, convs, num_samples=args.samples,
                                 max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                                 temperature=1.0, seed=1234)
            dt = time.perf_counter() - t0
            best[w] = min(best.get(w, dt), dt)
            outputs[w] = [[c.tokens for c in comps] for _, comps in done]
    same = all(outputs[w] == outputs[counts[0]] for w in counts)
    tokens = sum(len(t) for comps in outputs[counts[0]] for t in comps)
    rows = [{"workers": w, "seconds": round(best[w], 3), "tokens_per_s": round(tokens / best[w], 1),
             "speedup": round(best[counts[0]] / best[w], 2)} for w in counts]
    out = {"model": what, "cpu": cpu_summary(), "cores": len(os.sched_getaffinity(0)),
           "prompts": len(convs), "samples": args.samples, "batch_size": args.batch_size,
           "max_new_tokens": args.max_new_tokens, "generated_tokens": tokens, "identical_tokens": same,
           "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2), "rows": rows}
    print(f"{what}; {out['cpu']}; {len(convs)} prompts x {args.samples} samples, "
          f"batches of {args.batch_size}, {tokens} tokens; identical tokens across settings: {same}")
    print("| workers | seconds | tokens/s | speedup |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['workers']} | {r['seconds']} | {r['tokens_per_s']} | {r['speedup']}x |")
    res = ROOT / "bench" / "results"
    res.mkdir(parents=True, exist_ok=True)
    name = "decode_workers_quick.json" if args.quick else "decode_workers.json"
    (res / name).write_text(json.dumps(out, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
