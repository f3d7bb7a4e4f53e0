"""GRPO on the training core: rollouts as a BatchSource, the clipped policy-gradient loss.

Each optimizer step takes `problems_per_step` problems, samples G answers each with the current
model (rollout.py), and scores them. Per group:

    advantage_i = r_i - mean(r)        (divided by std(r) too with std_scale: GRPO as published;
                                        without it: Dr. GRPO, which removes the difficulty bias)

Groups whose rewards are all equal (all right or all wrong) carry no signal; they are skipped
and counted. Every token the model wrote in a kept sample gets its sample's advantage; prompt
tokens and force-fed tool results get none (mask 0). The loss, normalised by the step's number of
counted tokens (token-level, as DAPO does, so long answers are not down-weighted):

    ratio = exp(logp - logp_old)       (1 when a batch is used once; with reuse > 1 the batch's
                                        logp_old is kept from when it was sampled)
    pg    = -min(ratio * A, clip(ratio, 1 - clip_low, 1 + clip_high) * A)
    kl    = exp(ref - logp) - (ref - logp) - 1     (k3, to the starting model; logged always,
                                                    in the loss with coefficient `kl`)
    loss  = sum(mask * (pg + kl_coef * kl)) / sum(mask)

The loss is normalised by the whole step's token count, so a step's rows go through the training
core as several micro-batches (`micro_batch` rows each) whose losses add up to it: the rollouts
tell the core how many micro-batches the step has (`micro_batches()`), and the core accumulates
their gradients as it does for every stage.

The rollout buffer is part of the BatchSource's state, so a checkpoint taken between two uses
of a batch resumes exactly.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from chatforge.core.device import torch_threads
from chatforge.engine import Engine
from chatforge.rl.problems import sample_problems


def advantages(rewards: list[float], std_scale: bool = False) -> list[float] | None:
    """Group-relative advantages, or None for a group without signal (all rewards equal)."""
    m = sum(rewards) / len(rewards)
    if all(abs(r - m) < 1e-9 for r in rewards):
        return None
    adv = [r - m for r in rewards]
    if std_scale:
        sd = (sum(a * a for a in adv) / max(1, len(adv) - 1)) ** 0.5
        adv = [a / (sd + 1e-6) for a in adv]
    return adv


def build_rows(groups, std_scale: bool, pad: int) -> dict | None:
    """Kept samples -> {"ids" [N, L], "mask" [N, L-1] on targets, "adv" [N], counts}; None if no signal."""
    rows, adv, skipped = [], [], 0
    for g in groups:
        a = advantages([s.reward for s in g], std_scale)
        if a is None:
            skipped += 1
            continue
        for s, ai in zip(g, a):
            if s.tokens:
                rows.append(s)
                adv.append(ai)
    stats = {"groups": len(groups), "skipped": skipped, "rows": len(rows)}
    if not rows:
        return {"stats": stats}
    L = max(len(s.prompt) + len(s.tokens) for s in rows)
    ids = torch.full((len(rows), L), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), L - 1), dtype=torch.float32)
    for i, s in enumerate(rows):
        seq = s.prompt + s.tokens
        ids[i, :len(seq)] = torch.tensor(seq)
        p = len(s.prompt)
        own = torch.tensor([0.0 if f else 1.0 for f in s.forced], dtype=torch.float32)
        mask[i, p - 1:p - 1 + len(s.tokens)] = own  # target position t predicts token t + 1
    return {"ids": ids, "mask": mask, "adv": torch.tensor(adv, dtype=torch.float32), "stats": stats}


def needed(mask: torch.Tensor) -> torch.Tensor:
    """Per row, the ids a forward pass needs: up to its last counted target (+ 2), [N]. Positions
    after it change nothing before it (causal attention), so a row is cut there."""
    pos = torch.arange(1, mask.shape[1] + 1, dtype=torch.long)
    return ((mask > 0).long() * pos).amax(dim=1) + 1


def by_length(mask: torch.Tensor, rows: int) -> list[tuple[torch.Tensor, int]]:
    """Chunks of `rows` row indices, shortest rows first, each with the length its ids are cut to:
    a batch's few long answers no longer pad every row."""
    n = needed(mask)
    order = torch.argsort(n, stable=True)
    return [(idx, max(2, int(n[idx].max()))) for idx in order.split(max(1, rows))]


def token_logprobs(model, ids: torch.Tensor, chunk: int = 64,
                   mask: torch.Tensor | None = None) -> torch.Tensor:
    """log p(ids[:, t+1] | ids[:, :t+1]), [N, L-1], in chunks of rows; with `mask`, only up to each
    row's last counted target (0 after it), rows of similar length together."""
    if mask is None:
        mask = torch.ones(ids.shape[0], ids.shape[1] - 1)
    out = torch.zeros(ids.shape[0], ids.shape[1] - 1)
    for idx, length in by_length(mask, chunk):
        x = ids[idx, :length]
        logits = model(x[:, :-1])
        out[idx, :length - 1] = -F.cross_entropy(logits.float().transpose(1, 2), x[:, 1:], reduction="none")
    return out


def policy_loss(logp, old_logp, ref_logp, adv, mask, *, clip_low: float, clip_high: float, kl_coef: float,
                norm: float) -> tuple[torch.Tensor, dict]:
    """The summed clipped surrogate (+ KL) over masked tokens divided by `norm`."""
    ratio = torch.exp(logp - old_logp)
    a = adv[:, None]
    pg = -torch.minimum(ratio * a, ratio.clamp(1 - clip_low, 1 + clip_high) * a)
    d = ref_logp - logp
    kl = torch.exp(d) - d - 1
    loss = ((pg + kl_coef * kl) * mask).sum() / norm
    with torch.no_grad():
        n = mask.sum().clamp(min=1)
        info = {"kl": float((kl * mask).sum() / n),
                "clipped": float((((ratio < 1 - clip_low) | (ratio > 1 + clip_high)).float()
                                  * mask).sum() / n)}
    return loss, info


@dataclass
class Knobs:
    problems_per_step: int
    reuse: int
    std_scale: bool
    guard_share: float = 0.0  # share of a step's problems from the guard sets (problems.sample_problems)
    micro_batch: int = 64  # rows per forward/backward (gradients accumulate over a step's rows)


def micro_batches(batch: dict, rows: int) -> list[dict]:
    """A step's batch cut into chunks of `rows` rows (shortest first, each cut to its longest row:
    `by_length`), each carrying the step's token count (`norm`) so that the chunks' losses add up
    to the step's; a batch without signal is one chunk."""
    if "ids" not in batch:
        return [batch]
    norm = float(batch["mask"].sum().clamp(min=1))
    old = batch["old_logp"]
    return [{"ids": batch["ids"][idx, :n], "mask": batch["mask"][idx, :n - 1], "adv": batch["adv"][idx],
             "ref_logp": batch["ref_logp"][idx, :n - 1],
             "old_logp": None if old is None else old[idx, :n - 1],
             "norm": norm, "first": i == 0} for i, (idx, n) in enumerate(by_length(batch["mask"], rows))]


class Rollouts:
    """The BatchSource of GRPO: each next_batch() is one step's rows (sampled afresh every
    `reuse` steps with the model as it is then).

    `sample(engine, problems, seed)` -> one scored group of samples per problem (RL: the task
    checkers, rollout.sample_groups; RLHF: the reward model); `describe(problems, groups)` -> extra
    statistics for the log."""

    def __init__(self, model, ref_model, tokenizer, pool: list[dict], knobs: Knobs,  # noqa: PLR0913
                 seed: int, sample: Callable, describe: Callable | None = None, sample_threads: int = 0,
                 tag: str = "rl"):
        self.model, self.ref, self.tok, self.pool = model, ref_model, tokenizer, pool
        self.k, self.seed, self.sample, self.describe, self.threads = (knobs, seed, sample, describe,
                                                                       sample_threads)
        self.tag = tag
        self.engine = Engine(model, tokenizer)
        self.pad = tokenizer.special_tokens.get("<|pad|>", 0)
        self.index = 0  # rollouts done
        self.buffer: dict | None = None
        self.left = 0  # uses of the buffer left
        self.last: dict = {}  # the newest rollout's statistics (for the log and the curve)
        self.queue: list[dict] = []  # the current step's micro-batches not yet trained on
        # the precision of the reference (and reuse's sampling-time) log-probs: the Trainer's
        # autocast, set by the stage once the Trainer exists, so they match the policy's own
        self.autocast: Callable = contextlib.nullcontext

    @torch.no_grad()
    def _rollout(self) -> dict:
        k = self.k
        problems = sample_problems(self.pool, k.problems_per_step,
                                   random.Random(f"{self.tag}-problems:{self.seed}:{self.index}"),
                                   k.guard_share)
        was = self.model.training
        self.model.eval()
        with torch_threads(self.threads):
            groups = self.sample(self.engine, problems, self.seed * 100003 + self.index)
        batch = build_rows(groups, k.std_scale, self.pad)
        if "ids" in batch:
            with self.autocast():
                batch["ref_logp"] = token_logprobs(self.ref, batch["ids"], k.micro_batch, batch["mask"])
                batch["old_logp"] = (token_logprobs(self.model, batch["ids"], k.micro_batch, batch["mask"])
                                     if k.reuse > 1 else None)
        self.model.train(was)
        flat = [s for g in groups for s in g]
        self.last = {**batch["stats"], "rollout": self.index,
                     "reward": round(sum(s.reward for s in flat) / len(flat), 4),
                     "length": round(sum(len(s.tokens) for s in flat) / len(flat), 1),
                     "finished": round(sum(s.finished for s in flat) / len(flat), 4),
                     **(self.describe(problems, groups) if self.describe else {})}
        self.index += 1
        return batch

    def micro_batches(self) -> int:
        """Start a step: its rows (sampled afresh every `reuse` steps) as micro-batches; how many."""
        if self.left == 0:
            self.buffer = self._rollout()
            self.left = self.k.reuse
        self.left -= 1
        self.queue = micro_batches(self.buffer, self.k.micro_batch)
        return len(self.queue)

    def next_batch(self) -> dict:
        return self.queue.pop(0)

    def state_dict(self) -> dict:
        return {"index": self.index, "left": self.left, "buffer": self.buffer if self.left else None,
                "last": self.last}

    def load_state_dict(self, state: dict) -> None:
        self.index, self.left, self.buffer = state["index"], state["left"], state["buffer"]
        self.last = state.get("last", {})


def make_loss(cfg, device, stats: dict):
    """loss_fn(model, micro-batch) for the Trainer: the clipped surrogate (+ KL) of the chunk's rows,
    normalised by the whole step's token count. `stats` holds the step's token-weighted KL and
    clipped share so far."""
    acc = {"w": 0.0, "kl": 0.0, "clipped": 0.0}

    def loss_fn(model, batch):
        if "ids" not in batch:  # no group had signal: a zero step (counted)
            p = next(model.parameters())
            return (p * 0).sum(), 0
        if batch["first"]:
            acc.update(w=0.0, kl=0.0, clipped=0.0)
        ids, mask, adv = batch["ids"].to(device), batch["mask"].to(device), batch["adv"].to(device)
        logits = model(ids[:, :-1])
        logp = -F.cross_entropy(logits.float().transpose(1, 2), ids[:, 1:], reduction="none")
        old = logp.detach() if batch["old_logp"] is None else batch["old_logp"].to(device)
        loss, info = policy_loss(logp, old, batch["ref_logp"].to(device), adv, mask, clip_low=cfg.clip_low,
                                 clip_high=cfg.clip_high, kl_coef=cfg.kl, norm=batch["norm"])
        c = float(mask.sum())
        acc["w"] += c
        acc["kl"] += c * info["kl"]
        acc["clipped"] += c * info["clipped"]
        stats["kl"] = acc["kl"] / (acc["w"] or 1.0)
        stats["clipped"] = acc["clipped"] / (acc["w"] or 1.0)
        return loss, int(c)

    return loss_fn
