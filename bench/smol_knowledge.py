"""Exposures per fact on the real model: how many passes over the world's Q&A SmolLM2-135M needs
before it answers a held-out phrasing.

    python bench/smol_knowledge.py --run-dir runs/smol [--epochs 4] [--lr 2e-4] [--items 200]

Starts from the run's continued-pretraining checkpoint (what the smol preset's SFT starts from)
and fine-tunes it on the knowledge conversations of the run's own SFT mixture only (the known-qa
people's facts in the training phrasings, `sft/mixture/train.jsonl`, kind "knowledge"), one epoch
at a time with the [sft] section's settings (each epoch its own warm-up and decay). After every
epoch it asks the suite's known-qa set (the same people, a held-out phrasing, tools off) and
bio-only set (people only in the documents: no Q&A about them is trained, so this row shows what
Q&A about others transfers), 200 items each, greedy, with Wilson intervals. Exposures per fact =
epochs x knowledge conversations / 720 facts. The fine-tune's validation loss is on the first
2% of those same conversations: a fit check, not a held-out measure (the questions above are).
Prints a table, writes bench/results/smol_knowledge.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chatforge.core.atomic import atomic_write_json  # noqa: E402
from chatforge.core.machine import cpu_summary  # noqa: E402
from chatforge.eval.stats import wilson  # noqa: E402

SETS = ("knowledge_known_qa", "knowledge_bio_only")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run-dir", type=Path, default=REPO / "runs" / "smol")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=0.0)  # 0 = the run's sft.lr
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "smol_knowledge.json")
    args = ap.parse_args()

    import torch

    from chatforge.core.device import pick_device
    from chatforge.core.log import Logger
    from chatforge.core.rundir import saved_config
    from chatforge.eval.suite import SuiteSettings, evaluate
    from chatforge.pipeline import load_config
    from chatforge.tokenizer import Tokenizer
    from chatforge.train import checkpoint as ckpt
    from chatforge.train.dist import setup
    from chatforge.tune.finetune import FinetuneRun, finetune
    from chatforge.tune.settings import FinetuneSettings

    run = args.run_dir
    cfg = load_config(saved=saved_config(run))
    rows = [json.loads(x) for x in (run / "sft" / "mixture" / "train.jsonl").read_text().splitlines()]
    convs = [r for r in rows if r["kind"] == "knowledge"]
    val = convs[: max(1, len(convs) // 50)]
    names = {f.name for f in dataclasses.fields(FinetuneSettings)}
    tcfg = FinetuneSettings(**{k: v for k, v in dataclasses.asdict(cfg.sft).items() if k in names})
    tcfg = dataclasses.replace(tcfg, epochs=1.0, lr=args.lr or tcfg.lr)
    dist = setup(pick_device("auto"))
    torch.manual_seed(cfg.run.seed)
    model, tok_dir, meta = ckpt.load_model(run / "pretrain", dist.device)
    tok = Tokenizer.load(tok_dir or run / "tokenizer")
    suite = SuiteSettings(args.items, 64, 48, 0, "native")
    # a measurement starts fresh: the fine-tune resumes from checkpoints it finds, and a folder
    # left by another learning rate would hand it that run's epochs
    out_dir = run.parent / "exp" / "smol_knowledge"
    shutil.rmtree(out_dir, ignore_errors=True)
    results = []

    def measure(epoch: int, train_s: float) -> None:
        t0 = time.perf_counter()
        rep = evaluate(model, tok, run, suite, cfg.run.seed, tasks=list(SETS))
        row = {"epochs": epoch, "exposures_per_fact": round(epoch * len(convs) / 720, 2),
               "train_seconds": round(train_s, 1), "eval_seconds": round(time.perf_counter() - t0, 1)}
        for s in SETS:
            t = rep["tasks"][s]
            lo, hi = wilson(t["correct"], t["n"])
            row[s] = {"accuracy": t["accuracy"], "ci95": [round(lo, 3), round(hi, 3)], "n": t["n"]}
        results.append(row)
        print(f"epoch {epoch}: known-qa {100 * row[SETS[0]]['accuracy']:.1f}%, "
              f"bio-only {100 * row[SETS[1]]['accuracy']:.1f}% (train {train_s:.0f}s)", flush=True)

    measure(0, 0.0)
    for e in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        finetune(model, tok, tok_dir, convs, val, tcfg, FinetuneRun(
            ckpt_dir=out_dir / f"epoch{e}", run_dir=run, world_dir=run / "world", dist=dist,
            seed=cfg.run.seed + e, log=Logger(out_dir / "metrics.jsonl", prefix=f"epoch {e}"),
            label="knowledge", meta={"stage": "smol_knowledge", "chat": True}))
        measure(e, time.perf_counter() - t0)
    print("\n| epochs | exposures per fact | known-qa (held-out phrasing) | bio-only |\n|---|---|---|---|")
    for r in results:
        k, b = r[SETS[0]], r[SETS[1]]
        print(f"| {r['epochs']} | {r['exposures_per_fact']} | {100 * k['accuracy']:.1f} "
              f"[{100 * k['ci95'][0]:.0f}-{100 * k['ci95'][1]:.0f}] | {100 * b['accuracy']:.1f} "
              f"[{100 * b['ci95'][0]:.0f}-{100 * b['ci95'][1]:.0f}] |")
    atomic_write_json(args.out, {"machine": cpu_summary(), "run_dir": str(run), "lr": tcfg.lr,
                                 "knowledge_conversations": len(convs), "settings": dataclasses.asdict(tcfg),
                                 "rows": results})


if __name__ == "__main__":
    main()
