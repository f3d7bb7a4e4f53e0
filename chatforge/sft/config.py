"""The `[sft]` config section: the conversation mixture, the fine-tuning run, the evaluation.

Defaults are the `cpu` preset (a ~5M-parameter model on 2 cores: a few minutes of SFT).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SFTConfig:
    # mixture: how many copies/conversations of each kind (see chatforge/sft/mixture.py)
    knowledge_repeats: int = 2  # each known-qa (person, attribute) question, this many phrasings x repeats
    followup_conversations: int = 400  # multi-turn: ask about a person, then "And where was she born?"
    arithmetic: int = 1200  # step-by-step word problems (tools off / no system prompt)
    arithmetic_calculator: int = 800  # the same kind, solved with the calculator (tools on)
    letters: int = 600  # letter counting, spelled out
    letters_python: int = 500  # letter counting through python (tools on)
    identity_repeats: int = 2  # identity conversations (single- and multi-turn)
    search: int = 600  # questions about unknown people answered through search (tools on)
    search_known_fraction: float = 0.25  # extra search conversations about known-qa people, as a share of `search`
    val_fraction: float = 0.05  # conversations held out for the validation loss

    # training
    epochs: float = 3.0
    max_steps: int = 0  # > 0 caps the number of optimizer steps (epochs decide otherwise)
    batch_size: int = 16  # packed rows per step
    seq_len: int = 0  # 0 = the model's max_seq_len
    lr: float = 1e-3
    min_lr_frac: float = 0.1
    warmup_steps: int = 20
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    dtype: str = "auto"  # auto | float32 | bfloat16 (autocast)
    eval_every: int = 100  # validation loss every this many steps
    ckpt_every: int = 100
    log_every: int = 10

    # evaluation after training (greedy, through the engine)
    eval: bool = True
    eval_items: int = 60  # items per task set
    eval_max_new_tokens: int = 160
    eval_batch_size: int = 16
