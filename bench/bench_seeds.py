"""A preset over several seeds: does a user get the README's figures? Mean and spread per figure.

    python bench/bench_seeds.py --preset cpu --seeds 1337,1,2          # runs what is missing, then the table
    python bench/bench_seeds.py --preset cpu --seeds 1337,1,2 --no-run # only the table from finished runs

Each seed is a whole `chatforge run --preset P --set run.seed=S` into runs/seeds/<preset>-s<S>
(the seed draws the world, the initialisation and the data order: the spread is what a user on
another machine, or with another seed, can expect). Prints, per figure, every seed's value, the
mean and the sample standard deviation, with each accuracy's 95% interval of a single run for
scale; writes bench/results/seeds_<preset>.json. Extra `--set` overrides pass through.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chatforge.core.atomic import atomic_write_json, read_json  # noqa: E402
from chatforge.core.machine import cpu_summary  # noqa: E402
from chatforge.eval.stats import mean_sd  # noqa: E402

PRETRAIN = ["val_bpb", "val_bpb_se", "val_tokens", "final_train_loss", "dtype"]


def figures(run: Path) -> dict:
    pre = read_json(run / "pretrain" / "metrics.json") or {}
    sft = read_json(run / "sft" / "metrics.json") or {}
    ev = read_json(run / "sft" / "eval.json") or {}
    out = {f"pretrain.{k}": pre.get(k) for k in PRETRAIN}
    for name, rec in (ev.get("tasks") or {}).items():
        out[f"acc.{name}"] = rec["accuracy"]
        out[f"n.{name}"] = rec["n"]
        out[f"ci95.{name}"] = rec.get("ci95")
    summ = ev.get("summary") or {}
    for k in ("tools_off_obedience", "copy_first_pass", "copy_repeat", "copy_repeat_far"):
        out[k] = summ.get(k)
    out["sft.final_val_loss"] = sft.get("final_val_loss", sft.get("val_loss"))
    out["wall_s"] = {d.name: (read_json(d / "metrics.json") or {}).get("wall_s")
                     for d in sorted(run.iterdir()) if d.is_dir() and (d / "_COMPLETE.json").exists()}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--seeds", default="1337,1,2")
    ap.add_argument("--root", type=Path, default=REPO / "runs" / "seeds")
    ap.add_argument("--no-run", action="store_true")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--tag", default="", help="suffix for the run folders and the JSON (recipe variants)")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    runs = {}
    for s in seeds:
        run = args.root / f"{args.preset}{args.tag}-s{s}"
        if not args.no_run:
            cmd = [sys.executable, "-m", "chatforge", "run", "--preset", args.preset, "--run-dir", str(run),
                   "--set", f"run.seed={s}", *sum((["--set", o] for o in args.overrides), [])]
            print("$", " ".join(cmd), flush=True)
            if subprocess.run(cmd).returncode != 0:
                print(f"seed {s}: the run failed", file=sys.stderr)
                return 1
        if (run / "sft" / "eval.json").exists():
            runs[s] = figures(run)
    if not runs:
        print("no finished runs", file=sys.stderr)
        return 1
    keys = [k for k in next(iter(runs.values()))
            if k.startswith(("pretrain.val_bpb", "acc.", "tools_off", "copy_", "sft.final"))]
    table = {}
    print(f"\n{args.preset}{args.tag}, seeds {', '.join(map(str, runs))}; {cpu_summary()}")
    print(f"{'figure':<34} " + " ".join(f"{'s' + str(s):>8}" for s in runs)
          + f" {'mean':>8} {'sd':>7}  1-run 95% CI")
    for k in keys:
        vals = [r.get(k) for r in runs.values()]
        m, sd = mean_sd([v for v in vals if isinstance(v, (int, float))])
        name = k.split(".", 1)[-1]
        ci = next((r.get(f"ci95.{name}") for r in runs.values() if r.get(f"ci95.{name}")), None)
        width = f"±{100 * (ci[1] - ci[0]) / 2:.0f} pts" if ci and k.startswith("acc.") else ""
        table[k] = {"values": vals, "mean": m, "sd": sd}
        fmt = ((lambda v: f"{v:>8.4f}") if "bpb" in k or "loss" in k or "copy" in k
               else (lambda v: f"{100 * v:>7.1f}%"))
        print(f"{k:<34} " + " ".join(fmt(v) if isinstance(v, (int, float)) else f"{'-':>8}" for v in vals)
              + f" {fmt(m)} {fmt(sd)[1:]}  {width}")
    walls = {s: r["wall_s"] for s, r in runs.items()}
    for s, w in walls.items():
        print(f"wall s{s}: " + ", ".join(f"{k} {v:.0f}s" for k, v in w.items() if v)
              + f"; total {sum(v for v in w.values() if v):.0f}s")
    out = REPO / "bench" / "results" / f"seeds_{args.preset}{args.tag}.json"
    atomic_write_json(out, {"preset": args.preset, "tag": args.tag, "overrides": args.overrides,
                            "cpu": cpu_summary(), "seeds": seeds, "table": table,
                            "runs": {str(s): r for s, r in runs.items()}})
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
