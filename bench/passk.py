"""Which sets can RL amplify on a checkpoint? pass@1 and pass@k beside the blind guesser.

    python bench/passk.py --run-dir runs/smol [--stage probe] [--items 50] [--samples 16]

RL can only reinforce answers the model already finds sometimes: a set is worth practising when
pass@k (k = the samples) is at least 20% and pass@1 leaves room to rise, and a gain only counts
above the blind guesser (the answer drawn from the train split's answers, never reading the
question). For each practised set that is not a guard (the task registry's `practised`, minus
`guards`) this samples `samples` answers to each of `items` test problems with the RL stage's own
sampler (chatforge.rl.rollout, the run's [rl] temperature and length, the run's tools), scores them
with the unbiased pass@k estimator (chatforge.rl.passk), and splits sets with held-out problem
families (arithmetic's "travel" and "ages") into trained and held-out families.

Prints a table and writes bench/results/passk_<run>_<stage>.json (machine, settings, rows).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chatforge.core.atomic import atomic_write_json  # noqa: E402
from chatforge.core.machine import cpu_summary  # noqa: E402


def row(groups, flags: list[bool]) -> dict:
    """pass@k of every problem's samples, and of the trained / held-out families apart."""
    from chatforge.rl.passk import score

    rights = [[float(s.reward >= 1.0) for s in g] for g in groups]
    out = {"all": {**score(rights), "n": len(rights)}}
    if any(flags):
        for key, want in (("trained", False), ("held_out", True)):
            part = [r for r, f in zip(rights, flags) if f == want]
            if part:
                out[key] = {**score(part), "n": len(part)}
    tokens = [len(s.tokens) for g in groups for s in g]
    out["mean_tokens"] = round(sum(tokens) / max(1, len(tokens)), 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run-dir", type=Path, required=True)
    ap.add_argument("--stage", default="probe", help="the checkpoint's stage (default: probe, RL's start)")
    ap.add_argument("--sets", nargs="*", default=None, help="default: every practised set but the guards")
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--dtype", default="native", choices=["native", "float32"],
                    help="bf16 weights while sampling where the CPU has bf16 in hardware (default)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    from chatforge.core.config import Config
    from chatforge.core.device import torch_threads
    from chatforge.core.rundir import saved_config
    from chatforge.engine import Engine
    from chatforge.eval.suite import decoding_copy
    from chatforge.pipeline import load_config
    from chatforge.rl.passk import ks_for
    from chatforge.rl.problems import blind_guesser, check_sets, test_problems
    from chatforge.rl.rollout import Groups, sample_groups
    from chatforge.tasks import guards, practised
    from chatforge.tokenizer import Tokenizer
    from chatforge.tools.training import training_executor
    from chatforge.train import checkpoint as ckpt
    from chatforge.world import load_world

    run = args.run_dir
    saved = saved_config(run)
    if not (run / "world" / "people.jsonl").is_file() or saved is None:
        sys.exit(f"error: {run} is not a run directory with a world and a config "
                 "(run `chatforge run` first).")
    if not (run / args.stage / "ckpt").is_dir():
        sys.exit(f"error: {run} has no {args.stage} checkpoint.")
    cfg: Config = load_config(None, [], saved)
    names = args.sets or [n for n in practised() if n not in guards()]
    check_sets(names)
    world = load_world(run / "world")
    tests = test_problems(world, names, args.items, cfg.run.seed)
    model, tok_dir, meta = ckpt.load_model(run / args.stage)
    model = decoding_copy(model.eval(), args.dtype)
    tok = Tokenizer.load(tok_dir or run / "tokenizer")
    engine, execute = Engine(model, tok), training_executor(run)
    how = Groups(args.samples, cfg.rl.temperature, cfg.rl.max_new_tokens, cfg.rl.prompts_per_call)
    ks = ks_for(args.samples)
    top = f"pass@{ks[-1]}"
    rows = {}
    for name, probs in tests.items():
        t0 = time.perf_counter()
        with torch_threads(args.threads):
            groups = sample_groups(engine, tok, world, probs, how, seed=cfg.run.seed, execute=execute)
        r = row(groups, [bool(p["item"].get("held_out_family")) for p in probs])
        r["blind"] = blind_guesser(world, name, probs, ks)
        r["seconds"] = round(time.perf_counter() - t0, 1)
        a = r["all"]
        r["practisable"] = a[top] >= 0.2 and a[top] > r["blind"][top] and a["pass@1"] <= 0.9
        rows[name] = r
        parts = "".join(f"; {k} {100 * r[k]['pass@1']:.1f}/{100 * r[k][top]:.1f}"
                        for k in ("trained", "held_out") if k in r)
        print(f"{name}: pass@1 {100 * a['pass@1']:.1f}% {top} {100 * a[top]:.1f}% | blind "
              f"{100 * r['blind']['pass@1']:.1f}% / {100 * r['blind'][top]:.1f}%{parts} ({r['seconds']}s)",
              flush=True)
    print(f"\n| set | pass@1 [95%] | {top} | blind pass@1 | blind {top} | tokens | practisable |\n"
          "|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        a = r["all"]
        lo, hi = a["pass@1_ci95"]
        print(f"| {name} | {100 * a['pass@1']:.1f} [{100 * lo:.0f}-{100 * hi:.0f}] | {100 * a[top]:.1f} | "
              f"{100 * r['blind']['pass@1']:.1f} | {100 * r['blind'][top]:.1f} | {r['mean_tokens']} | "
              f"{'yes' if r['practisable'] else 'no'} |")
    out = args.out or REPO / "bench" / "results" / f"passk_{run.name}_{args.stage}.json"
    atomic_write_json(out, {"machine": cpu_summary(), "run_dir": str(run), "stage": args.stage,
                            "checkpoint": meta["checkpoint"], "items": args.items, "samples": args.samples,
                            "temperature": how.temperature, "max_new_tokens": how.max_new_tokens,
                            "dtype": args.dtype, "seed": cfg.run.seed, "rows": rows})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
