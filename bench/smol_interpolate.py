"""Weight interpolation between two checkpoints of a run (WiSE-FT, Wortsman et al. 2022): does a
point between the imported model and the SFT model keep what the first knew and learn what the
second learnt?

    python bench/smol_interpolate.py --run-dir runs/smol4 [--base import] [--tuned sft]
                                     [--alphas 0.5,0.7] [--sets general,knowledge_known_qa]

For each alpha the weights are (1 - alpha) x base + alpha x tuned (alpha 1 = the tuned model),
and the suite's sets are asked, 200 items each, greedy, bf16 weights where the CPU has bf16, up
to 64 new tokens (the stages' own evaluations allow 160).
Prints a table and writes bench/results/smol_interpolate.json.
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run-dir", type=Path, default=REPO / "runs" / "smol")
    ap.add_argument("--base", default="import")
    ap.add_argument("--tuned", default="sft")
    ap.add_argument("--alphas", default="0.5,0.7")
    ap.add_argument("--sets", default="general,knowledge_known_qa")
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--max-new-tokens", type=int, default=64)  # the stages' evaluations: 160
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "smol_interpolate.json")
    args = ap.parse_args()

    from chatforge.eval.suite import SuiteSettings, evaluate
    from chatforge.tokenizer import Tokenizer
    from chatforge.train import checkpoint as ckpt

    sets = args.sets.split(",")
    base, _, _ = ckpt.load_model(args.run_dir / args.base)
    model, tok_dir, _ = ckpt.load_model(args.run_dir / args.tuned)
    tok = Tokenizer.load(tok_dir)
    w0 = {k: v.clone() for k, v in base.state_dict().items()}
    w1 = {k: v.clone() for k, v in model.state_dict().items()}
    rows = []
    for a in (float(x) for x in args.alphas.split(",")):
        model.load_state_dict({k: (1 - a) * w0[k] + a * v if v.is_floating_point() else v
                               for k, v in w1.items()})
        t0 = time.perf_counter()
        suite = SuiteSettings(args.items, args.max_new_tokens, 48, 1, "native")
        rep = evaluate(model, tok, args.run_dir, suite, 1337, tasks=sets)
        row = {"alpha": a, "seconds": round(time.perf_counter() - t0, 1),
               **{s: {k: rep["tasks"][s][k] for k in ("accuracy", "ci95", "n")} for s in sets}}
        rows.append(row)
        print(f"alpha {a}: " + ", ".join(f"{s} {100 * row[s]['accuracy']:.1f}%" for s in sets), flush=True)
    print(f"\n| alpha | {' | '.join(sets)} |\n|---|{'---|' * len(sets)}")
    for r in rows:
        cells = [f"{100 * r[s]['accuracy']:.1f} [{100 * r[s]['ci95'][0]:.0f}-{100 * r[s]['ci95'][1]:.0f}]"
                 for s in sets]
        print(f"| {r['alpha']} | {' | '.join(cells)} |")
    atomic_write_json(args.out, {"machine": cpu_summary(), "run_dir": str(args.run_dir), "base": args.base,
                                 "tuned": args.tuned, "max_new_tokens": args.max_new_tokens, "rows": rows})


if __name__ == "__main__":
    main()
