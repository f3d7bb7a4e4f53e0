"""The copy probe over a pretraining run's tokens, next to the Aoyama prediction.

    python bench/induction_curve.py --run-dir runs/laptop [--out bench/results/induction_curve_laptop]

Reads the probe that pretraining logs at every evaluation (`run_dir/pretrain/metrics.jsonl`,
repeat accuracy by distance and first-pass accuracy), prints it as a table with the tokens trained
on, and writes `OUT.json` and `OUT.svg`: one line per distance over training tokens (log axis) and
a dashed line where Aoyama, Wilcox and Schneider (2025) predict induction heads to form for the
run's batch x context, 10^5.7 x sqrt(B x C).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_induction import aoyama_tokens
from chatforge.core.atomic import atomic_write_json, atomic_write_text
from chatforge.core.rundir import saved_config
from chatforge.pipeline import load_config
from chatforge.report.plot import line_chart


def probe_history(run_dir: Path) -> list[dict]:
    path = run_dir / "pretrain" / "metrics.jsonl"
    if not path.is_file():
        sys.exit(f"{path} is missing: pretrain the run first (`chatforge run --run-dir {run_dir}`).")
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            ev = json.loads(line)
            if ev.get("event") == "val" and "copy_by_distance" in ev:
                rows.append({"step": ev["step"], "tokens": ev["tokens"],
                             "first": ev["copy_first_pass"], "val_bpb": ev.get("val_bpb"),
                             "by_distance": {int(k): v for k, v in ev["copy_by_distance"].items()}})
    if not rows:
        sys.exit(f"{path} has no copy probe: the run predates it, or it has not evaluated yet.")
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, help="path without suffix (default bench/results/"
                    "induction_curve_<run name>)")
    args = ap.parse_args(argv)
    rows = probe_history(args.run_dir)
    cfg = load_config(None, [], saved=saved_config(args.run_dir))
    batch = cfg.pretrain.batch_size * cfg.pretrain.grad_accum
    context = cfg.pretrain.seq_len or cfg.model.max_seq_len
    predicted = aoyama_tokens(batch, context)
    distances = sorted(rows[-1]["by_distance"])
    print(f"{args.run_dir}: batch x context {batch} x {context}; Aoyama et al. predict induction "
          f"after {predicted / 1e6:.1f}M tokens")
    print(f"{'step':>6} {'tokens':>9} {'first':>6} " + " ".join(f"{d:>5}t" for d in distances)
          + "  val bpb")
    for r in rows:
        print(f"{r['step']:>6} {r['tokens'] / 1e6:>8.2f}M {r['first']:>6.2f} "
              + " ".join(f"{r['by_distance'].get(d, float('nan')):>6.2f}" for d in distances)
              + f"  {r['val_bpb']:.3f}")
    series = {f"repeat at {d} tokens": [(r["tokens"], r["by_distance"][d]) for r in rows
                                        if d in r["by_distance"]] for d in distances}
    series["first pass"] = [(r["tokens"], r["first"]) for r in rows]
    svg = line_chart(series, title=f"copy probe while pretraining {args.run_dir.name}",
                     x_label="training tokens (log)", y_label="greedy accuracy", log_x=True,
                     y_range=(0.0, 1.0), marks=[(predicted, f"Aoyama: {predicted / 1e6:.0f}M")])
    out = args.out or Path("bench/results") / f"induction_curve_{args.run_dir.name}"
    atomic_write_json(out.with_suffix(".json"), {
        "run_dir": str(args.run_dir), "batch": batch, "context": context,
        "aoyama_tokens": predicted, "history": rows})
    atomic_write_text(out.with_suffix(".svg"), svg)
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.svg')}")


if __name__ == "__main__":
    main()
