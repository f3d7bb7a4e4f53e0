"""On-policy distillation (GKD, Agarwal et al. 2024): the student writes, the teacher grades
every token.

A share `fraction` of the training steps (decided per step from the seed, so a resumed run makes
the same choices) is a batch of the student's own answers: `prompts` conversations cut before
their first assistant turn, one sample each at the given temperature with the tools run. The
loss on those rows is the divergence between the teacher's and the student's next-token
distributions at every token the student wrote (force-fed tool results are left out). The
other steps are ordinary rows of the distillation data. Training on its own samples fixes the
mismatch between what the student sees in training (the teacher's or the data's prefixes) and
what it meets when it answers alone (its own prefixes, mistakes included).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from chatforge.chat.turns import complete_many
from chatforge.core.device import torch_threads


def prompts_of(convs: list[dict]) -> list[list[dict]]:
    """Each conversation up to (not including) its first assistant turn."""
    out = []
    for c in convs:
        msgs = c["messages"]
        first = next((i for i, m in enumerate(msgs) if m["role"] == "assistant"), None)
        if first:
            out.append(msgs[:first])
    return out


def rows_of(done, pad: int) -> dict:
    """(prompt ids, [Completion]) pairs -> {"ids" [N, L], "mask" [N, L-1] on the sampled tokens}."""
    seqs = [(p, c) for p, comps in done for c in comps if c.tokens]
    L = max(len(p) + len(c.tokens) for p, c in seqs)
    ids = torch.full((len(seqs), L), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), L - 1), dtype=torch.float32)
    for i, (p, c) in enumerate(seqs):
        ids[i, :len(p) + len(c.tokens)] = torch.tensor(p + c.tokens)
        own = torch.tensor([0.0 if f else 1.0 for f in c.forced])
        mask[i, len(p) - 1:len(p) - 1 + len(c.tokens)] = own  # position t predicts token t + 1
    return {"ids": ids, "mask": mask}


@dataclass(frozen=True)
class OnPolicy:
    """How often and how the student samples its own answers."""
    fraction: float  # share of steps trained on the student's samples
    n_prompts: int  # prompts sampled per such step
    temperature: float
    max_new_tokens: int
    sample_threads: int = 0  # torch threads while sampling (0 = leave as is)

    @classmethod
    def of(cls, cfg) -> OnPolicy:
        """From the [distill] section."""
        return cls(cfg.onpolicy_fraction, cfg.onpolicy_prompts, cfg.onpolicy_temperature,
                   cfg.onpolicy_max_new_tokens, cfg.eval_threads)


class OnPolicyBatches:
    """A BatchSource: the data's rows, or (a `fraction` of steps) the student's own samples."""

    def __init__(self, inner, model, tokenizer, prompts: list[list[dict]], how: OnPolicy, *, seed: int,
                 execute):
        self.inner, self.model, self.tok, self.prompts = inner, model, tokenizer, prompts
        self.fraction, self.n, self.temperature, self.max_new = (how.fraction, how.n_prompts, how.temperature,
                                                                 how.max_new_tokens)
        self.seed, self.execute, self.threads = seed, execute, how.sample_threads
        self.step = 0
        self.sampled = 0  # on-policy batches made by this process
        self.pad = tokenizer.pad_id

    def steps_per_epoch(self) -> int:
        return self.inner.steps_per_epoch()

    def next_batch(self):
        s = self.step
        self.step += 1
        if random.Random(f"{self.seed}:onpolicy:{s}").random() >= self.fraction:
            return self.inner.next_batch()
        return self._sample(s)

    def _sample(self, s: int) -> dict:
        convs = random.Random(f"{self.seed}:prompts:{s}").sample(self.prompts, min(self.n, len(self.prompts)))
        was = self.model.training
        try:
            with torch_threads(self.threads):
                done = complete_many(self.model, self.tok, convs, num_samples=1, executor=self.execute,
                                     max_new_tokens=self.max_new, batch_size=len(convs),
                                     temperature=self.temperature, seed=self.seed * 100_003 + s)
        finally:
            self.model.train(was)
        self.sampled += 1
        return rows_of(done, self.pad)

    def state_dict(self) -> dict:
        return {"step": self.step, "inner": self.inner.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])
        self.inner.load_state_dict(state["inner"])
