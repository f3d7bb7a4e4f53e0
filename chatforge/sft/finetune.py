"""Fine-tune a chat model on conversations: the part of SFT that later stages reuse.

SFT, the probe stage's mitigation and RL's rejection-sampling rounds all do the same thing:
render conversations with the assistant-only loss mask, pack them into rows, and train on the
one training core (chatforge.train.loop.Trainer) with a validation loss, checkpoints and exact
resume. `finetune` is that, given a settings object with the [sft] section's training fields
(seq_len, batch_size, epochs, max_steps, lr, min_lr_frac, warmup_steps, weight_decay, grad_clip,
reading_rows, reading_max_gap, reading_passages, dtype, eval_every, ckpt_every, log_every).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from chatforge.core.errors import UserError


def finetune(model, tokenizer, tok_dir: Path, train_convs: list[dict], val_convs: list[dict], cfg: Any, *,
             ckpt_dir: Path, run_dir: Path, world_dir: Path, dist, seed: int, log, meta: dict,
             label: str = "sft", loss_fn=None, wrap_batches=None) -> dict:
    """Train `model` in place on `train_convs`; returns the training metrics. Distillation passes
    its own `loss_fn(model, batch)` (default: cross-entropy on the assistant tokens) and may wrap
    the row batches (`wrap_batches(batches)` -> a BatchSource with steps_per_epoch())."""
    import torch

    from chatforge.chat.render import render
    from chatforge.sft.pack import RowBatches, pack
    from chatforge.train import checkpoint as ckpt
    from chatforge.train.loop import Hook, LoopConfig, Trainer
    from chatforge.train.mfu import auto_dtype
    from chatforge.train.optim import OptimConfig, build_optimizer
    from chatforge.train.schedule import lr_multiplier

    device = dist.device
    seq_len = cfg.seq_len or model.config.max_seq_len
    if seq_len > model.config.max_seq_len:
        raise UserError(f"{label}.seq_len ({seq_len}) exceeds the model's max_seq_len ({model.config.max_seq_len}).")
    if cfg.reading_rows < 0 or cfg.reading_max_gap < 0 or not 0.0 <= cfg.reading_passages <= 1.0:
        raise UserError(f"{label}.reading_rows and {label}.reading_max_gap must be at least 0, "
                        f"{label}.reading_passages in [0, 1].")
    pad = tokenizer.special("<|pad|>")

    def rows_of(convs):
        samples = []
        for c in convs:
            r = render(c["messages"], tokenizer)
            samples.append((r.ids, r.mask))
        return pack(samples, seq_len, pad)

    train_rows, val_rows = rows_of(train_convs), rows_of(val_convs)
    if len(train_rows) == 0:
        raise UserError(f"the {label} conversations are empty; raise the {label} mixture counts.")
    if train_rows.n_truncated:
        log.warn(f"{train_rows.n_truncated} conversations were longer than {seq_len + 1} tokens and were cut")
    batches = RowBatches(train_rows, cfg.batch_size, seed, dist.rank, dist.world_size)
    steps = cfg.max_steps if cfg.max_steps > 0 else max(1, math.ceil(cfg.epochs * batches.steps_per_epoch()))
    trained_tokens = int(train_rows.mask[:, 1:].sum())
    if cfg.reading_rows:
        from chatforge.pretrain.reading import ReadingPlus, ReadingRows, corpus_words
        from chatforge.world import load_world

        words = corpus_words(d["text"] for d in load_world(world_dir).documents())
        batches = ReadingPlus(batches, ReadingRows(tokenizer, words, seq_len, seed * 1000 + 7 + dist.rank,
                                                   max_gap=cfg.reading_max_gap,
                                                   passages=cfg.reading_passages), cfg.reading_rows)
        log.info(f"reading exercises: {cfg.reading_rows} rows in every batch, over {len(words):,} words")
    log.info(f"{label}: {len(train_convs)} train / {len(val_convs)} val conversations, "
             f"{len(train_rows)} packed rows of {seq_len} tokens, {trained_tokens} trained tokens per epoch; "
             f"{steps} steps ({steps / batches.steps_per_epoch():.2f} epochs)")

    dtype = cfg.dtype
    if dtype == "auto":  # bf16 only where it is measured faster (on AVX2-only CPUs it is 30x slower)
        dtype = auto_dtype(device, run_dir / "peak_flops.json")  # shared with pretraining
    elif dtype not in ("bfloat16", "float32"):
        raise UserError(f"{label}.dtype must be auto, bfloat16 or float32, got {dtype!r}.")
    log.info(f"training in {dtype} on {device}")
    optimizer = build_optimizer(model, OptimConfig(name="adamw", lr=cfg.lr, weight_decay=cfg.weight_decay))

    def lr_fn(step: int) -> float:
        return lr_multiplier(step, steps, cfg.warmup_steps, decay_frac=1.0, final_frac=cfg.min_lr_frac)

    def ce_loss(m, batch):
        x, y, mask = (t.to(device, non_blocking=True) for t in batch)
        return m(x, targets=y, loss_mask=mask), int(mask.sum().item())

    if wrap_batches is not None:
        batches = wrap_batches(batches)

    val_state: dict = {"loss": None}

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
        log.metric(event="val", step=trainer.step, val_loss=round(val_state["loss"], 5))
        log.info(f"step {trainer.step}: train loss {trainer.stats.loss:.4f}, val loss {val_state['loss']:.4f}")

    trainer = Trainer(
        model, optimizer, batches, loss_fn or ce_loss,
        LoopConfig(steps=steps, grad_clip=cfg.grad_clip, dtype=dtype, ckpt_every=cfg.ckpt_every,
                   log_every=cfg.log_every),
        lr_fn=lr_fn, ckpt_dir=ckpt_dir, dist=dist, log=log,
        hooks=[Hook(cfg.eval_every, val_loss, at_end=True, main_only=True)],
        model_config=dataclasses.asdict(model.config), meta=meta)
    if dist.is_main:
        ckpt.copy_tokenizer(tok_dir, ckpt_dir)
    start = trainer.resume()
    if start:
        log.info(f"resuming {label} from step {start} of {steps}")
    stats = trainer.fit()
    if val_state["loss"] is None and dist.is_main:  # resumed after the last step was saved
        val_loss(trainer)
    return {
        "steps": steps,
        "epochs": round(steps / batches.steps_per_epoch(), 3),
        "train_conversations": len(train_convs),
        "val_conversations": len(val_convs),
        "trained_tokens_per_epoch": trained_tokens,
        "final_train_loss": round(stats.loss, 5),
        "val_loss": None if val_state["loss"] is None else round(val_state["loss"], 5),
        "checkpoint": str(trainer.last_ckpt),
    }


def load_chat_stage(ctx, source: str, label: str):
    """A one-process stage that continues from `source`'s chat model (probe, RL):
    -> (model on its device, tokenizer, tokenizer dir, the checkpoint's meta, dist info)."""
    import torch

    from chatforge.core.device import pick_device
    from chatforge.tokenizer import Tokenizer
    from chatforge.train import checkpoint as ckpt
    from chatforge.train.dist import setup

    dist = setup(pick_device(ctx.config.run.device))
    if dist.world_size > 1:
        raise UserError(f"the {label} stage runs on one process; start it without torchrun.")
    torch.manual_seed(ctx.config.run.seed)
    model, tok_dir, meta = ckpt.load_model(ctx.input_dir(source), dist.device)
    tok_dir = tok_dir or ctx.input_dir("tokenizer")
    return model, Tokenizer.load(tok_dir), tok_dir, meta, dist
