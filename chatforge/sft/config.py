"""The `[sft]` config section: the conversation mixture, the fine-tuning run, the evaluation.

Defaults are the `cpu` preset (a ~2.5M-parameter model on 2 cores: ~11 minutes of SFT).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FinetuneSettings:
    """The training fields of every stage that fine-tunes a chat model on conversations through
    chatforge/sft/finetune.py ([sft], [probe], RFT in [rl]). The defaults are SFT's; the other
    sections override what differs."""
    epochs: float = 8.0
    max_steps: int = 0  # > 0 caps the number of optimizer steps (epochs decide otherwise)
    batch_size: int = 8  # packed rows per step (small batches: more updates for the same compute)
    seq_len: int = 0  # 0 = the model's max_seq_len
    lr: float = 1e-3
    min_lr_frac: float = 0.1
    warmup_steps: int = 10
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    # reading exercises (chatforge/pretrain/reading.py) added to every batch: N rows of copy
    # exercises over the world's words, only their repeats in the loss. Keeps a base model's
    # induction circuit through fine-tuning (measured on the laptop preset: without them SFT
    # took the copy probe from 0.99 to 0.41 at 26 tokens and 0.05 at 194).
    reading_rows: int = 0
    reading_max_gap: int = 60
    reading_passages: float = 0.0  # share of those exercises that are reading passages (world/reading.py)
    dtype: str = "auto"  # auto | float32 | bfloat16 (autocast; auto: bf16 on CUDA, fp32 on CPU)
    eval_every: int = 100  # validation loss every this many steps
    ckpt_every: int = 100
    log_every: int = 10


@dataclass
class SFTConfig(FinetuneSettings):
    # mixture: how many conversations of each kind (see chatforge/sft/mixture.py); a count larger
    # than the world's train set cycles through it again. Sized so that, on a 2-core CPU that
    # trains the ~5M-parameter cpu model at a few hundred to ~1000 tokens/s, two epochs take
    # minutes, not hours (~200k tokens per epoch).
    knowledge: int = 900  # known-qa train questions (the world has 3 phrasings per fact)
    followup_conversations: int = 150  # multi-turn: ask about a person, then "And where was she born?"
    arithmetic: int = 400  # step-by-step word problems (tools off / no system prompt)
    arithmetic_calculator: int = 250  # the same kind, solved with the calculator (tools on)
    letters: int = 250  # letter counting, spelled out
    letters_python: int = 150  # letter counting through python (tools on)
    identity: int = 300  # identity conversations (single- and multi-turn)
    search: int = 200  # questions about unknown people answered through search (tools on)
    search_known_fraction: float = 0.25  # extra search conversations about known-qa people, as a share of `search`
    open: int = 300  # open-ended prompts (jokes, poems, descriptions, stories) with a demonstration answer
    val_fraction: float = 0.05  # conversations held out for the validation loss

    # training: the FinetuneSettings fields (their defaults are SFT's)

    # evaluation after training (greedy, through the engine)
    eval: bool = True
    eval_items: int = 200  # items per task set (distinct; each accuracy gets a 95% interval)
    eval_max_new_tokens: int = 160
    eval_batch_size: int = 16
    # torch threads while evaluating (0 = leave as is). Decoding a small model is a chain of tiny
    # matmuls; with 2 threads on a busy 2-core machine it measured 7x slower than with 1.
    eval_threads: int = 1
