"""The distill stage: a small student learns from the run's best chat model.

    run_dir/distill/
      base/              the student's base model: the run's pretraining recipe at the student's
                         shape (every arm starts from it, as the teacher started from its own)
      text/train.jsonl   text: the teacher's answers to every assistant turn of the data
      ckpt/              the student of `method` (what chat/serve/export pick from this run)
      arms/<arm>/ckpt/   the other arms of the comparison (`compare`: scratch, other methods)
      eval_teacher.json, eval_student.json, arms/<arm>/eval.json   the evaluation suite, teacher
                         and every arm (per item: the McNemar tests read them)
      keep.json          the student against its teacher, set by set (eval.keep)
      metrics.json       the comparison table (scores, share of the teacher's, validation loss,
                         parameters, decode speed) and the targets

The distillation data are the conversations the teacher was fine-tuned on: the SFT mixture
and, when the run has a probe stage, its mitigation data (refusals, answers, pages in context).
Every arm takes the same number of optimizer steps of the same batch size from the same start:
`scratch` is the ordinary fine-tune (cross-entropy on the data, i.e. the teacher's SFT recipe at
the student's size), `logits` adds the teacher's distributions, `text` trains on the teacher's
answers instead of the data's, `on-policy` spends a share of its steps on its own samples
graded by the teacher, `logits-topk` keeps only the teacher's top-k log-probs, computed once.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from chatforge.chat.render import render
from chatforge.core.atomic import atomic_write_text, cached_json, read_json
from chatforge.core.device import pick_device, torch_threads
from chatforge.core.errors import UserError
from chatforge.core.rundir import StageContext
from chatforge.distill.compare import decode_speed, table, val_loss
from chatforge.distill.config import ARMS, DIVERGENCES, METHODS
from chatforge.distill.losses import TopKCache, make_loss
from chatforge.distill.models import check_white_box, find_teacher, same_vocabulary, student_start
from chatforge.distill.onpolicy import OnPolicy, OnPolicyBatches, prompts_of
from chatforge.distill.text import endpoint_teacher, engine_teacher, rewrite
from chatforge.eval import keep
from chatforge.eval.suite import SuiteSettings, evaluate
from chatforge.sft.mixture import conversations
from chatforge.tokenizer import Tokenizer
from chatforge.tools.training import training_executor
from chatforge.train import checkpoint as ckpt
from chatforge.train.dist import DistInfo, setup
from chatforge.tune.finetune import FinetuneRun, finetune
from chatforge.tune.pack import pack


@dataclass
class Classroom:
    """What every arm shares: the teacher, the student's start, the data and the tokenizer."""
    ctx: StageContext
    cfg: Any  # [distill], with max_steps and seq_len fixed for every arm
    start: Path  # the checkpoint every arm starts from
    teacher: Any
    teacher_tok: Any
    tokenizer: Any
    tok_dir: Path
    train: list[dict]
    val: list[dict]
    dist: DistInfo
    seed: int


def validate(cfg) -> None:
    if cfg.method not in METHODS:
        raise UserError(f"distill.method must be one of {', '.join(METHODS)}, got {cfg.method!r}.")
    bad = [a for a in cfg.compare if a not in ARMS]
    if bad:
        raise UserError(f"distill.compare has an unknown arm '{bad[0]}' (arms: {', '.join(ARMS)}).")
    if cfg.divergence not in DIVERGENCES:
        raise UserError(f"distill.divergence must be one of {', '.join(DIVERGENCES)}, "
                        f"got {cfg.divergence!r}.")
    if not (0 < cfg.jsd_beta < 1):
        raise UserError(f"distill.jsd_beta must be between 0 and 1 (exclusive), got {cfg.jsd_beta}.")
    if cfg.temperature <= 0 or not (0 <= cfg.alpha <= 1) or not (0 <= cfg.base_alpha <= 1):
        raise UserError("distill.temperature must be above 0, distill.alpha and distill.base_alpha in "
                        "[0, 1].")
    if cfg.top_k < 0 or (cfg.top_k > 0 and cfg.divergence != "forward"):
        raise UserError("distill.top_k must be at least 0, and offline top-k works with the forward KL only "
                        "(the teacher's tail beyond k is not kept).")
    if not (0 <= cfg.onpolicy_fraction <= 1) or cfg.onpolicy_prompts < 1 or cfg.onpolicy_temperature <= 0:
        raise UserError("distill.onpolicy_fraction must be in [0, 1], onpolicy_prompts at least 1 and "
                        "onpolicy_temperature above 0.")
    for name in ("student_n_layer", "student_d_model", "student_n_head", "student_n_kv_head", "eval_items",
                 "text_max_new_tokens", "onpolicy_max_new_tokens", "speed_tokens", "speed_trials"):
        if getattr(cfg, name) < 1:
            raise UserError(f"distill.{name} must be at least 1, got {getattr(cfg, name)}.")


def _jsonl(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()] \
        if path.is_file() else []


def distill_data(ctx) -> tuple[list[dict], list[dict]]:
    """The teacher's fine-tuning conversations (SFT mixture + the probe's mitigation), deduplicated."""
    train, val, seen = [], [], set()
    sources = [ctx.input_dir("sft") / "mixture"]
    probe = ctx.run_dir / "probe"
    if (probe / "_COMPLETE.json").is_file() and (probe / "mitigation").is_dir():
        sources.append(probe / "mitigation")
    for d in sources:
        for split, out in (("train", train), ("val", val)):
            for c in conversations(d, split):  # the SFT mixture's plain-text documents left out
                key = json.dumps(c["messages"], sort_keys=True)
                if key not in seen:
                    seen.add(key)
                    out.append(c)
    return train, val


def _teacher(ctx: StageContext, cfg, arms: list[str], device, tokenizer):
    """The teacher model and tokenizer, frozen; a white-box arm needs the student's vocabulary."""
    got = find_teacher(ctx, cfg)
    teacher, t_tok_dir, t_meta = ckpt.load_model(got.path, device)
    if t_tok_dir is None:
        raise UserError(f"the teacher checkpoint '{got.path}' has no tokenizer folder next to it.")
    teacher_tok = Tokenizer.load(t_tok_dir)
    for p in teacher.parameters():
        p.requires_grad_(False)
    white = [a for a in arms if a in ("logits", "on-policy", "logits-topk")]
    if white:
        check_white_box(teacher_tok, tokenizer, white[0])
    ctx.extra["teacher"], ctx.extra["teacher_name"] = t_meta["checkpoint"], got.name
    ctx.log.info(f"teacher: {got.name}, {got.why}")
    ctx.log.info(f"teacher: {t_meta['checkpoint']} ({teacher.num_params() / 1e6:.2f}M params); "
                 f"arms: {', '.join(arms)}")
    return teacher, teacher_tok, t_meta


def _steps(cfg, train: list[dict], tokenizer, seq_len: int) -> int:
    """Every arm takes the steps `epochs` of the data would take (or max_steps)."""
    if cfg.max_steps > 0:
        return cfg.max_steps
    rows = pack([(r.ids, r.mask) for r in (render(c["messages"], tokenizer) for c in train)], seq_len,
                tokenizer.pad_id)
    return max(1, math.ceil(cfg.epochs * len(rows) / cfg.batch_size))


def _suite(c: Classroom, model, tok, label: str) -> dict:
    c.ctx.log.info(f"evaluation suite: {label}")
    model.eval()
    r = evaluate(model, tok, c.ctx.run_dir, SuiteSettings.of(c.cfg), seed=c.seed, log=c.ctx.log)
    return {"summary": r["summary"], "tasks": r["tasks"]}  # per item too: eval.keep compares them


def _arms(c: Classroom, arms: list[str]) -> tuple[dict, dict]:
    """Train and evaluate every arm; -> (their rows, their training metrics)."""
    cfg, ctx = c.cfg, c.ctx
    results, train_metrics = {}, {}
    for arm in arms:
        out = ctx.out if arm == cfg.method else ctx.out / "arms" / arm
        train_metrics[arm] = _train_arm(c, arm, out)
        model, _, _ = ckpt.load_model(out / "ckpt", c.dist.device)
        ev = cached_json(out / ("eval.json" if arm != cfg.method else "eval_student.json"),
                         lambda model=model, arm=arm: _suite(c, model, c.tokenizer, arm))
        results[arm] = {"summary": ev["summary"], "params": model.num_params(), "model": model,
                        "val_loss": round(val_loss(model, c.tokenizer, c.val, cfg.seq_len), 5)}
    return results, train_metrics


def run(ctx: StageContext) -> dict:
    cfg = ctx.config.distill
    validate(cfg)
    seed = ctx.config.run.seed
    dist = setup(pick_device(ctx.config.run.device))
    if dist.world_size > 1:
        raise UserError("the distill stage runs on one process; start it without torchrun.")
    arms = list(dict.fromkeys([cfg.method] + list(cfg.compare)))
    tok_dir = ctx.input_dir("tokenizer")
    tokenizer = Tokenizer.load(tok_dir)
    teacher, teacher_tok, t_meta = _teacher(ctx, cfg, arms, dist.device, tokenizer)
    start = student_start(ctx, cfg)
    train, val = distill_data(ctx)
    seq_len = cfg.seq_len or ctx.config.model.max_seq_len
    steps = _steps(cfg, train, tokenizer, seq_len)
    ctx.log.info(f"distillation data: {len(train)} train / {len(val)} val conversations; {steps} steps of "
                 f"{cfg.batch_size} rows x {seq_len} tokens for every arm")
    c = Classroom(ctx, dataclasses.replace(cfg, max_steps=steps, seq_len=seq_len), start, teacher,
                  teacher_tok, tokenizer, tok_dir, train, val, dist, seed)
    teacher_eval = cached_json(ctx.out / "eval_teacher.json",
                               lambda: _suite(c, teacher, teacher_tok, "teacher"))
    teacher_val = val_loss(teacher, teacher_tok, val, min(seq_len, teacher.config.max_seq_len)) \
        if same_vocabulary(teacher_tok, tokenizer) else None
    results, train_metrics = _arms(c, arms)

    ctx.log.info("decode speed, the models side by side")
    prompt = tokenizer.encode("The river town was founded by")
    models = {"teacher": teacher, **{a: r["model"] for a, r in results.items()}}
    speed = decode_speed(models, prompt[:8] or [0], cfg.speed_tokens, cfg.speed_trials)
    teacher_row = {"summary": teacher_eval["summary"], "params": teacher.num_params(),
                   "tokens_per_s": speed["teacher"],
                   "val_loss": None if teacher_val is None else round(teacher_val, 5)}
    rows = {a: {**{k: v for k, v in r.items() if k != "model"}, "tokens_per_s": speed[a]}
            for a, r in results.items()}
    t = table(teacher_row, rows)
    kept = keep.gate(ctx, ctx.extra["teacher_name"], teacher_eval, read_json(ctx.out / "eval_student.json"))
    for a, r in t.items():
        ctx.log.info(f"{a:<12} params {r['params']:,} ({100 * r['params_vs_teacher']:.0f}%), "
                     f"{r['speedup']}x decode, val loss {r['val_loss']}, below 90% of the teacher on: "
                     f"{', '.join(r['sets_below_90pct']) or 'none'} -> {'met' if r['met'] else 'not met'}")
    return {"method": cfg.method, "teacher": t_meta["checkpoint"], "student_start": str(start),
            "steps": steps,
            "teacher_row": {"params": teacher_row["params"], "tokens_per_s": speed["teacher"],
                            "val_loss": teacher_row["val_loss"],
                            "scores": {k[4:]: v for k, v in teacher_eval["summary"].items()
                                       if k.startswith("acc_") and isinstance(v, (int, float))}},
            "table": t, "training": train_metrics, "keep": kept,
            "checkpoint": train_metrics[cfg.method].get("checkpoint")}


def _arm_loss(c: Classroom, arm: str, model, stats: dict, extra: dict):
    """(data, loss_fn, wrap_batches) of one arm."""
    cfg = c.cfg
    if arm == "text":
        return _text_data(c), None, None
    if arm in ("logits", "logits-topk"):
        cache = TopKCache(c.teacher, cfg.top_k or 64, cfg.temperature) \
            if arm == "logits-topk" or cfg.top_k else None
        extra["cache"] = cache
        return c.train, make_loss(c.teacher, cfg, c.dist.device, stats, cache), None
    if arm == "on-policy":
        execute = training_executor(c.ctx.run_dir)
        prompts = prompts_of(c.train)

        def wrap(batches):
            extra["onpolicy"] = OnPolicyBatches(batches, model, c.tokenizer, prompts, OnPolicy.of(cfg),
                                                seed=c.seed, execute=execute)
            return extra["onpolicy"]
        return c.train, make_loss(c.teacher, cfg, c.dist.device, stats), wrap
    return c.train, None, None


def _train_arm(c: Classroom, arm: str, out: Path) -> dict:
    """Train one arm from the student's start into out/ckpt (resumable); -> its training metrics."""
    ctx, cfg = c.ctx, c.cfg
    done = out / "train.json" if arm != cfg.method else out / "train_student.json"
    if done.is_file():
        return read_json(done)
    torch.manual_seed(c.seed)
    model, _, s_meta = ckpt.load_model(c.start, c.dist.device)
    model.train()
    meta = {"stage": "distill", "method": arm, "teacher": ctx.extra.get("teacher", ""),
            "base": s_meta["checkpoint"], "chat": True}
    stats: dict = {}
    extra: dict = {}
    t0 = time.perf_counter()
    data, loss_fn, wrap = _arm_loss(c, arm, model, stats, extra)
    ctx.log.info(f"arm {arm}: training from {s_meta['checkpoint']}")
    m = finetune(model, c.tokenizer, c.tok_dir, data, c.val, cfg, FinetuneRun(
        ckpt_dir=out / "ckpt", run_dir=ctx.run_dir, world_dir=ctx.input_dir("world"), dist=c.dist,
        seed=c.seed, log=ctx.log, meta=meta, label="distill", loss_fn=loss_fn, wrap_batches=wrap))
    m["train_seconds"] = round(time.perf_counter() - t0, 1)
    if extra.get("cache") is not None:
        cache = extra["cache"]
        positions = len(cache.rows) * (cfg.seq_len)
        m["topk"] = {"k": cache.k, "rows": len(cache.rows), "teacher_row_forwards": cache.forwards,
                     "rows_served": cache.lookups, "bytes": cache.nbytes(),
                     "bytes_full_logits_fp16": positions * c.teacher.config.vocab_size * 2}
    if extra.get("onpolicy") is not None:
        m["onpolicy_batches_this_process"] = extra["onpolicy"].sampled
    atomic_write_text(done, json.dumps(m, indent=2))
    return m


def _text_data(c: Classroom) -> list[dict]:
    ctx, cfg = c.ctx, c.cfg
    path = ctx.out / "text" / "train.jsonl"
    if path.is_file():
        return _jsonl(path)
    if cfg.teacher_url:
        answer = endpoint_teacher(cfg.teacher_url, cfg.teacher_model, cfg.text_max_new_tokens)
        ctx.log.info(f"the teacher answers through {cfg.teacher_url}")
    else:
        answer = engine_teacher(c.teacher, c.teacher_tok, training_executor(ctx.run_dir),
                                cfg.text_max_new_tokens, cfg.eval_batch_size * 2)
    t0 = time.perf_counter()
    with torch_threads(0 if cfg.teacher_url else cfg.eval_threads):
        convs = rewrite(c.train, answer, log=ctx.log)
    ctx.log.info(f"teacher text: {len(convs)} conversations in {time.perf_counter() - t0:.0f}s")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in convs))
    return convs
