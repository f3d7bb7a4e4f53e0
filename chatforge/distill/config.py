"""The `[distill]` config section: teacher, student, method, and the comparison at equal compute.

Defaults are the `cpu` preset: the run's most refined chat model (rl's) teaches a 2-layer,
96-wide student (0.61M parameters, 24% of the cpu model's 2.56M; vocabulary 4096 with tied
embeddings is most of both). The student is first pretrained on the run's documents with the
pretraining recipe at its own size, then trained on the distillation conversations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatforge.tune.settings import FinetuneSettings

METHODS = ("logits", "text", "on-policy")
ARMS = ("scratch",) + METHODS + ("logits-topk",)  # what `compare` may list
DIVERGENCES = ("forward", "reverse", "jsd")


@dataclass
class DistillConfig(FinetuneSettings):
    method: str = "logits"  # logits | text | on-policy
    # teacher: "" = the run's most refined chat model (rlhf, rl, probe, sft); or a checkpoint
    # (file, ckpt/ folder or stage folder; an imported model too)
    teacher: str = ""
    # student: "" = the shape below; a preset name or .toml file = its [model] section; a
    # checkpoint = start from those weights (no base pretraining)
    student: str = ""
    student_n_layer: int = 2
    student_d_model: int = 96
    student_n_head: int = 3
    student_n_kv_head: int = 3
    student_ffn_hidden: int = 0
    base_steps: int = 300  # pretraining steps of the student base (0 = the run's pretrain.steps); 300 of
    # the cpu run's 400 keep the default run inside its hour
    # > 0: the student base also learns the documents from a teacher's next-token distributions,
    # base_alpha * T^2 * D + (1 - base_alpha) * CE on every token (T and D as below): where the
    # facts are learnt. base_teacher "" = the run's pretrain model (the chat teacher's own base)
    base_alpha: float = 0.0
    base_teacher: str = ""

    # the loss (logits, on-policy): alpha * T^2 * D(teacher_T || student_T) + (1 - alpha) * CE
    divergence: str = "forward"  # forward KL | reverse KL | jsd (generalised JSD, beta below)
    jsd_beta: float = 0.5  # JSD's mixture weight: m = beta * p_teacher + (1 - beta) * p_student
    # T = 1, alpha = 0.5 rather than Hinton's T = 2, alpha = 0.9: at T = 2 the 0.6M student
    # spends itself on the teacher's flattened tail (docs/distill.md, runs 1 and 2)
    temperature: float = 1.0
    alpha: float = 0.5
    top_k: int = 0  # > 0: store the teacher's top-k log-probs once (offline) instead of a forward per step

    # text: the teacher answers every assistant turn of the distillation conversations
    teacher_url: str = ""  # "" = the engine; else an OpenAI-compatible endpoint (text only)
    teacher_model: str = ""  # the endpoint's model name
    text_max_new_tokens: int = 192

    # on-policy (GKD): this share of steps trains on the student's own samples, scored by the teacher
    onpolicy_fraction: float = 0.5
    onpolicy_prompts: int = 16  # prompts sampled per on-policy step
    onpolicy_temperature: float = 1.0
    onpolicy_max_new_tokens: int = 128

    # training (FinetuneSettings): the same number of steps for every arm of the comparison
    epochs: float = 3.0
    lr: float = 2e-3
    warmup_steps: int = 20
    eval_every: int = 200
    ckpt_every: int = 100

    # the comparison: arms trained besides `method` (same student start, data prompts and steps)
    compare: list[str] = field(default_factory=lambda: ["scratch"])
    eval_items: int = 200  # items per task set of the evaluation suite, teacher and every arm
    eval_max_new_tokens: int = 160
    eval_batch_size: int = 16
    eval_threads: int = 1
    speed_tokens: int = 200  # greedy tokens per decode-speed trial (batch 1), every model side by side
    speed_trials: int = 5
