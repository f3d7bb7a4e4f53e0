"""Run the data pipeline: into a run directory as the `data` stage, or standalone (`--out`).

    D/docs/*.parquet        clean documents: id, url, text, source, language, language_score, n_words
    D/stats.json            per step: in, kept, dropped by reason, characters kept, time
    D/summary.txt           the funnel, for people
    D/rejected/<reason>.jsonl   a sample of the documents each reason dropped
    D/metrics.json          totals, and precision/recall vs labels.jsonl when the input has one
    D/_work/                datatrove's intermediate files, per-task logs and completion markers
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from chatforge.core.atomic import atomic_write_json, read_json
from chatforge.core.deps import require
from chatforge.core.errors import UserError
from chatforge.core.failures import SystematicFailure, stop_if_systematic
from chatforge.core.log import Logger, say
from chatforge.data import iter_documents
from chatforge.data.checks import checks
from chatforge.data.config import DataConfig
from chatforge.data.extract import EXTRACTORS
from chatforge.data.inputs import discover
from chatforge.data.labels import evaluate, pii_left, read_labels
from chatforge.data.pipeline import (
    EXECUTORS,
    build_pipelines,
    connect_ray,
    local_executor,
    ray_executor,
    run_pipelines,
)
from chatforge.data.report import write_reports
from chatforge.world import load_world

DONE = "_DONE.json"


def _validate(cfg: DataConfig) -> None:
    if cfg.extractor not in EXTRACTORS:
        raise UserError(f"data.extractor must be one of {', '.join(EXTRACTORS)}, got '{cfg.extractor}'.")
    if cfg.langid_backend not in ("ft176", "py3langid"):
        raise UserError(f"data.langid_backend must be ft176 or py3langid, got '{cfg.langid_backend}'.")
    if cfg.tasks < 1 or cfg.workers < 1:
        raise UserError("data.tasks and data.workers must be at least 1.")
    if len(cfg.top_ngram_fracs) != 3 or len(cfg.dup_ngram_fracs) != 6:
        raise UserError("data.top_ngram_fracs needs 3 values (n=2..4) and data.dup_ngram_fracs 6 (n=5..10).")
    if cfg.minhash and cfg.minhash_buckets < 1:
        raise UserError("data.minhash_buckets must be at least 1.")


def _fingerprint(cfg: DataConfig, files) -> str:
    blob = {"cfg": asdict(cfg), "files": [(f.path, f.kind) for f in files]}
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:16]


def find_labels(inputs: list[str]) -> Path | None:
    """A labels.jsonl next to an input file (the world's crawl/ folder), or inside an input folder."""
    for p in map(Path, inputs):
        cand = (p if p.is_dir() else p.parent) / "labels.jsonl"
        if cand.is_file():
            return cand
    return None


def process(cfg: DataConfig, inputs: list[str], out: Path, log: Logger,
            labels: Path | None = None, executor: str = "local", ray_address: str = "auto") -> dict:
    """Run (or resume) the pipeline on `inputs` into `out`; returns the metrics.

    `executor` is how the tasks run ("local", or "ray" on the cluster at `ray_address`); it is not
    part of the config or the fingerprint because the output does not depend on it."""
    _validate(cfg)
    if executor not in EXECUTORS:
        raise UserError(f"the data executor must be one of {', '.join(EXECUTORS)}, got '{executor}'.")
    require("data", checks(cfg))
    if executor == "ray":
        connect_ray(ray_address)
    files = discover(inputs)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"output '{out}' exists and is not a directory.")
    fp = _fingerprint(cfg, files)
    work = out / "_work"
    plan = read_json(work / "plan.json")
    done = read_json(out / DONE)
    if done and done.get("fingerprint") == fp and (out / "metrics.json").exists():
        log.info(f"already complete with this config and input, nothing to do ({out})")
        return read_json(out / "metrics.json")
    if plan and plan.get("fingerprint") != fp:
        # Another config or input: datatrove's completion markers would lie, start clean.
        log.info("config or inputs changed since the last attempt: starting over")
        for name in ("_work", "docs", "rejected"):
            shutil.rmtree(out / name, ignore_errors=True)
    (out / DONE).unlink(missing_ok=True)
    resuming = (work / "logs").exists()
    atomic_write_json(work / "plan.json", {"fingerprint": fp, "inputs": inputs})
    n_kinds: dict[str, int] = {}
    for f in files:
        n_kinds[f.kind] = n_kinds.get(f.kind, 0) + 1
    log.info(f"{len(files)} input files ({', '.join(f'{v} {k}' for k, v in sorted(n_kinds.items()))})"
             f"{'; resuming unfinished tasks' if resuming else ''}")

    t0 = time.perf_counter()
    plans = build_pipelines(cfg, files, out, ray_executor if executor == "ray" else local_executor)
    run_pipelines(plans, lambda name: log.info(f"datatrove stage '{name}'"))
    wall = time.perf_counter() - t0
    stats = write_reports(out, plans, f"data funnel: {len(files)} input files -> {out / 'docs'}",
                          cfg.rejected_samples)
    _stop_if_broken(out, stats)
    metrics = _metrics(out, stats, wall, labels, log)
    atomic_write_json(out / "metrics.json", metrics)
    for name in ("filtered", "sigs", "buckets"):  # bulky intermediates; logs and markers stay
        shutil.rmtree(work / name, ignore_errors=True)
    atomic_write_json(out / DONE, {"fingerprint": fp, "finished_at": time.time()})
    say((out / "summary.txt").read_text().rstrip())
    return metrics


# Drop reasons that mean "the machinery failed", as opposed to a filter's decision about a page
# (a crawl that is all Japanese may rightly lose every page to the language filter).
ERROR_REASONS = ("extract_error",)
READ_ERRORS = ("broken_record", "broken_file", "bad_json_line")


def _first_error(out: Path, reason: str) -> str | None:
    path = out / "rejected" / f"{reason}.jsonl"
    if path.is_file():
        for line in path.read_text().splitlines():
            err = json.loads(line).get("error")
            if err:
                return err
    return None


def _stop_if_broken(out: Path, stats: list[dict]) -> None:
    """Every page (or most) failing one way stops the stage before it is marked done. datatrove's
    task markers would make a rerun reuse the failed results, so the work folder goes (the
    rejected samples stay for the user to read); the rerun after the fix starts clean."""

    try:
        _check_shares(out, stats)
    except SystematicFailure:
        for name in ("_work", "docs"):
            shutil.rmtree(out / name, ignore_errors=True)
        raise


def _check_shares(out: Path, stats: list[dict]) -> None:
    for s in stats:
        errs = {r: n for r, n in s["dropped"].items() if r in ERROR_REASONS}
        stop_if_systematic("data", f"pages at step '{s['step']}'", s["in"], errs,
                           {r: _first_error(out, r) for r in errs})
    if stats and stats[0]["kept"] == 0:
        read_errs = {r: n for r, n in stats[0]["dropped"].items() if r in READ_ERRORS}
        stop_if_systematic("data", "input records", sum(read_errs.values()), read_errs)


def _metrics(out: Path, stats: list[dict], wall: float, labels: Path | None, log: Logger) -> dict:
    docs = list(iter_documents(out))
    read = stats[0] if stats else {"in": 0, "kept": 0, "dropped": {}}
    m: dict = {
        "input_documents": read["kept"],
        "input_skipped": read["dropped"],
        "output_documents": len(docs),
        "output_words": sum(len(d["text"].split()) for d in docs),
        "output_tokens_approx": sum(len(d["text"]) for d in docs) // 4,
        "pipeline_wall_s": round(wall, 2),
        "pages_per_s": round(read["in"] / wall, 2) if wall > 0 else 0.0,
        "steps": {s["step"]: {"in": s["in"], "kept": s["kept"]} for s in stats},
    }
    for reason, n in read["dropped"].items():
        if reason in ("broken_record", "too_large", "unrecognized_file", "empty_file",
                      "bad_json_line", "broken_file", "no_text_column"):
            log.warn(f"{n} input item(s) skipped: {reason.replace('_', ' ')} (see warnings above)")
    if labels is not None:
        ev = evaluate(read_labels(labels), {d["url"] for d in docs}, [d["text"] for d in docs])
        m["labels"] = str(labels)
        m.update({f"eval_{k}" if k in ("pages",) else k: v for k, v in ev.items()})
        cls = ", ".join(f"{k} {v['removed_frac']:.2f}" for k, v in ev["junk_removed"].items())
        log.info(f"vs {labels.name}: precision {ev['precision']:.3f} recall {ev['recall']:.3f}; "
                 f"junk removed: {cls}; e-mails left {ev['emails_left']}, public IPs left "
                 f"{ev['public_ips_left']}")
    else:
        m.update(pii_left(d["text"] for d in docs))
    return m


def world_crawl(world_dir: Path) -> Path:
    """The world's crawl WARC: the world API's path when it has one, else crawl/*.warc*."""
    try:
        p = Path(load_world(world_dir).crawl_warc)
        if p.exists():
            return p
    except Exception:  # world API not there or different: fall back to the documented layout
        pass
    p = world_dir / "crawl" / "crawl.warc.gz"
    if p.exists():
        return p
    cands = sorted((world_dir / "crawl").glob("*.warc*")) if (world_dir / "crawl").is_dir() else []
    if not cands:
        raise UserError(f"no crawl WARC found in {world_dir / 'crawl'}; re-run the world stage.")
    return cands[0]


def run(ctx) -> dict:
    cfg: DataConfig = ctx.config.data
    inputs = list(cfg.inputs)
    labels = None
    if not inputs:
        warc = world_crawl(ctx.input_dir("world"))
        inputs = [str(warc)]
    labels = find_labels(inputs)
    metrics = process(cfg, inputs, ctx.out, ctx.log, labels=labels,
                      executor=ctx.extra.get("executor", "local"),
                      ray_address=ctx.extra.get("ray_address", "auto"))
    ctx.log.metric(**{k: v for k, v in metrics.items() if isinstance(v, (int, float))})
    return metrics
