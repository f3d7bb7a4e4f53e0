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

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatforge.core.atomic import atomic_write_json, atomic_write_text, cached_json, read_json
from chatforge.core.device import torch_threads
from chatforge.core.errors import UserError
from chatforge.core.machine import cpu_summary
from chatforge.engine.source import list_checkpoints, pick, resolve
from chatforge.eval.bpb import same_tokenizer, val_bpb
from chatforge.eval.copying import GAPS, copy_probe, passage_probe, passage_summary, summary
from chatforge.eval.gold import cached_open_answers, gold_summary, open_answers, open_prompts
from chatforge.eval.suite import SuiteSettings, decoding_copy, evaluate
from chatforge.eval.table import LEGEND, markdown, rows
from chatforge.tasks import SETS, build_cases
from chatforge.tokenizer import Tokenizer
from chatforge.train.checkpoint import latest_checkpoint, load_model, resolve_checkpoint
from chatforge.world import load_world

ORDER = ("import", "pretrain", "sft", "probe", "rl", "rlhf", "distill")
NOT_WRITERS = ("rm",)  # the reward model scores answers and writes none


def suite_settings(cfg) -> SuiteSettings:
    """The suite as the eval stage runs it (the sft section's decoding, eval.items or
    sft.eval_items items): a stage that evaluates this way hands the eval stage its row."""
    return dataclasses.replace(SuiteSettings.of(cfg.sft), items=cfg.eval.items or cfg.sft.eval_items)


def run_checkpoints(run_dir: Path) -> dict[str, Path]:
    """{name: ckpt folder} of every checkpoint in the run, in pipeline order, others after."""

    found = {k: v for k, v in list_checkpoints(Path(run_dir)).items() if k not in NOT_WRITERS}
    rank = {k: i for i, k in enumerate(ORDER)}
    return {k: found[k] for k in sorted(found, key=lambda k: (rank.get(k, len(ORDER)), k))}


def named(paths: list[Path]) -> dict[str, Path]:
    """Names for checkpoints given on the command line (their stage folder's name, made unique)."""

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

    d = Path(run_dir) / name
    if not (d / "_COMPLETE.json").is_file() or d.resolve() != ckpt_file.resolve().parent.parent:
        return None
    m = read_json(d / "metrics.json") or {}
    return m if Path(str(m.get("checkpoint", ""))).name == ckpt_file.name else None


def stage_suite(run_dir: Path, name: str, ckpt_file: Path,
                expected: dict[str, int]) -> tuple[dict, str] | None:
    """(report, where) when the stage already ran the suite on this checkpoint with these items."""

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
    asked = [SETS[k] for k in tasks if k in SETS]
    keep = ({f"acc_{k}" for k in tasks} | {f"tool_use_{k}" for k in tasks} | {ts.metric for ts in asked}
            | {f"acc_{k}_heldout_families" for k in tasks}
            | {ts.refusal_key for ts in asked if ts.refusal_key})
    every_refusal = {k for k, ts in SETS.items() if ts.refusal} <= set(tasks)
    out["summary"] = {k: v for k, v in report.get("summary", {}).items()
                      if k in keep or k.startswith(("copy_", "reading_")) or k == "eval_seconds"
                      or (k.startswith("hallucination") and every_refusal)}
    return out


@dataclass
class Board:
    """What every row of one table is measured with."""
    run_dir: Path
    cfg: Any  # the run's config: [run] seed, [sft] the suite's decoding, [pretrain] the split
    world: Any
    items: int  # items a task set
    tasks: list[str] | None = None  # None: every set
    force: bool = False  # measure again what a cache or a stage holds
    device: Any = None
    log: Any = None

    def say(self, text: str) -> None:
        if self.log:
            self.log.info(text)


def _cached(b: Board, name: str, key: dict, expected: dict[str, int]) -> dict | None:
    """The row eval/<name>.json holds for this checkpoint and these items, if it holds one."""
    old = read_json(Path(b.run_dir) / "eval" / f"{name}.json")
    if (not b.force and isinstance(old, dict) and old.get("key") == key and "copy_probe" in old
            and (old.get("kind") == "base" or _suite_fits(old, expected))):
        if old.get("kind") == "chat" and set(old["tasks"]) != set(expected):
            old = _restrict(old, list(expected))
        old["cached"] = True
        return old
    return None


def _probes(b: Board, model, tokenizer) -> dict:
    """The copy and reading probes, as a report's keys."""
    seed = b.cfg.run.seed
    probe = copy_probe(model, tokenizer, (d["text"] for d in b.world.documents()), seed=seed, gaps=GAPS)
    reading = passage_probe(model, tokenizer, seed=seed)
    return {"copy_probe": probe, "reading_probe": reading,
            "summary": {**summary(probe), **passage_summary(reading)}}


def _chat_row(b: Board, rec: dict, name: str, model, tokenizer, expected: dict[str, int]) -> None:
    """The suite (a stage's own figures where it measured this checkpoint) and the gold score."""
    ckpt_file = Path(rec["checkpoint"])
    found = None if b.force else stage_suite(b.run_dir, name, ckpt_file, expected)
    if found is not None:
        report, where = found
        report = _restrict(report, list(expected))
        rec["source"]["suite"] = where
        b.say(f"{name}: the suite's figures from {where} (same checkpoint, same items)")
    else:
        suite = dataclasses.replace(suite_settings(b.cfg), items=b.items)
        report = evaluate(model, tokenizer, b.run_dir, suite, b.cfg.run.seed, log=b.log, tasks=list(expected))
        rec["source"]["suite"] = "computed"
    rec.update(report)
    if "copy_probe" not in rec:  # a stage that ran the task sets without the probes (distill)
        probes = _probes(b, model, tokenizer)
        rec.update(copy_probe=probes["copy_probe"], reading_probe=probes["reading_probe"],
                   summary={**rec.get("summary", {}), **probes["summary"]})
    prompts = open_prompts(b.world, b.items)
    if prompts:
        suite = SuiteSettings.of(b.cfg.sft)

        def answer(items: list[dict]) -> list[str]:  # decoded as the suite decodes (dtype, threads)
            with torch_threads(suite.threads):
                return open_answers(decoding_copy(model, suite.dtype), tokenizer, items,
                                    max_new_tokens=suite.max_new_tokens * 2, batch_size=suite.batch_size)
        got = cached_open_answers(b.run_dir, name, rec["key"]["sha256"], prompts, answer, fresh=b.force)
        answers = [got["answers"][p["id"]] for p in prompts]
        rec["gold"] = gold_summary(prompts, answers)
        rec["gold"]["samples"] = [{"prompt": p["prompt"], "answer": a, "score": s} for p, a, s in
                                  list(zip(prompts, answers, rec["gold"]["scores"]))[:3]]


def _bpb(b: Board, rec: dict, name: str, model, tokenizer, tok_dir: Path) -> None:
    """Validation bits per byte: the pretrain stage's own figure for its final checkpoint."""
    owned = _stage_owns(b.run_dir, "pretrain", Path(rec["checkpoint"])) if name == "pretrain" else None
    if owned and owned.get("val_bpb") is not None and not b.force:
        rec["val_bpb"], rec["val_bpb_se"] = owned["val_bpb"], owned.get("val_bpb_se")
        rec["source"]["val_bpb"] = "pretrain/metrics.json"
        return
    got = val_bpb(model, tokenizer, tok_dir, b.run_dir, b.cfg)
    rec["val_bpb"], rec["val_bpb_se"] = (round(got[0], 5), round(got[1], 5)) if got else (None, None)
    rec["source"]["val_bpb"] = (("computed" if same_tokenizer(tok_dir, b.run_dir) else
                                 "computed on the held-out text in the model's own tokens")
                                if got else "n/a (the run has no pretrain split)")


def evaluate_checkpoint(b: Board, name: str, path: Path, cached_only: bool = False) -> dict | None:
    """The row record of one checkpoint (cached in eval/<name>.json); with `cached_only`, None
    instead of measuring when the cache does not hold it."""
    ckpt_file = resolve_checkpoint(path)
    key = {"file": ckpt_file.name, "bytes": ckpt_file.stat().st_size, "sha256": sha256(ckpt_file),
           "items": b.items, "seed": b.cfg.run.seed}
    sets = build_cases(b.world, b.items, b.cfg.run.seed)
    wanted = b.tasks or [k for k, v in sets.items() if v]
    expected = {k: len(sets[k]) for k in wanted if sets[k]}
    old = _cached(b, name, key, expected)
    if old is not None or cached_only:
        return old

    t0 = time.perf_counter()
    model, tok_dir, meta = load_model(ckpt_file, b.device)
    kind = "base" if meta.get("stage") == "pretrain" and not meta.get("chat") else "chat"
    if tok_dir is None:
        raise UserError(f"checkpoint '{ckpt_file}' has no tokenizer folder next to it.")
    tokenizer = Tokenizer.load(tok_dir)
    rec: dict[str, Any] = {"name": name, "checkpoint": str(ckpt_file), "step": meta.get("step"), "kind": kind,
                           "key": key, "source": {}}
    # decoding picks its own threads (the suite's eval_threads); the probes and bits per byte are
    # whole-row forward passes, which every core helps
    if kind == "chat":
        _chat_row(b, rec, name, model, tokenizer, expected)
    else:
        rec.update(tasks={}, **_probes(b, model, tokenizer))
    _bpb(b, rec, name, model, tokenizer, tok_dir)
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    cache = Path(b.run_dir) / "eval" / f"{name}.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(cache, rec)
    return rec


def suite_of(ctx, label: str, model, tokenizer) -> dict:
    """The board's suite on a loaded model, cached in the stage's folder as eval_<label>.json."""
    def measure() -> dict:
        ctx.log.info(f"the evaluation suite, as the eval stage runs it: {label}")
        was = model.training
        try:
            return evaluate(model.eval(), tokenizer, ctx.run_dir, suite_settings(ctx.config),
                            seed=ctx.config.run.seed, log=ctx.log)
        finally:
            model.train(was)
    return cached_json(ctx.out / f"eval_{label}.json", measure)


def start_suite(ctx, start: str, device) -> dict:
    """The suite of the model a stage started from: the starting stage's own report where it holds
    the board's items for its final checkpoint (as the eval stage would reuse it), else measured
    here (eval_start.json)."""
    folder = ctx.input_dir(start) / "ckpt"
    ckpt_file = resolve_checkpoint(folder)
    settings = suite_settings(ctx.config)
    cases = build_cases(load_world(ctx.input_dir("world")), settings.items, ctx.config.run.seed)
    found = stage_suite(ctx.run_dir, start, ckpt_file, {k: len(v) for k, v in cases.items() if v})
    if found is not None:
        ctx.log.info(f"the suite of {start}: {found[1]}")
        return found[0]
    model, tok_dir, _ = load_model(ckpt_file, device)
    return suite_of(ctx, "start", model, Tokenizer.load(tok_dir or ctx.input_dir("tokenizer")))


def reward_model(run_dir: Path) -> dict | None:
    """The reward model's held-out pairwise accuracy against the gold labeler, as the rm stage
    measured it (rm/metrics.json "heldout"), where the run has one."""
    try:
        m = read_json(Path(run_dir) / "rm" / "metrics.json")
    except ValueError:
        return None
    h = m.get("heldout") if isinstance(m, dict) else None
    if not isinstance(h, dict) or not isinstance(h.get("strict"), (int, float)):
        return None
    return {"accuracy": h["strict"], "ci95": h.get("strict_ci95"), "pairs": h.get("strict_pairs"),
            "target": m.get("target"), "from": "rm/metrics.json"}


def evaluate_run(run_dir: Path, cfg, checkpoints: dict[str, Path], *, items: int,
                 tasks: list[str] | None = None, force: bool = False, device=None, log=None) -> dict:
    """Evaluate every checkpoint, write eval/metrics.json and eval/table.md; returns the metrics."""
    run_dir = Path(run_dir)
    board = Board(run_dir, cfg, load_world(run_dir / "world"), items, tasks, force, device, log)
    t0 = time.perf_counter()
    records = []
    for name, path in checkpoints.items():
        board.say(f"evaluating {name} ({path})")
        records.append(evaluate_checkpoint(board, name, path))
    # the run's other checkpoints whose rows are cached for these items join the table, so that
    # `--only rl` after a full run updates one row instead of shrinking the table to it
    others = {n: p for n, p in run_checkpoints(run_dir).items() if n not in checkpoints}
    for name, path in others.items():
        rec = evaluate_checkpoint(dataclasses.replace(board, force=False), name, path, cached_only=True)
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
    try:  # the model chat, serve and export pick by the stages' keep verdicts, and why
        got = pick(run_dir, chat_only=True)
        out["picked"] = {"name": got.name, "why": got.why}
    except UserError as e:
        out["picked"] = {"name": None, "why": str(e)}
    (run_dir / "eval").mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / "eval" / "metrics.json", out)
    atomic_write_text(run_dir / "eval" / "table.md", markdown(table_rows) + "\n" + LEGEND + "\n")
    return out
