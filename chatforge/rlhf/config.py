"""The `[rank]`, `[rm]` and `[rlhf]` config sections (three stages, each with its own staleness).

Defaults are the `cpu` preset (see docs/rlhf.md): the world's 300 open-ended train prompts
ranked once each (K = 8 answers from the RL stage's chat model), a reward model from the SFT
transformer, and 60 GRPO steps against it with a KL penalty; then 70 steps of the same run
without the penalty at six times the learning rate, to show the hack inside the default run's hour
(docs/rlhf.md also has a slower demonstration at 1e-4).
"""

from __future__ import annotations

from dataclasses import dataclass

from chatforge.tune.settings import FinetuneSettings


@dataclass
class RankConfig:
    labeler: str = "gold"  # gold: the world's hidden scorer plays the human (the only automatic labeler)
    # K answers sampled and ranked per prompt (InstructGPT: 4 to 9); K = 8 gives the reward model
    # K(K-1)/2 = 28 pairs per ranking, and the more pairs, the more accurate it is (docs/rlhf.md)
    answers: int = 8
    train_prompts: int = 300  # open-ended train prompts ranked (the world has open_train of them)
    test_prompts: int = 100  # held-out prompts ranked for the reward model's accuracy
    temperature: float = 1.0
    max_new_tokens: int = 200
    prompts_per_call: int = 16
    threads: int = 1  # torch threads while sampling (decoding a small model: 1 is fastest)


@dataclass
class RMConfig(FinetuneSettings):
    sources: str = "all"  # rankings used: all | gold | web (the web page's people) | gold,web
    center: float = 0.01  # reward centering: + center * (r_w + r_l)^2 per pair (keeps rewards near 0)
    rankings_per_step: int = 16  # rankings per optimizer step (all pairs of each in one batch element)
    epochs: float = 4.0
    lr: float = 1e-4
    warmup_steps: int = 5
    eval_every: int = 20  # held-out pairwise accuracy every this many steps
    ckpt_every: int = 20
    log_every: int = 5


@dataclass
class RLHFConfig(FinetuneSettings):
    # the stage whose chat model RLHF starts from and stays near (KL): rl (the default: the
    # pipeline's most refined model), probe or sft (InstructGPT's KL penalty to the SFT model)
    start: str = "rl"
    samples: int = 8  # G answers per prompt (GRPO group)
    prompts_per_step: int = 8
    steps: int = 60
    temperature: float = 1.0
    max_new_tokens: int = 160
    prompts_per_call: int = 4  # a step's 8 prompts in two batches, decoded side by side on 2 cores
    std_scale: bool = True  # advantages divided by the group's std: reward-model scores have no natural unit
    kl: float = 0.1  # k3 KL penalty to the starting model, in the loss
    grpo_lr: float = 5e-5
    clip_low: float = 0.2
    clip_high: float = 0.28
    reuse: int = 1
    micro_batch: int = 64
    # the hacking demonstration: the same run without the KL penalty (0 steps = skip it); 70 steps
    # at 3e-4 fit the default run's hour (docs/rlhf.md also shows 250 steps at 1e-4)
    hack_steps: int = 70
    hack_lr: float = 3e-4
    # held-out curve: answers to the world's open test prompts every eval_every steps. The first
    # `select_prompts` choose the kept checkpoint (best true reward); the rest report it.
    eval_every: int = 10
    select_prompts: int = 40
    eval_samples: int = 2  # answers per held-out prompt at each curve point
    report_samples: int = 4  # answers per report prompt for the final comparison
    detect_drop: float = 0.10  # the detector: true reward this far (relative) below its best ...
    detect_rise: float = 0.05  # ... while the proxy is this far (in proxy std units) above its value there
    threads: int = 1  # torch threads while sampling
    ckpt_every: int = 10
    log_every: int = 5
    warmup_steps: int = 3
