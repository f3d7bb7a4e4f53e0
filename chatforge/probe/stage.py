"""The probe stage: interrogate the chat model, classify what it knows, fine-tune it to say
"I don't know" where it does not, and measure before and after.

    run_dir/probe/
      interrogation.jsonl        every question, its sampled answers, verdicts and class
      classification.json        counts per group and class, the judge, the thresholds
      eval_before.json           the evaluation suite on the chat model (sft)
      mitigation/train.jsonl     the mitigation dataset (+ val.jsonl, stats.json)
      ckpt/                      the fine-tuned chat model
      eval.json                  the evaluation suite on it
      metrics.json               before/after: hallucination, refusal, accuracy, over-refusal,
                                 knowledge from the weights vs from the context

Each step's output is written atomically and reused on a resume; the fine-tune resumes exactly
on the training core. Over-refusal is measured item by item: of the held-out known-qa questions
the chat model answered right, the share the mitigated model refuses.
"""

from __future__ import annotations

import json
from pathlib import Path

from chatforge.core.atomic import atomic_write_text, read_json
from chatforge.core.device import torch_threads
from chatforge.core.errors import UserError
from chatforge.core.rundir import StageContext
from chatforge.eval.stats import wilson
from chatforge.eval.suite import SuiteSettings, decoding_copy, evaluate
from chatforge.probe.dataset import build
from chatforge.probe.interrogate import interrogate, model_answerer, questions, summarize
from chatforge.probe.judge import load_judge
from chatforge.sft.mixture import conversations
from chatforge.tasks import SETS
from chatforge.tools.training import training_executor
from chatforge.tune.finetune import FinetuneRun, finetune
from chatforge.tune.load import load_chat_stage
from chatforge.world import load_world

# The sets the before/after table reports (the whole suite runs; these are the probe's own).
REPORTED = ("knowledge_known_qa", "knowledge_bio_only", "refusal_unknown", "refusal_invented",
            "search_unknown", "context_known", "context_unknown")


def _jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def validate(cfg) -> None:
    if cfg.samples < 1:
        raise UserError(f"probe.samples must be at least 1, got {cfg.samples}.")
    if not 0.0 <= cfg.unknown_max < cfg.known_min <= 1.0:
        raise UserError(f"probe thresholds must satisfy 0 <= unknown_max < known_min <= 1 "
                        f"(got unknown_max={cfg.unknown_max}, known_min={cfg.known_min}).")
    for name in ("refusals", "answers", "search", "context", "replay", "identity", "other_tools"):
        if getattr(cfg, name) < 0:
            raise UserError(f"probe.{name} must be at least 0, got {getattr(cfg, name)}.")
    if cfg.refuse not in ("person", "fact"):
        raise UserError(f"probe.refuse must be 'person' or 'fact', got {cfg.refuse!r}.")
    if cfg.unsure not in ("answer", "skip"):
        raise UserError(f"probe.unsure must be 'answer' or 'skip', got {cfg.unsure!r}.")
    if cfg.temperature <= 0:
        raise UserError(f"probe.temperature must be above 0 (answers are sampled), got {cfg.temperature}.")
    if cfg.search_invented > 1.0 or (cfg.search_invented < 0 and cfg.search_invented != -1):
        raise UserError(f"probe.search_invented must be a share from 0 to 1 (or -1: as the facts fall), "
                        f"got {cfg.search_invented}.")


def over_refusal(before: dict, after: dict) -> dict:
    """Of the known-qa questions answered right before, how many are refused after."""
    b = before["tasks"]["knowledge_known_qa"]["per_item"]
    a = after["tasks"]["knowledge_known_qa"]["per_item"]
    right = [i for i, ok in enumerate(b["correct"]) if ok]
    refused = sum(a["refused"][i] for i in right)
    lo, hi = wilson(refused, len(right)) if right else (0.0, 0.0)
    return {"over_refusal": round(refused / len(right), 4) if right else 0.0,
            "over_refusal_ci95": [round(lo, 4), round(hi, 4)], "over_refusal_base": len(right)}


def table(before: dict, after: dict) -> dict:
    out = {}
    for name in REPORTED:
        if name in before["tasks"] and name in after["tasks"]:
            b, a = before["tasks"][name], after["tasks"][name]
            out[name] = {"n": a["n"], "before": b["accuracy"], "before_ci95": b["ci95"],
                         "after": a["accuracy"], "after_ci95": a["ci95"],
                         "refusal_before": b["refusal_rate"], "refusal_after": a["refusal_rate"]}
    return out


def _interrogate(ctx: StageContext, model, tokenizer, world, device) -> list[dict]:
    """Step 1: every probe question, sampled and judged, each fact classified (reused on a resume)."""
    cfg, seed = ctx.config.probe, ctx.config.run.seed
    inter_path = ctx.out / "interrogation.jsonl"
    if inter_path.is_file():
        return _jsonl(inter_path)
    judge = load_judge(cfg.judge, device)
    items = questions(world, seed)
    ctx.log.info(f"interrogating: {len(items)} questions x {cfg.samples} samples at temperature "
                 f"{cfg.temperature}, judge: {judge.name}")
    with torch_threads(cfg.eval_threads):
        answer = model_answerer(decoding_copy(model, cfg.eval_dtype), tokenizer, temperature=cfg.temperature,
                                max_new_tokens=cfg.max_new_tokens, batch_size=cfg.sample_batch)
        classified = interrogate(items, answer, judge, samples=cfg.samples, known_min=cfg.known_min,
                                 unknown_max=cfg.unknown_max, seed=seed, chunk=8 * cfg.sample_batch,
                                 log=ctx.log)
    summary = {"judge": judge.name, "samples": cfg.samples, "temperature": cfg.temperature,
               "known_min": cfg.known_min, "unknown_max": cfg.unknown_max, "groups": summarize(classified)}
    atomic_write_text(ctx.out / "classification.json", json.dumps(summary, indent=2))
    _write_jsonl(inter_path, classified)  # last: its presence means step 1 is done
    return classified


def _log_groups(ctx: StageContext, groups: dict) -> None:
    for g, s in groups.items():
        if g != "all":
            ctx.log.info(f"{g}: {s['facts']} facts -> known {s['known']}, unsure {s['unsure']}, "
                         f"unknown {s['unknown']} (samples right {100 * s['sample_accuracy']:.0f}%, "
                         f"refused {100 * s['sample_refusal']:.0f}%, "
                         f"made up {100 * s['sample_hallucination']:.0f}%)")


def _dataset(ctx: StageContext, world, classified: list[dict]) -> tuple[list[dict], list[dict], dict]:
    """Step 3: the mitigation dataset (reused on a resume)."""
    cfg = ctx.config.probe
    mix = ctx.out / "mitigation"
    if (mix / "stats.json").is_file():
        return _jsonl(mix / "train.jsonl"), _jsonl(mix / "val.jsonl"), read_json(mix / "stats.json")
    sft_convs = conversations(ctx.input_dir("sft") / "mixture")
    train, val, counts = build(world, classified, sft_convs, cfg, ctx.config.run.seed,
                               training_executor(ctx.run_dir))
    mix.mkdir(parents=True, exist_ok=True)
    _write_jsonl(mix / "train.jsonl", train)
    _write_jsonl(mix / "val.jsonl", val)
    atomic_write_text(mix / "stats.json", json.dumps(counts, indent=2))
    return train, val, counts


def _metrics(ctx: StageContext, before: dict, after: dict, groups: dict, train_metrics: dict,
             counts: dict) -> dict:
    sb, sa = before["summary"], after["summary"]
    metrics = {
        **train_metrics, "mixture": counts,
        "classified": groups.get("all", {}),
        "hallucination_before": sb.get("hallucination_rate"),
        "hallucination_after": sa.get("hallucination_rate"),
        "hallucination_after_ci95": sa.get("hallucination_ci95"),
        **over_refusal(before, after),
        "table": table(before, after),
        "before": {k: v for k, v in sb.items() if not isinstance(v, list)},
    }
    metrics.update({k: v for k, v in sa.items() if not isinstance(v, list)})
    for name, r in metrics["table"].items():
        ctx.log.info(f"{name:<20} {100 * r['before']:5.1f}% -> {100 * r['after']:5.1f}%  "
                     f"(refusals {100 * r['refusal_before']:.0f}% -> {100 * r['refusal_after']:.0f}%, "
                     f"n={r['n']})")
    ctx.log.info(f"hallucination rate {metrics['hallucination_before']} -> {metrics['hallucination_after']}; "
                 f"over-refusal {metrics['over_refusal']} of {metrics['over_refusal_base']} known-qa answers "
                 "that were right before")
    return metrics


def _sft_eval(ctx: StageContext, suite: SuiteSettings) -> dict | None:
    """The SFT stage's suite on the same chat model, when it ran with the same settings and task
    sets (greedy decoding in the same batches: the same answers), or None."""
    report = read_json(ctx.input_dir("sft") / "eval.json")
    if SuiteSettings.of(ctx.config.sft) != suite or not isinstance(report, dict):
        return None
    return report if set(report.get("tasks") or {}) == set(SETS) else None


def run(ctx: StageContext) -> dict:
    cfg = ctx.config.probe
    validate(cfg)
    seed = ctx.config.run.seed
    model, tokenizer, tok_dir, sft_meta, dist = load_chat_stage(ctx, "sft", "probe")
    world = load_world(ctx.input_dir("world"))
    ctx.log.info(f"chat model: {sft_meta['checkpoint']}")
    classified = _interrogate(ctx, model, tokenizer, world, dist.device)
    groups = read_json(ctx.out / "classification.json")["groups"]
    _log_groups(ctx, groups)

    # 2. the chat model before mitigation
    suite = SuiteSettings.of(cfg)
    before_path = ctx.out / "eval_before.json"
    if before_path.is_file():
        before = read_json(before_path)
    elif (before := _sft_eval(ctx, suite)) is not None:
        ctx.log.info("the chat model before mitigation: the SFT stage's evaluation of it (the same suite)")
        atomic_write_text(before_path, json.dumps(before, indent=2, ensure_ascii=False))
    else:
        ctx.log.info("evaluating the chat model before mitigation")
        before = evaluate(model, tokenizer, ctx.run_dir, suite, seed=seed, log=ctx.log)
        atomic_write_text(before_path, json.dumps(before, indent=2, ensure_ascii=False))

    train, val, counts = _dataset(ctx, world, classified)
    ctx.log.info("mitigation data: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))

    # 4. fine-tune from the chat model
    model.train()
    train_metrics = finetune(model, tokenizer, tok_dir, train, val, cfg, FinetuneRun(
        ckpt_dir=ctx.out / "ckpt", run_dir=ctx.run_dir, world_dir=ctx.input_dir("world"), dist=dist,
        seed=seed, log=ctx.log, label="probe",
        meta={"stage": "probe", "base": sft_meta["checkpoint"], "chat": True}))

    # 5. after
    model.eval()
    ctx.log.info("evaluating the mitigated model")
    after = evaluate(model, tokenizer, ctx.run_dir, suite, seed=seed, log=ctx.log)
    atomic_write_text(ctx.out / "eval.json", json.dumps(after, indent=2, ensure_ascii=False))
    return _metrics(ctx, before, after, groups, train_metrics, counts)
