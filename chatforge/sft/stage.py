"""The sft stage: base checkpoint + conversation mixture -> chat checkpoint, then evaluation.

    run_dir/sft/
      mixture/train.jsonl, val.jsonl   the conversations (built once; a resume reuses them)
      examples.txt                     a few rendered conversations, trained tokens [[marked]]
      ckpt/step_XXXXXX.pt, latest.json the chat model (same format as pretraining checkpoints)
      eval.json                        per-task accuracy and sample transcripts
      metrics.json                     summary: losses, accuracies

Training runs on the one training core (chatforge.train.loop.Trainer): packing and the
assistant-only loss mask are all that is SFT-specific, and the model's forward takes the mask.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from chatforge.core.atomic import atomic_write_text, read_json
from chatforge.core.errors import UserError
from chatforge.core.rundir import StageContext


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def load_or_build_mixture(ctx: StageContext, tokenizer) -> tuple[list[dict], list[dict], dict]:
    """The train/val conversations: read back on a resume, otherwise built and saved."""
    d = ctx.out / "mixture"
    if (d / "train.jsonl").is_file() and (d / "val.jsonl").is_file() and (d / "stats.json").is_file():
        return _read_jsonl(d / "train.jsonl"), _read_jsonl(d / "val.jsonl"), read_json(d / "stats.json")
    from chatforge.sft.mixture import build_mixture

    train, val, stats = build_mixture(ctx.run_dir, ctx.config.sft, ctx.config.run.seed, log=ctx.log)
    d.mkdir(parents=True, exist_ok=True)
    _write_jsonl(d / "train.jsonl", train)
    _write_jsonl(d / "val.jsonl", val)
    atomic_write_text(d / "stats.json", json.dumps(stats, indent=2))
    return train, val, stats


def show_examples(convs: list[dict], tokenizer, n_per_kind: int = 1) -> str:
    """Rendered conversations with the trained tokens in [[double brackets]] (for people)."""
    from chatforge.chat.render import render

    seen: dict[str, int] = {}
    parts = []
    for c in convs:
        k = c.get("kind", "?")
        if seen.get(k, 0) >= n_per_kind:
            continue
        seen[k] = seen.get(k, 0) + 1
        r = render(c["messages"], tokenizer)
        out, run, on = [], [], None
        for i, m in zip(r.ids, r.mask):
            if on is not None and m != on:
                text = tokenizer.decode(run)
                out.append(f"[[{text}]]" if on else text)
                run = []
            run.append(i)
            on = m
        if run:
            text = tokenizer.decode(run)
            out.append(f"[[{text}]]" if on else text)
        parts.append(f"### {k}\n{''.join(out)}")
    return "\n\n".join(parts) + "\n"


def run(ctx: StageContext) -> dict:
    import torch

    from chatforge.chat.render import render
    from chatforge.core.device import pick_device
    from chatforge.sft.pack import RowBatches, pack
    from chatforge.tokenizer import Tokenizer
    from chatforge.train import checkpoint as ckpt
    from chatforge.train.dist import setup
    from chatforge.train.loop import Hook, LoopConfig, Trainer
    from chatforge.train.mfu import auto_dtype
    from chatforge.train.optim import OptimConfig, build_optimizer
    from chatforge.train.schedule import lr_multiplier

    cfg = ctx.config.sft
    seed = ctx.config.run.seed
    dist = setup(pick_device(ctx.config.run.device))
    device = dist.device
    torch.manual_seed(seed)

    model, tok_dir, base_meta = ckpt.load_model(ctx.input_dir("pretrain"), device)
    if tok_dir is None:
        tok_dir = ctx.input_dir("tokenizer")
    tokenizer = Tokenizer.load(tok_dir)
    ctx.log.info(f"base model: {base_meta['checkpoint']} (step {base_meta['step']}, "
                 f"{model.num_params() / 1e6:.2f}M params)")

    train_convs, val_convs, mix_stats = load_or_build_mixture(ctx, tokenizer)
    if dist.is_main and not (ctx.out / "examples.txt").exists():
        atomic_write_text(ctx.out / "examples.txt", show_examples(train_convs, tokenizer))
    seq_len = cfg.seq_len or model.config.max_seq_len
    if seq_len > model.config.max_seq_len:
        raise UserError(f"sft.seq_len ({seq_len}) exceeds the model's max_seq_len ({model.config.max_seq_len}).")
    if cfg.reading_rows < 0 or cfg.reading_max_gap < 0 or not 0.0 <= cfg.reading_passages <= 1.0:
        raise UserError("sft.reading_rows and sft.reading_max_gap must be at least 0, "
                        "sft.reading_passages in [0, 1].")
    pad = tokenizer.special("<|pad|>")

    def rows_of(convs):
        samples = []
        for c in convs:
            r = render(c["messages"], tokenizer)
            samples.append((r.ids, r.mask))
        return pack(samples, seq_len, pad)

    train_rows, val_rows = rows_of(train_convs), rows_of(val_convs)
    if len(train_rows) == 0:
        raise UserError("the SFT mixture is empty; raise the sft mixture counts.")
    if train_rows.n_truncated:
        ctx.log.warn(f"{train_rows.n_truncated} conversations were longer than {seq_len + 1} tokens and were cut")
    batches = RowBatches(train_rows, cfg.batch_size, seed, dist.rank, dist.world_size)
    steps = cfg.max_steps if cfg.max_steps > 0 else max(1, math.ceil(cfg.epochs * batches.steps_per_epoch()))
    trained_tokens = int(train_rows.mask[:, 1:].sum())
    if cfg.reading_rows:
        from chatforge.pretrain.reading import ReadingPlus, ReadingRows, corpus_words
        from chatforge.world import load_world

        words = corpus_words(d["text"] for d in load_world(ctx.input_dir("world")).documents())
        batches = ReadingPlus(batches, ReadingRows(tokenizer, words, seq_len, seed * 1000 + 7 + dist.rank,
                                                   max_gap=cfg.reading_max_gap,
                                                   passages=cfg.reading_passages), cfg.reading_rows)
        ctx.log.info(f"reading exercises: {cfg.reading_rows} rows in every batch, over {len(words):,} words")
    ctx.log.info(f"mixture: {len(train_convs)} train / {len(val_convs)} val conversations, "
                 f"{len(train_rows)} packed rows of {seq_len} tokens, {trained_tokens} trained tokens per epoch; "
                 f"{steps} steps ({steps / batches.steps_per_epoch():.2f} epochs)")

    dtype = cfg.dtype
    if dtype == "auto":  # bf16 only where it is measured faster (on AVX2-only CPUs it is 30x slower)
        dtype = auto_dtype(device, ctx.run_dir / "peak_flops.json")  # shared with pretraining
    elif dtype not in ("bfloat16", "float32"):
        raise UserError(f"sft.dtype must be auto, bfloat16 or float32, got {dtype!r}.")
    ctx.log.info(f"training in {dtype} on {device}")
    optimizer = build_optimizer(model, OptimConfig(name="adamw", lr=cfg.lr, weight_decay=cfg.weight_decay))

    def lr_fn(step: int) -> float:
        return lr_multiplier(step, steps, cfg.warmup_steps, decay_frac=1.0, final_frac=cfg.min_lr_frac)

    def loss_fn(m, batch):
        x, y, mask = (t.to(device, non_blocking=True) for t in batch)
        return m(x, targets=y, loss_mask=mask), int(mask.sum().item())

    val_state = {"loss": None}

    @torch.no_grad()
    def val_loss(trainer: Trainer) -> None:
        if len(val_rows) == 0:
            return
        m = ckpt.unwrap(trainer.model)
        m.eval()
        total = torch.zeros((), dtype=torch.float64)
        count = 0.0
        for i in range(0, len(val_rows), cfg.batch_size):
            ids = val_rows.ids[i:i + cfg.batch_size].to(device)
            mask = val_rows.mask[i:i + cfg.batch_size, 1:].to(device).float()
            with trainer.autocast():
                s = m(ids[:, :-1], targets=ids[:, 1:], loss_mask=mask, reduction="sum")
            total += s.double().cpu()
            count += float(mask.sum())
        m.train()
        val_state["loss"] = float(total / max(count, 1.0))
        ctx.log.metric(event="val", step=trainer.step, val_loss=round(val_state["loss"], 5))
        ctx.log.info(f"step {trainer.step}: train loss {trainer.stats.loss:.4f}, val loss {val_state['loss']:.4f}")

    ckpt_dir = ctx.out / "ckpt"
    trainer = Trainer(
        model, optimizer, batches, loss_fn,
        LoopConfig(steps=steps, grad_clip=cfg.grad_clip, dtype=dtype, ckpt_every=cfg.ckpt_every,
                   log_every=cfg.log_every),
        lr_fn=lr_fn, ckpt_dir=ckpt_dir, dist=dist, log=ctx.log,
        hooks=[Hook(cfg.eval_every, val_loss, at_end=True, main_only=True)],
        model_config=dataclasses.asdict(model.config),
        meta={"stage": "sft", "base": base_meta["checkpoint"], "chat": True})
    if dist.is_main:
        ckpt.copy_tokenizer(tok_dir, ckpt_dir)
    start = trainer.resume()
    if start:
        ctx.log.info(f"resuming SFT from step {start} of {steps}")
    stats = trainer.fit()
    if val_state["loss"] is None and dist.is_main:  # resumed after the last step was saved
        val_loss(trainer)

    metrics: dict = {
        "steps": steps,
        "epochs": round(steps / batches.steps_per_epoch(), 3),
        "train_conversations": len(train_convs),
        "val_conversations": len(val_convs),
        "trained_tokens_per_epoch": trained_tokens,
        "final_train_loss": round(stats.loss, 5),
        "val_loss": None if val_state["loss"] is None else round(val_state["loss"], 5),
        "mixture": mix_stats.get("counts", {}),
        "checkpoint": str(trainer.last_ckpt),
    }
    if cfg.eval and dist.is_main:
        from chatforge.eval.suite import evaluate

        model.eval()
        report = evaluate(model, tokenizer, ctx.run_dir, cfg, seed=seed, device=device, log=ctx.log)
        atomic_write_text(ctx.out / "eval.json", json.dumps(report, indent=2, ensure_ascii=False))
        metrics.update(report["summary"])
    return metrics
