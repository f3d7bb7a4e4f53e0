"""The `[rl]` config section: problems, sampling, the two methods, the pass@k evaluation.

Defaults are the `cpu` preset: the probe stage's chat model practises the world's verifiable
task sets (train splits), G = 16 samples per problem, and is scored on the test splits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatforge.sft.config import FinetuneSettings

SETS = ("arithmetic", "arithmetic_calculator", "letters", "letters_python", "knowledge_known_qa",
        "knowledge_bio_only", "search_unknown")


@dataclass
class RLConfig(FinetuneSettings):
    method: str = "grpo"  # grpo | rft
    sets: list[str] = field(default_factory=lambda: list(SETS))  # problem sets to practise (see problems.py)
    samples: int = 16  # G: samples per problem, one batched engine call per batch of problems
    temperature: float = 1.0
    max_new_tokens: int = 128
    prompts_per_call: int = 8  # problems per engine call (x samples rows)
    format_reward: float = 0.0  # added when a sample ends its turn (<|im_end|>) instead of running out

    # GRPO (one optimizer step per batch of groups, on the training core). 20 steps keep the
    # default run inside its hour (issue 19); docs/rl.md's figures are the 45-step run
    steps: int = 20
    problems_per_step: int = 16  # groups per step (before groups without signal are skipped)
    reuse: int = 1  # optimizer steps per rollout batch: > 1 reuses it with a clipped importance ratio
    clip_low: float = 0.2  # ratio clipped to [1 - clip_low, 1 + clip_high] (DAPO's clip-higher)
    clip_high: float = 0.28
    std_scale: bool = False  # divide advantages by the group's std (GRPO); off = Dr. GRPO
    kl: float = 0.0  # coefficient of the k3 KL penalty to the starting model (0 = none, no reference kept)
    grpo_lr: float = 3e-5
    micro_batch: int = 64  # rows per forward/backward (gradients accumulate over a step's rows)

    # RFT (rejection-sampling fine-tuning, STaR): R rounds of sample -> keep right -> fine-tune
    rounds: int = 2
    problems_per_round: int = 300
    keep_per_problem: int = 4  # distinct right solutions kept per problem
    replay: int = 300  # SFT-mixture conversations mixed into each round (nothing forgotten)
    # fine-tuning in each round (FinetuneSettings, chatforge/sft/finetune.py), and for GRPO too:
    # grad_clip, dtype, weight_decay, warmup_steps, ckpt_every, log_every
    epochs: float = 1.0
    lr: float = 2e-4
    warmup_steps: int = 5
    eval_every: int = 10  # GRPO: the curve's pass@k every this many steps; RFT: validation loss
    ckpt_every: int = 10
    log_every: int = 5

    # evaluation: pass@1 and pass@k (k = 1, 2, 4, ..., samples) on the test splits, at temperature
    # 50 x 16 = 800 samples a set: ~15-25 s per set on the 2-core CPU (batches decoded side by side)
    eval_items: int = 50  # test problems per set before and after
    curve_items: int = 20  # test problems per set at each point of the curve
    eval_samples: int = 16
    eval_threads: int = 1
