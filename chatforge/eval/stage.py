"""The eval stage: every checkpoint of the run through the one suite, at the end of `chatforge run`.

The same work as `chatforge eval --run-dir D` (chatforge.eval.board), as a pipeline stage so the
default run ends with the table across stages. Figures a stage already measured on its final
checkpoint with the same items are reused, so this costs mostly the checkpoints no stage
evaluated (the base model's probes) and the gold score on the open-ended prompts. Rows that
`chatforge eval` cached earlier (eval/<name>.json, keyed by the checkpoint's sha256) survive a
re-run of the stage: they are carried over from the directory the protocol moved aside.
"""

from __future__ import annotations

import shutil

from chatforge.core.device import pick_device
from chatforge.core.errors import UserError
from chatforge.core.log import say
from chatforge.core.rundir import StageContext
from chatforge.eval.board import evaluate_run, run_checkpoints
from chatforge.eval.table import transposed
from chatforge.tasks import check_names


def carry_cache(ctx: StageContext) -> int:
    """Copy eval/<checkpoint>.json rows (and gold answers) from eval.prev/ that the new eval/ lacks."""
    prev = ctx.run_dir / f"{ctx.name}.prev"
    if not prev.is_dir():
        return 0
    n = 0
    for f in prev.glob("*.json"):
        if f.name.startswith("_") or f.name == "metrics.json" or (ctx.out / f.name).exists():
            continue
        shutil.copy2(f, ctx.out / f.name)
        n += 1
    for d in prev.iterdir():
        if d.is_dir() and not (ctx.out / d.name).exists():
            shutil.copytree(d, ctx.out / d.name)
            n += 1
    return n


def run(ctx: StageContext) -> dict:
    cfg = ctx.config
    items = cfg.eval.items or cfg.sft.eval_items
    if items < 1:
        raise UserError("eval.items must be at least 1 (or 0 for the run's sft.eval_items).")
    tasks = list(cfg.eval.tasks) or None
    if tasks:
        check_names(tasks, "eval.tasks")
    carried = carry_cache(ctx)
    if carried:
        ctx.log.info(f"carried {carried} cached row(s) over from {ctx.name}.prev")
    ckpts = run_checkpoints(ctx.run_dir)
    if not ckpts:
        raise UserError(f"no checkpoint in '{ctx.run_dir}' to evaluate.")
    out = evaluate_run(ctx.run_dir, cfg, ckpts, items=items, tasks=tasks, device=pick_device(cfg.run.device),
                       log=ctx.log)
    say(transposed(out["rows"]))
    return out
