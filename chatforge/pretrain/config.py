"""The "pretrain" config section. Defaults are the `cpu` preset's values."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PretrainConfig:
    # batch: batch_size rows of seq_len tokens per rank, times grad_accum, per optimizer step
    steps: int = 400
    # initialisation: "standard" (random), or "induction" (random plus a previous-token head and
    # an induction head written into layers 0-1, chatforge/model/circuits.py), or "import": the
    # import stage's model, trained on (continued pretraining; [model] does not apply)
    init: str = "standard"
    # reading exercises (chatforge/pretrain/reading.py): the first reading_first_steps steps are
    # all exercises, then reading_share of every batch's rows; gaps of up to reading_max_gap words
    reading_share: float = 0.0
    reading_first_steps: int = 0
    reading_max_gap: int = 60
    reading_words: int = 0  # 0: the exercises draw from every word of the corpus; N: the N most frequent
    # share of the exercises that are reading passages (chatforge/world/reading.py): invented
    # people's biographies, then questions answered from them; 0 = copy exercises only
    reading_passages: float = 0.0
    batch_size: int = 8
    grad_accum: int = 1
    seq_len: int = 0  # 0 = the model's max_seq_len
    # optimizer: adamw, or muon for hidden matrices (AdamW for embeddings and gains)
    optimizer: str = "muon"
    lr: float = 3e-3  # AdamW learning rate (all params with adamw; embeddings/gains with muon)
    muon_lr: float = 0.02
    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    # schedule: linear warmup, flat, then decay over the last decay_frac of steps to final_lr_frac
    warmup_steps: int = 20
    decay_frac: float = 0.3
    final_lr_frac: float = 0.05
    schedule: str = "linear"  # linear | cosine (shape of the decay)
    # speed
    dtype: str = "auto"  # auto | native | bfloat16 | float32 (train/mfu.resolve_dtype)
    train_layers: int = 0  # > 0: only the top N blocks train, the embedding is frozen (train/freeze.py)
    # > 0: each conversation the imported model wrote itself (import.replay) joins the training
    # documents this many times, so continued pretraining keeps what it knew (importer/replay.py)
    replay_copies: int = 0
    compile: bool = False
    # data
    val_frac: float = 0.08
    shard_tokens: int = 1 << 24
    # watching it learn
    log_every: int = 10
    eval_every: int = 50
    eval_tokens: int = 65536  # validation tokens per evaluation (per all ranks)
    sample_every: int = 20
    sample_prompts: list[str] = field(default_factory=list)  # empty: openings of a few documents
    sample_tokens: int = 48
    sample_temperature: float = 0.8
    sample_top_k: int = 40
    # checkpoints
    ckpt_every: int = 50
    keep_every: int = 0  # also keep every k-th step's checkpoint (0 = only the newest two)
