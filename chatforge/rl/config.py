"""The `[rl]` config section: problems, sampling, the two methods, the pass@k evaluation.

Defaults are the `cpu` preset: the probe stage's chat model practises the world's verifiable
task sets (train splits), G = 16 samples per problem, and is scored on the test splits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatforge.tune.settings import FinetuneSettings

# known-qa beside the guard sets (the task registry's `guard`: refusing people nobody knows,
# saying who it is), which are practised to be kept rather than amplified
DEFAULT_SETS = ("knowledge_known_qa", "refusal_unknown", "refusal_invented", "identity")


@dataclass
class RLConfig(FinetuneSettings):
    method: str = "grpo"  # grpo | rft
    # task sets to practise (any the registry gives train problems). The default practises the one
    # set where the cpu model has a skill to sharpen beside the guards; on letters and arithmetic
    # the cpu model learns the answer distribution, not the skill (docs/rl.md)
    sets: list[str] = field(default_factory=lambda: list(DEFAULT_SETS))
    samples: int = 16  # G: samples per problem, one batched engine call per batch of problems
    temperature: float = 1.0
    max_new_tokens: int = 128
    prompts_per_call: int = 8  # problems per engine call (x samples rows)
    guard_share: float = 0.25  # share of each step's (round's) problems drawn from the guard sets in `sets`
    format_reward: float = 0.0  # added when a sample ends its turn (<|im_end|>) instead of running out
    # the reward of declining ("I don't know ...") on an answer set, where a wrong answer earns 0:
    # between 0 and 1, it pays the model to decline where it is right less often than this
    # (problems.reward); 0 = a refusal counts as wrong, as the evaluation counts it
    abstain_reward: float = 0.0

    # GRPO (one optimizer step per batch of groups, on the training core). 30 steps keep the
    # default run inside its hour
    steps: int = 30
    problems_per_step: int = 16  # groups per step (before groups without signal are skipped)
    reuse: int = 1  # optimizer steps per rollout batch: > 1 reuses it with a clipped importance ratio
    clip_low: float = 0.2  # ratio clipped to [1 - clip_low, 1 + clip_high] (DAPO's clip-higher)
    clip_high: float = 0.28
    std_scale: bool = False  # divide advantages by the group's std (GRPO); off = Dr. GRPO
    kl: float = 0.0  # coefficient of the k3 KL penalty to the starting model (0 = none, no reference kept)
    grpo_lr: float = 1e-4  # the learning rate that moves known-qa within the default's steps (docs/rl.md)
    micro_batch: int = 64  # rows per forward/backward (gradients accumulate over a step's rows)

    # RFT (rejection-sampling fine-tuning, STaR): R rounds of sample -> keep right -> fine-tune
    rounds: int = 2
    problems_per_round: int = 300
    keep_per_problem: int = 4  # distinct right solutions kept per problem
    replay: int = 300  # SFT-mixture conversations mixed into each round (nothing forgotten)
    # fine-tuning in each round (FinetuneSettings, chatforge/tune/finetune.py), and for GRPO too:
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
