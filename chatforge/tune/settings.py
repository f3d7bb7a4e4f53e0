"""The training settings every stage that fine-tunes a chat model shares ([sft], [probe], RL's
rounds, [rm], [distill]): each section's dataclass inherits these and overrides what differs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FinetuneSettings:
    """The defaults are SFT's."""
    epochs: float = 8.0
    max_steps: int = 0  # > 0 caps the number of optimizer steps (epochs decide otherwise)
    batch_size: int = 8  # packed rows per step (small batches: more updates for the same compute)
    seq_len: int = 0  # 0 = the model's max_seq_len
    lr: float = 1e-3
    min_lr_frac: float = 0.1
    warmup_steps: int = 10
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    # reading exercises (tune/reading.py) added to every batch: N rows of copy exercises over the
    # world's words, only their repeats in the loss. They keep a base model's induction circuit
    # through fine-tuning, which plain SFT erodes (docs/sft.md).
    reading_rows: int = 0
    reading_max_gap: int = 60
    reading_passages: float = 0.0  # share of those exercises that are reading passages (world/reading.py)
    # auto | native | float32 | bfloat16 (autocast; auto: bf16 on CUDA, fp32 on CPU; native: bf16
    # where the chip has it in hardware, train/mfu.resolve_dtype)
    dtype: str = "auto"
    train_layers: int = 0  # > 0: only the top N blocks train, the embedding is frozen (train/freeze.py)
    eval_every: int = 100  # validation loss every this many steps
    ckpt_every: int = 100
    log_every: int = 10
