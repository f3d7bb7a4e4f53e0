"""The pretrain stage: documents + tokenizer -> a base model, watched as it learns.

    pretrain/tokens/          token shards (built once; a resume reuses them)
    pretrain/ckpt/            step_XXXXXX.pt checkpoints, latest.json, a copy of the tokenizer
    pretrain/samples.jsonl    continuations of fixed prompts every sample_every steps
    pretrain/samples.md       the same, grouped by prompt, to read the progression top to bottom
    pretrain/metrics.jsonl    train loss every log_every steps, val loss / bits per byte, samples
    <run_dir>/peak_flops.json this machine's measured matmul peak per dtype (the MFU denominator)

Everything model-agnostic (the loop, optimizer, checkpoints, DDP) is in chatforge/train; this
file only wires pretraining's data, loss, evaluation and samples into it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Callable, Iterable

import torch

from chatforge.core.atomic import atomic_write_text
from chatforge.core.device import pick_device
from chatforge.core.errors import UserError
from chatforge.data import iter_documents
from chatforge.eval.bpb import token_byte_lengths, val_loss_bpb
from chatforge.eval.copying import (
    GAPS,
    copy_probe,
    describe,
    passage_describe,
    passage_probe,
    passage_summary,
    summary,
)
from chatforge.model.circuits import init_induction_circuit
from chatforge.model.gpt import GPT
from chatforge.pretrain.evaluate import generate, sample_prompts
from chatforge.tokenizer import Tokenizer
from chatforge.train import checkpoint as ckpt
from chatforge.train import dist as dd
from chatforge.train import shards as sh
from chatforge.train.loop import Checkpoints, Hook, LoopConfig, Trainer
from chatforge.train.mfu import auto_dtype, matmul_peak
from chatforge.train.optim import OptimConfig, build_optimizer
from chatforge.train.schedule import lr_multiplier
from chatforge.tune.reading import MixedBatches, ReadingRows, corpus_words


def run(ctx) -> dict:
    data_dir = ctx.input_dir("data")
    tok_dir = ctx.input_dir("tokenizer")
    return pretrain(ctx, lambda: iter_documents(data_dir), tok_dir)


def pretrain(ctx, documents: Callable[[], Iterable[dict]], tokenizer_dir: str | Path,
             loss: Callable | None = None) -> dict:
    """The stage body, with its inputs passed in (tests feed their own documents). `loss(model,
    x, y) -> scalar` replaces the next-token cross-entropy (the distill stage's student base
    learns the documents from a teacher's distributions too)."""

    cfg = ctx.config.pretrain
    seed = ctx.config.run.seed
    _validate(cfg)
    dist = dd.setup(pick_device(ctx.config.run.device))
    device, main = dist.device, dist.is_main
    tokenizer = Tokenizer.load(tokenizer_dir)

    # 1. token shards, built once by rank 0
    tokens_dir = ctx.out / "tokens"
    if main and sh.load_index(tokens_dir) is None:
        ctx.log.info("tokenizing documents into shards ...")
        index = sh.build_shards(tokens_dir, documents(), tokenizer, cfg.val_frac, cfg.shard_tokens)
        ctx.log.info(f"tokens: {index['tokens']['train']:,} train / {index['tokens']['val']:,} val "
                     f"in {index['docs']['train']:,} / {index['docs']['val']:,} documents")
        if index.get("note"):
            ctx.log.warn(index["note"])
    dd.barrier()
    index = sh.load_index(tokens_dir)

    # 2. model and data
    mcfg = ctx.config.model
    seq_len = cfg.seq_len or mcfg.max_seq_len
    if seq_len > mcfg.max_seq_len:
        raise UserError(f"pretrain.seq_len ({seq_len}) exceeds model.max_seq_len ({mcfg.max_seq_len}).")
    torch.manual_seed(seed)
    model = GPT.build(mcfg, tokenizer.n_vocab)
    if cfg.init == "induction":
        built = init_induction_circuit(model)
        if main:
            ctx.log.info(f"initialisation: induction circuit in layers 0-1 ({built})")
    model = model.to(device)
    n_copy = round(cfg.batch_size * cfg.reading_share)
    train = sh.TokenBatches(sh.open_split(tokens_dir, "train"), seq_len, cfg.batch_size - n_copy, seed,
                            dist.rank, dist.world_size)
    if n_copy or cfg.reading_first_steps:
        reading = ReadingRows(tokenizer, corpus_words((d["text"] for d in documents()), cfg.reading_words), seq_len,
                              seed * 1000 + dist.rank, max_gap=cfg.reading_max_gap,
                              passages=cfg.reading_passages)
        train = MixedBatches(train, reading, cfg.batch_size, n_copy, cfg.reading_first_steps)
    val_shards = sh.open_split(tokens_dir, "val")
    val_len = min(seq_len, max(1, sum(len(s) for s in val_shards) - 1))
    val = sh.TokenBatches(val_shards, val_len, cfg.batch_size, seed, dist.rank, dist.world_size,
                          shuffle=False, require=False)
    tokens_per_step = cfg.batch_size * seq_len * cfg.grad_accum * dist.world_size
    text_steps = max(0, cfg.steps - cfg.reading_first_steps)  # epochs of the text, exercises aside
    epochs = text_steps * (cfg.batch_size - n_copy) * seq_len * cfg.grad_accum * dist.world_size / max(
        1, index["tokens"]["train"])

    # 3. speed bookkeeping: dtype that is actually fast here, the measured peak for MFU
    peak_cache = ctx.run_dir / "peak_flops.json"  # one per run directory: later stages reuse it
    dtype = auto_dtype(device, peak_cache) if cfg.dtype == "auto" else cfg.dtype
    peak = matmul_peak(device, getattr(torch, dtype), peak_cache)
    fpt = model.flops_per_token(seq_len)
    if main:
        ctx.log.info(
            f"model: {model.num_params() / 1e6:.2f}M params ({model.num_params(True) / 1e6:.2f}M "
            f"non-embedding), {fpt / 1e6:.1f} MFLOP/token; {dtype} on {device}, measured matmul "
            f"peak {peak / 1e9:.0f} GFLOP/s x {dist.world_size} rank(s)")
        ctx.log.info(f"training: {cfg.steps} steps x {tokens_per_step:,} tokens = "
                     f"{cfg.steps * tokens_per_step / 1e6:.2f}M tokens ({epochs:.1f} epochs), {cfg.optimizer}")

    optimizer = build_optimizer(model, OptimConfig(
        name=cfg.optimizer, lr=cfg.lr, muon_lr=cfg.muon_lr, weight_decay=cfg.weight_decay,
        beta1=cfg.beta1, beta2=cfg.beta2))

    def lr_fn(step: int) -> float:
        return lr_multiplier(step, cfg.steps, cfg.warmup_steps, cfg.decay_frac, cfg.final_lr_frac, cfg.schedule)

    def loss_fn(m, batch):
        x, y = batch
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        return (m(x, targets=y) if loss is None else loss(m, x, y)), x.numel()

    # 4. hooks: validation loss / bits per byte, samples from fixed prompts
    byte_lens = token_byte_lengths(tokenizer).to(device)
    eval_windows = max(1, cfg.eval_tokens // max(1, val_len))
    last_eval: dict = {}

    probe_texts = _probe_texts(documents)

    def do_eval(tr: Trainer) -> None:
        if val.windows_per_epoch() == 0:
            return

        loss, bpb, se = val_loss_bpb(ckpt.unwrap(tr.model), val, eval_windows, byte_lens, tr.autocast)
        last_eval.update(step=tr.step, val_loss=loss, val_bpb=bpb, val_bpb_se=se)
        if main:  # the first number to watch: does the model read its context yet?
            m = ckpt.unwrap(tr.model)
            was = m.training
            m.eval()
            with tr.autocast():
                probe = copy_probe(m, tokenizer, probe_texts, seed=seed, gaps=GAPS)
                reading = passage_probe(m, tokenizer, seed=seed)
            m.train(was)
            flat = {**summary(probe), **passage_summary(reading)}
            last_eval.update(copy=flat)
            ctx.log.metric(event="val", step=tr.step, tokens=tr.step * tokens_per_step, val_loss=round(loss, 5),
                           val_bpb=round(bpb, 5), val_bpb_se=round(se, 5), **flat)
            ctx.log.info(f"step {tr.step}: train loss {tr.stats.loss:.3f} | val loss {loss:.3f} | "
                         f"val bpb {bpb:.3f} ± {se:.3f} | copy probe {describe(probe)} | "
                         f"{passage_describe(reading)}")

    prompts = cfg.sample_prompts or sample_prompts(tokens_dir, tokenizer)
    samples_path = ctx.out / "samples.jsonl"

    def do_samples(tr: Trainer) -> None:
        texts = generate(ckpt.unwrap(tr.model), tokenizer, prompts, cfg.sample_tokens,
                         cfg.sample_temperature, cfg.sample_top_k, seed=seed + tr.step, autocast=tr.autocast)
        ctx.log.info(f"samples at step {tr.step} (loss {tr.stats.loss:.3f}):")
        with open(samples_path, "a", encoding="utf-8") as f:
            for p, t in zip(prompts, texts):
                ctx.log.info(f"  {p!r} -> {t!r}")
                rec = {"step": tr.step, "loss": round(tr.stats.loss, 4), "prompt": p, "text": t}
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                ctx.log.metric(event="sample", **rec)

    ckpt_dir = ctx.out / "ckpt"
    trainer = Trainer(
        model, optimizer, train, loss_fn,
        LoopConfig(steps=cfg.steps, grad_accum=cfg.grad_accum, grad_clip=cfg.grad_clip, dtype=dtype,
                   compile=cfg.compile, ckpt_every=cfg.ckpt_every, keep_every=cfg.keep_every,
                   log_every=cfg.log_every, lr=lr_fn, flops_per_token=fpt, peak_flops=peak),
        saves=Checkpoints(ckpt_dir, dataclasses.asdict(model.config),
                          {"stage": "pretrain", "seq_len": seq_len, "dtype": dtype, "tokens_per_step": tokens_per_step}),
        dist=dist, log=ctx.log,
        hooks=[Hook(cfg.eval_every, do_eval), Hook(cfg.sample_every, do_samples, main_only=True)])
    if main:
        ckpt.copy_tokenizer(tokenizer_dir, ckpt_dir)
    start = trainer.resume()
    if start and main:
        ctx.log.info(f"resuming from step {start} of {cfg.steps} ({trainer.last_ckpt.name})")
    stats = trainer.fit()
    if "val_loss" not in last_eval:  # resumed after the final checkpoint: evaluate once more
        do_eval(trainer)
    if main:
        _write_samples_md(samples_path, ctx.out / "samples.md")
    dd.barrier()

    metrics = {
        "steps": cfg.steps, "params": model.num_params(), "flops_per_token": fpt,
        "tokens_per_step": tokens_per_step, "epochs": round(epochs, 2),
        "train_tokens": index["tokens"]["train"], "val_tokens": index["tokens"]["val"],
        "final_train_loss": round(stats.loss, 5),
        "val_loss": round(last_eval.get("val_loss", float("nan")), 5),
        "val_bpb": round(last_eval.get("val_bpb", float("nan")), 5),
        # the split's own noise: differences under ~3 standard errors are not real
        "val_bpb_se": round(last_eval.get("val_bpb_se", float("nan")), 5),
        "val_windows": min(eval_windows, val.windows_per_epoch()),
        **last_eval.get("copy", {}),
        "dtype": dtype, "world_size": dist.world_size, "peak_flops": round(peak),
        "checkpoint": str(trainer.last_ckpt),
    }
    if stats.step_time > 0 and start < cfg.steps:
        metrics["tokens_per_s_last_step"] = round(stats.tokens / stats.step_time, 1)
        metrics["mfu_last_step"] = round(trainer.mfu() or 0.0, 4)
    return metrics


def _probe_texts(documents: Callable[[], Iterable[dict]], limit: int = 400) -> list[str]:
    """The copy probe's word source: the first documents' text (random words from them)."""
    out = []
    for d in documents():
        out.append(d["text"])
        if len(out) >= limit:
            break
    return out


def _validate(cfg) -> None:
    for name in ("steps", "batch_size", "grad_accum"):
        if getattr(cfg, name) <= 0:
            raise UserError(f"pretrain.{name} must be positive, got {getattr(cfg, name)}.")
    if cfg.optimizer not in ("adamw", "muon"):
        raise UserError(f"pretrain.optimizer must be adamw or muon, got {cfg.optimizer!r}.")
    if cfg.schedule not in ("linear", "cosine"):
        raise UserError(f"pretrain.schedule must be linear or cosine, got {cfg.schedule!r}.")
    if (not 0.0 <= cfg.reading_share < 1.0 or cfg.reading_first_steps < 0 or cfg.reading_max_gap < 0
            or cfg.reading_words < 0 or not 0.0 <= cfg.reading_passages <= 1.0):
        raise UserError("pretrain.reading_share must be in [0, 1), reading_passages in [0, 1], "
                        "reading_first_steps, reading_max_gap and reading_words at least 0.")
    if cfg.init not in ("standard", "induction"):
        raise UserError(f"pretrain.init must be standard or induction, got {cfg.init!r}.")
    if cfg.dtype not in ("auto", "bfloat16", "float32"):
        raise UserError(f"pretrain.dtype must be auto, bfloat16 or float32, got {cfg.dtype!r}.")
    if not 0.0 <= cfg.val_frac < 1.0:
        raise UserError(f"pretrain.val_frac must be in [0, 1), got {cfg.val_frac}.")
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        raise UserError(f"pretrain.lr must be a positive number, got {cfg.lr}.")


def _write_samples_md(jsonl: Path, md: Path) -> None:
    """Group the samples by prompt, oldest step first; a resumed run's repeated steps keep the
    newest record."""
    if not jsonl.exists():
        return
    latest: dict[tuple[str, int], dict] = {}
    for line in jsonl.read_text(encoding="utf-8").splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a kill
            continue
        latest[(r["prompt"], r["step"])] = r
    prompts = list(dict.fromkeys(p for p, _ in latest))
    out = ["# Samples during pretraining", "",
           "Each prompt's continuation at every sampling step: watch noise turn into text.", ""]
    for p in prompts:
        out += [f"## Prompt: `{p}`", ""]
        for (_, step), r in sorted((k, v) for k, v in latest.items() if k[0] == p):
            text = r["text"].replace("\n", " ⏎ ")
            out.append(f"- step {step} (loss {r['loss']}): {p}**{text}**")
        out.append("")
    atomic_write_text(md, "\n".join(out))
