"""Every checkpoint of a run through the one suite: a row per checkpoint, with intervals.

A run's checkpoints are found the way serve and export find them (`export.source.
list_checkpoints`: pretrain, sft, probe, rl, rlhf, distill, and any other folder with a ckpt/,
such as an imported model saved into the run), listed in pipeline order. Each gets:

    chat suite       chatforge.eval.suite on the same items for every checkpoint (chat models)
    copy probe       greedy next-token accuracy on repeated rows (every checkpoint)
    val bits/byte    the pretrain split (checkpoints sharing the run's tokenizer)
    gold score       mean gold preference score of greedy answers to the open-ended prompts

Nothing a stage already measured is measured again: a complete stage's own suite report
(`<stage>/eval.json`, `eval_suite.json` or `eval_student.json`) is used when it belongs to that stage's final
checkpoint (the file its metrics.json names) and holds exactly the items asked for (the same
sets and sizes under the run's seed); the pretrain stage's val bits per byte likewise. Results
are cached per checkpoint in `eval/<name>.json`, keyed by the checkpoint file's sha256, the item
count and the seed, so repeating the command only evaluates what changed.

Differences between a row and the row above it are tested where they matter: the items are the
same, so an exact McNemar test on the items the two models disagree on (p < 0.05 marked ▲/▼)
tells a real change from noise that two overlapping Wilson intervals cannot. (A row taken from a
stage report that kept no per-item results, as distill's, has no marks.)
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

ORDER = ("pretrain", "sft", "probe", "rl", "rlhf", "distill")
NOT_WRITERS = ("rm",)  # the reward model scores answers and writes none

# (column, task set or summary key, label): the table's columns after bits per byte and copying
COLUMNS = (
    ("known-qa", "knowledge_known_qa"), ("bio-only", "knowledge_bio_only"), ("follow-up", "followup"),
    ("identity", "identity"), ("arith", "arithmetic"), ("arith+calc", "arithmetic_calculator"),
    ("letters", "letters"), ("letters+py", "letters_python"), ("search", "search_unknown"),
    ("no-tools obeyed", "tools_off"), ("refuse unknown", "refusal_unknown"),
    ("refuse invented", "refusal_invented"), ("page known", "context_known"),
    ("page unknown", "context_unknown"),
)


def run_checkpoints(run_dir: Path) -> dict[str, Path]:
    """{name: ckpt folder} of every checkpoint in the run, in pipeline order, others after."""
    from chatforge.export.source import list_checkpoints

    found = {k: v for k, v in list_checkpoints(Path(run_dir)).items() if k not in NOT_WRITERS}
    rank = {k: i for i, k in enumerate(ORDER)}
    return {k: found[k] for k in sorted(found, key=lambda k: (rank.get(k, len(ORDER)), k))}


def named(paths: list[Path]) -> dict[str, Path]:
    """Names for checkpoints given on the command line (their stage folder's name, made unique)."""
    from chatforge.export.source import resolve

    from chatforge.train.checkpoint import latest_checkpoint

    out: dict[str, Path] = {}
    for p in paths:
        path, name = resolve(None, p)
        path = Path(path)
        latest = latest_checkpoint(path.parent) if path.is_file() else None
        if path.is_file() and (latest is None or latest.resolve() != path.resolve()):  # an earlier step
            name = f"{name}@{path.stem.removeprefix('step_').lstrip('0') or '0'}"
        base, i = name, 2
        while name in out:
            name, i = f"{base}-{i}", i + 1
        out[name] = path
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _suite_fits(report: Any, expected: dict[str, int]) -> bool:
    """A stored suite report measured exactly these sets with these sizes."""
    if not isinstance(report, dict) or not isinstance(report.get("tasks"), dict):
        return False
    tasks = report["tasks"]
    return all(isinstance(tasks.get(k), dict) and tasks[k].get("n") == n for k, n in expected.items())


def _stage_owns(run_dir: Path, name: str, ckpt_file: Path) -> dict | None:
    """The metrics of stage `name` if it is complete and its final checkpoint is `ckpt_file`."""
    from chatforge.core.atomic import read_json

    d = Path(run_dir) / name
    if not (d / "_COMPLETE.json").is_file() or d.resolve() != ckpt_file.resolve().parent.parent:
        return None
    m = read_json(d / "metrics.json") or {}
    return m if Path(str(m.get("checkpoint", ""))).name == ckpt_file.name else None


def stage_suite(run_dir: Path, name: str, ckpt_file: Path, expected: dict[str, int]) -> tuple[dict, str] | None:
    """(report, where) when the stage already ran the suite on this checkpoint with these items."""
    from chatforge.core.atomic import read_json

    if _stage_owns(run_dir, name, ckpt_file) is None:
        return None
    for fname in ("eval.json", "eval_suite.json", "eval_student.json"):
        rep = read_json(Path(run_dir) / name / fname)
        if _suite_fits(rep, expected):
            return rep, f"{name}/{fname}"
    return None


def _restrict(report: dict, tasks: list[str]) -> dict:
    """A stored full report cut to the asked task sets (summary recomputed from them)."""
    out = {k: v for k, v in report.items() if k not in ("tasks", "summary")}
    out["tasks"] = {k: report["tasks"][k] for k in tasks}
    keep = {f"acc_{k}" for k in tasks} | {f"tool_use_{k}" for k in tasks}
    out["summary"] = {k: v for k, v in report.get("summary", {}).items()
                      if k in keep or k.startswith(("copy_", "reading_")) or k == "eval_seconds"
                      or (k == "tools_off_obedience" and "tools_off" in tasks)
                      or (k.startswith("hallucination") and {"refusal_unknown", "refusal_invented"} <= set(tasks))
                      or (k == "refusal_known_qa" and "knowledge_known_qa" in tasks)}
    return out


def evaluate_checkpoint(name: str, path: Path, run_dir: Path, cfg, world, *, items: int,
                        tasks: list[str] | None, force: bool, device, log, cached_only: bool = False) -> dict | None:
    """The row record of one checkpoint (cached in eval/<name>.json); with `cached_only`, None
    instead of measuring when the cache does not hold it."""
    from chatforge.core.atomic import atomic_write_json, read_json
    from chatforge.core.errors import UserError
    from chatforge.eval.bpb import val_bpb
    from chatforge.eval.copying import GAPS, copy_probe, passage_probe, passage_summary, summary
    from chatforge.eval.gold import cached_open_answers, gold_summary, open_answers, open_prompts
    from chatforge.eval.suite import build_sets, evaluate
    from chatforge.tokenizer import Tokenizer
    from chatforge.train.checkpoint import load_model, resolve_checkpoint

    seed = cfg.run.seed
    ckpt_file = resolve_checkpoint(path)
    key = {"file": ckpt_file.name, "bytes": ckpt_file.stat().st_size, "sha256": sha256(ckpt_file),
           "items": items, "seed": seed}
    sets = build_sets(world, items, seed)
    wanted = tasks or [k for k, v in sets.items() if v]
    expected = {k: len(sets[k]) for k in wanted if sets[k]}
    cache = Path(run_dir) / "eval" / f"{name}.json"
    old = read_json(cache)
    if (not force and isinstance(old, dict) and old.get("key") == key and "copy_probe" in old
            and (old.get("kind") == "base" or _suite_fits(old, expected))):
        if old.get("kind") == "chat" and set(old["tasks"]) != set(expected):
            old = _restrict(old, list(expected))
        old["cached"] = True
        return old
    if cached_only:
        return None

    t0 = time.perf_counter()
    model, tok_dir, meta = load_model(ckpt_file, device)
    kind = "base" if meta.get("stage") == "pretrain" and not meta.get("chat") else "chat"
    if tok_dir is None:
        raise UserError(f"checkpoint '{ckpt_file}' has no tokenizer folder next to it.")
    tokenizer = Tokenizer.load(tok_dir)
    rec: dict[str, Any] = {"name": name, "checkpoint": str(ckpt_file), "step": meta.get("step"), "kind": kind,
                           "key": key, "source": {}}
    import torch

    threads = torch.get_num_threads()
    if cfg.sft.eval_threads > 0:
        torch.set_num_threads(cfg.sft.eval_threads)
    try:
        if kind == "chat":
            found = None if force else stage_suite(run_dir, name, ckpt_file, expected)
            if found is not None:
                report, where = found
                report = _restrict(report, list(expected))
                rec["source"]["suite"] = where
                if log:
                    log.info(f"{name}: the suite's figures from {where} (same checkpoint, same items)")
            else:
                report = evaluate(model, tokenizer, run_dir, cfg.sft, seed, device=device, log=log,
                                  tasks=list(expected), items=items)
                rec["source"]["suite"] = "computed"
            rec.update(report)
            if "copy_probe" not in rec:  # a stage that ran the task sets without the probes (distill)
                rec["copy_probe"] = copy_probe(model, tokenizer, (d["text"] for d in world.documents()), seed=seed,
                                               gaps=GAPS)
                rec["reading_probe"] = passage_probe(model, tokenizer, seed=seed)
                rec["summary"] = {**rec.get("summary", {}), **summary(rec["copy_probe"]),
                                  **passage_summary(rec["reading_probe"])}
            prompts = open_prompts(world, items)
            if prompts:
                got = cached_open_answers(run_dir, name, key["sha256"], prompts, lambda its: open_answers(
                    model, tokenizer, its, max_new_tokens=cfg.sft.eval_max_new_tokens * 2,
                    batch_size=cfg.sft.eval_batch_size), fresh=force)
                answers = [got["answers"][p["id"]] for p in prompts]
                rec["gold"] = gold_summary(prompts, answers)
                rec["gold"]["samples"] = [{"prompt": p["prompt"], "answer": a, "score": s} for p, a, s in
                                          list(zip(prompts, answers, rec["gold"]["scores"]))[:3]]
        else:
            probe = copy_probe(model, tokenizer, (d["text"] for d in world.documents()), seed=seed, gaps=GAPS)
            reading = passage_probe(model, tokenizer, seed=seed)
            rec.update(summary={**summary(probe), **passage_summary(reading)}, tasks={},
                       copy_probe=probe, reading_probe=reading)
        owned = _stage_owns(run_dir, "pretrain", ckpt_file) if name == "pretrain" else None
        if owned and owned.get("val_bpb") is not None and not force:
            rec["val_bpb"], rec["val_bpb_se"] = owned["val_bpb"], owned.get("val_bpb_se")
            rec["source"]["val_bpb"] = "pretrain/metrics.json"
        else:
            got = val_bpb(model, tokenizer, tok_dir, run_dir, cfg)
            rec["val_bpb"], rec["val_bpb_se"] = (round(got[0], 5), round(got[1], 5)) if got else (None, None)
            from chatforge.eval.bpb import same_tokenizer

            rec["source"]["val_bpb"] = (("computed" if same_tokenizer(tok_dir, run_dir) else
                                         "computed on the held-out text in the model's own tokens")
                                        if got else "n/a (the run has no pretrain split)")
    finally:
        torch.set_num_threads(threads)
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    cache.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(cache, rec)
    return rec


def reward_model(run_dir: Path) -> dict | None:
    """The reward model's held-out pairwise accuracy against the gold labeler, as the rm stage
    measured it (rm/metrics.json "heldout"), where the run has one."""
    from chatforge.core.atomic import read_json

    try:
        m = read_json(Path(run_dir) / "rm" / "metrics.json")
    except ValueError:
        return None
    h = m.get("heldout") if isinstance(m, dict) else None
    if not isinstance(h, dict) or not isinstance(h.get("strict"), (int, float)):
        return None
    return {"accuracy": h["strict"], "ci95": h.get("strict_ci95"), "pairs": h.get("strict_pairs"),
            "target": m.get("target"), "from": "rm/metrics.json"}


def evaluate_run(run_dir: Path, cfg, checkpoints: dict[str, Path], *, items: int, tasks: list[str] | None = None,
                 force: bool = False, device=None, log=None) -> dict:
    """Evaluate every checkpoint, write eval/metrics.json and eval/table.md; returns the metrics."""
    from chatforge.core.atomic import atomic_write_json, atomic_write_text
    from chatforge.core.device import cpu_summary
    from chatforge.eval.table import LEGEND, markdown, rows
    from chatforge.world import load_world

    run_dir = Path(run_dir)
    world = load_world(run_dir / "world")
    t0 = time.perf_counter()
    records = []
    for name, path in checkpoints.items():
        if log:
            log.info(f"evaluating {name} ({path})")
        records.append(evaluate_checkpoint(name, path, run_dir, cfg, world, items=items, tasks=tasks,
                                           force=force, device=device, log=log))
    # the run's other checkpoints whose rows are cached for these items join the table, so that
    # `--only rl` after a full run updates one row instead of shrinking the table to it
    others = {n: p for n, p in run_checkpoints(run_dir).items() if n not in checkpoints}
    for name, path in others.items():
        rec = evaluate_checkpoint(name, path, run_dir, cfg, world, items=items, tasks=tasks, force=False,
                                  device=device, log=log, cached_only=True)
        if rec is not None:
            records.append(rec)
    rank = {n: i for i, n in enumerate(run_checkpoints(run_dir))}
    records.sort(key=lambda r: rank.get(r["name"], len(rank)))
    table_rows = rows(records)
    out = {"run_dir": str(run_dir), "items": items, "seed": cfg.run.seed, "tasks": tasks,
           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": cpu_summary(),
           "seconds": round(time.perf_counter() - t0, 1), "rows": table_rows}
    rm = reward_model(run_dir)
    if rm:
        out["reward_model"] = rm
    (run_dir / "eval").mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / "eval" / "metrics.json", out)
    atomic_write_text(run_dir / "eval" / "table.md", markdown(table_rows) + "\n" + LEGEND + "\n")
    return out
