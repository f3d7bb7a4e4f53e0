"""Fine-tune a chat model on conversations: what SFT, the probe, RL's rounds and distillation share.

Render the conversations with the assistant-only loss mask, pack them into rows, and train on the
one training core (chatforge.train.loop.Trainer) with a validation loss, checkpoints and exact
resume. The settings are a `FinetuneSettings` (each stage's section); where the run happens and
what differs between stages is a `FinetuneRun`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from chatforge.chat.render import render
from chatforge.core.errors import UserError
from chatforge.train import checkpoint as ckpt
from chatforge.train.dist import DistInfo
from chatforge.train.freeze import train_top
from chatforge.train.loop import Checkpoints, Hook, LoopConfig, LossFn, Trainer
from chatforge.train.mfu import DTYPES, resolve_dtype
from chatforge.train.optim import OptimConfig, build_optimizer
from chatforge.train.schedule import lr_multiplier
from chatforge.tune.newtokens import init_new_rows
from chatforge.tune.pack import RowBatches, Rows, pack
from chatforge.tune.reading import ReadingPlus, ReadingRows, corpus_words
from chatforge.tune.settings import FinetuneSettings
from chatforge.world import load_world


@dataclass
class FinetuneRun:
    """Where one fine-tuning run happens, and what a stage changes about it."""
    ckpt_dir: Path
    run_dir: Path  # its peak_flops.json decides the dtype with pretraining's
    world_dir: Path  # the words of the reading exercises
    dist: DistInfo
    seed: int
    log: Any
    meta: dict = field(default_factory=dict)  # written into every checkpoint
    label: str = "sft"  # the config section, in messages
    loss_fn: LossFn | None = None  # default: cross-entropy on the assistant's tokens
    wrap_batches: Callable[[Any], Any] | None = None  # batches -> a BatchSource with steps_per_epoch()
    new_tokens: tuple[int, ...] = ()  # ids never trained (added to an imported vocabulary): tune/newtokens.py


def rows_of(convs: list[dict], tokenizer, seq_len: int) -> Rows:
    samples = []
    for c in convs:
        if "text" in c:  # a document: every token trained, after <|endoftext|> as in pretraining
            ids = [tokenizer.special("<|endoftext|>")] + tokenizer.encode(c["text"])
            samples.append((ids, [0] + [1] * (len(ids) - 1)))
            continue
        r = render(c["messages"], tokenizer)
        samples.append((r.ids, r.mask))
    return pack(samples, seq_len, tokenizer.pad_id)


def _check(cfg: FinetuneSettings, model, label: str) -> int:
    seq_len = cfg.seq_len or model.config.max_seq_len
    if seq_len > model.config.max_seq_len:
        raise UserError(f"{label}.seq_len ({seq_len}) exceeds the model's max_seq_len "
                        f"({model.config.max_seq_len}).")
    if cfg.reading_rows < 0 or cfg.reading_max_gap < 0 or not 0.0 <= cfg.reading_passages <= 1.0:
        raise UserError(f"{label}.reading_rows and {label}.reading_max_gap must be at least 0, "
                        f"{label}.reading_passages in [0, 1].")
    if cfg.dtype not in DTYPES:
        raise UserError(f"{label}.dtype must be one of {', '.join(DTYPES)}, got {cfg.dtype!r}.")
    return seq_len


def _batches(cfg: FinetuneSettings, rows: Rows, tokenizer, seq_len: int, run: FinetuneRun):
    """The row batches, with reading exercises added to every batch when asked for."""
    batches = RowBatches(rows, cfg.batch_size, run.seed, run.dist.rank, run.dist.world_size)
    if cfg.reading_rows:
        words = corpus_words(d["text"] for d in load_world(run.world_dir).documents())
        reading = ReadingRows(tokenizer, words, seq_len, run.seed * 1000 + 7 + run.dist.rank,
                              max_gap=cfg.reading_max_gap, passages=cfg.reading_passages)
        batches = ReadingPlus(batches, reading, cfg.reading_rows)
        run.log.info(f"reading exercises: {cfg.reading_rows} rows in every batch, over {len(words):,} words")
    return batches


class ValLoss:
    """The validation loss on the assistant's tokens, as a Trainer hook."""

    def __init__(self, rows: Rows, batch_size: int, device, log):
        self.rows, self.batch_size, self.device, self.log = rows, batch_size, device, log
        self.loss: float | None = None

    @torch.no_grad()
    def __call__(self, trainer: Trainer) -> None:
        if len(self.rows) == 0:
            return
        m = ckpt.unwrap(trainer.model)
        m.eval()
        total = torch.zeros((), dtype=torch.float64)
        count = 0.0
        for i in range(0, len(self.rows), self.batch_size):
            ids = self.rows.ids[i:i + self.batch_size].to(self.device)
            mask = self.rows.mask[i:i + self.batch_size, 1:].to(self.device).float()
            with trainer.autocast():
                s = m(ids[:, :-1], targets=ids[:, 1:], loss_mask=mask, reduction="sum")
            total += s.double().cpu()
            count += float(mask.sum())
        m.train()
        self.loss = float(total / max(count, 1.0))
        self.log.metric(event="val", step=trainer.step, val_loss=round(self.loss, 5))
        self.log.info(f"step {trainer.step}: train loss {trainer.stats.loss:.4f}, val loss {self.loss:.4f}")


def _trainer(model, cfg: FinetuneSettings, batches, steps: int, val: ValLoss, run: FinetuneRun) -> Trainer:
    device = run.dist.device
    dtype = resolve_dtype(cfg.dtype, device, run.run_dir / "peak_flops.json")
    run.log.info(f"training in {dtype} on {device}")
    optimizer = build_optimizer(model, OptimConfig(name="adamw", lr=cfg.lr, weight_decay=cfg.weight_decay))

    def lr_fn(step: int) -> float:
        return lr_multiplier(step, steps, cfg.warmup_steps, decay_frac=1.0, final_frac=cfg.min_lr_frac)

    def ce_loss(m, batch):
        x, y, mask = (t.to(device, non_blocking=True) for t in batch)
        return m(x, targets=y, loss_mask=mask), int(mask.sum().item())

    return Trainer(
        model, optimizer, batches, run.loss_fn or ce_loss,
        LoopConfig(steps=steps, grad_clip=cfg.grad_clip, dtype=dtype, ckpt_every=cfg.ckpt_every,
                   log_every=cfg.log_every, lr=lr_fn),
        saves=Checkpoints(run.ckpt_dir, dataclasses.asdict(model.config), run.meta), dist=run.dist,
        log=run.log,
        hooks=[Hook(cfg.eval_every, val, at_end=True, main_only=True)])


def finetune(model, tokenizer, tok_dir: Path, train_convs: list[dict], val_convs: list[dict],
             cfg: FinetuneSettings, run: FinetuneRun) -> dict:
    """Train `model` in place on `train_convs`; returns the training metrics."""
    label, log = run.label, run.log
    seq_len = _check(cfg, model, label)
    train_rows, val_rows = rows_of(train_convs, tokenizer, seq_len), rows_of(val_convs, tokenizer, seq_len)
    if len(train_rows) == 0:
        raise UserError(f"the {label} conversations are empty; raise the {label} mixture counts.")
    if train_rows.n_truncated:
        log.warn(f"{train_rows.n_truncated} conversations were longer than {seq_len + 1} tokens and were cut")
    batches = _batches(cfg, train_rows, tokenizer, seq_len, run)
    steps = cfg.max_steps if cfg.max_steps > 0 else max(1, math.ceil(cfg.epochs * batches.steps_per_epoch()))
    trained_tokens = int(train_rows.mask[:, 1:].sum())
    log.info(f"{label}: {len(train_convs)} train / {len(val_convs)} val conversations, "
             f"{len(train_rows)} packed rows of {seq_len} tokens, {trained_tokens} trained tokens per epoch; "
             f"{steps} steps ({steps / batches.steps_per_epoch():.2f} epochs)")
    if run.wrap_batches is not None:
        batches = run.wrap_batches(batches)
    val = ValLoss(val_rows, cfg.batch_size, run.dist.device, log)
    if run.new_tokens:
        placed = init_new_rows(model, train_rows, list(run.new_tokens))
        log.info(f"new tokens placed from the hidden states before them: {placed or 'none is a target'}")
    trainable = train_top(model, cfg.train_layers)
    if cfg.train_layers:
        log.info(f"training the top {cfg.train_layers} blocks: {trainable / 1e6:.1f}M parameters")
    trainer = _trainer(model, cfg, batches, steps, val, run)
    if run.dist.is_main:
        ckpt.copy_tokenizer(tok_dir, run.ckpt_dir)
    start = trainer.resume()
    if start:
        log.info(f"resuming {label} from step {start} of {steps}")
    stats = trainer.fit()
    if val.loss is None and run.dist.is_main:  # resumed after the last step was saved
        val(trainer)
    return {
        "steps": steps,
        "epochs": round(steps / batches.steps_per_epoch(), 3),
        "train_conversations": len(train_convs),
        "val_conversations": len(val_convs),
        "trained_tokens_per_epoch": trained_tokens,
        "final_train_loss": round(stats.loss, 5),
        "val_loss": None if val.loss is None else round(val.loss, 5),
        "checkpoint": str(trainer.last_ckpt),
    }
