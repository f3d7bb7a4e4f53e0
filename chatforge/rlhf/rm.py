"""The rm stage: a reward model trained on the rankings store with a Bradley-Terry loss.

Each ranking of K answers gives all K(K-1)/2 (better, worse) pairs, kept together in one batch
element as InstructGPT does (the K answers go through the model once):

    loss(ranking) = mean over its pairs of  -log sigmoid(r_better - r_worse)
                                           + center * (r_better + r_worse)^2   (reward centering)

and a step averages `rankings_per_step` rankings. Training runs on the training core from the
SFT transformer plus a scalar head (reward_model.py). Held out: the gold labeler's rankings of
the world's open test prompts. Reported: pairwise accuracy on the pairs the gold scorer orders
strictly (target >= 85%), agreement with the stored rankings on every pair, and the labeler's
self-consistency there (the ceiling of that agreement).

    run_dir/rm/model/       the reward model (checkpoints, tokenizer)
    run_dir/rm/metrics.json accuracy, its 95% interval, the pairs, the sources mixed
"""

from __future__ import annotations

import dataclasses
import math
import random

import torch
import torch.nn.functional as F

from chatforge.core.atomic import read_json
from chatforge.core.errors import UserError
from chatforge.core.rundir import StageContext
from chatforge.eval.stats import wilson
from chatforge.rlhf import rankings
from chatforge.rlhf.labelers import pairs
from chatforge.rlhf.reward_model import FOLDER, RewardModel, encode, pad_rows, score
from chatforge.train import checkpoint as ckpt
from chatforge.train.loop import Checkpoints, Hook, LoopConfig, Trainer
from chatforge.train.mfu import auto_dtype
from chatforge.train.optim import OptimConfig, build_optimizer
from chatforge.train.schedule import lr_multiplier
from chatforge.tune.load import load_chat_stage
from chatforge.world import load_world
from chatforge.world.gold import gold_score


def pair_loss(r: torch.Tensor, pairs: list[tuple[int, int]], center: float) -> torch.Tensor:
    """The Bradley-Terry loss of one ranking's pairs over its answers' rewards r [K]."""
    w = torch.tensor([a for a, _ in pairs])
    lo = torch.tensor([b for _, b in pairs])
    loss = -F.logsigmoid(r[w] - r[lo]).mean()
    if center:
        loss = loss + center * ((r[w] + r[lo]) ** 2).mean()
    return loss


class RankingBatches:
    """BatchSource: `per_step` rankings a step, reshuffled every epoch (resumes exactly)."""

    def __init__(self, rankings: list[dict], per_step: int, seed: int):
        self.rankings, self.per_step, self.seed = rankings, per_step, seed
        self.epoch, self.pos = 0, 0

    def _order(self) -> list[int]:
        order = list(range(len(self.rankings)))
        random.Random(f"rm-batches:{self.seed}:{self.epoch}").shuffle(order)
        return order

    def next_batch(self) -> list[dict]:
        out, order = [], self._order()
        while len(out) < self.per_step:
            if self.pos >= len(order):
                self.epoch, self.pos = self.epoch + 1, 0
                order = self._order()
            out.append(self.rankings[order[self.pos]])
            self.pos += 1
        return out

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.pos = state["epoch"], state["pos"]


def make_loss(center: float, pad: int, device):
    def loss_fn(model, batch):
        rows = [r for rk in batch for r in rk["rows"]]
        ids, last = pad_rows(rows, pad)
        rewards = model(ids.to(device), last.to(device))
        losses, at = [], 0
        for rk in batch:
            k = len(rk["rows"])
            losses.append(pair_loss(rewards[at:at + k], rk["pairs"], center))
            at += k
        return torch.stack(losses).mean(), len(rows)

    return loss_fn


def prepare(records: list[dict], tokenizer, limit: int) -> list[dict]:
    return [{**r, "rows": [encode(tokenizer, r["messages"], a, limit) for a in r["answers"]],
             "pairs": pairs(r["ranking"])} for r in records]


def accuracy(rm, items: dict, test: list[dict], pad: int) -> dict:
    """Agreement on pairs the gold scorer orders strictly, and with the stored rankings (`items`:
    the world's open prompts by id)."""
    rewards = score(rm, [row for r in test for row in r["rows"]], pad)
    strict = strict_n = same = n = at = 0
    for r in test:
        k = len(r["rows"])
        rw = rewards[at:at + k]
        at += k
        g = [gold_score(items[r["prompt_id"]], a) for a in r["answers"]]
        for w, lo in r["pairs"]:
            n += 1
            same += rw[w] > rw[lo]
            if g[w] != g[lo]:
                strict_n += 1
                strict += (rw[w] > rw[lo]) == (g[w] > g[lo])
    return {"strict": round(strict / max(1, strict_n), 4),
            "strict_ci95": [round(x, 4) for x in wilson(strict, strict_n)],
            "strict_pairs": strict_n, "all": round(same / max(1, n), 4), "all_pairs": n}


def split(records: list[dict], tag: str, test_ids: set[str], test_prompts: set[str]) -> tuple[list, list]:
    """(train, held-out): held out = the gold labeler's rankings of test prompts under `tag`; no
    ranking of a held-out prompt (any source) is trained on."""
    test = [r for r in records if r.get("tag") == tag and r.get("split") == "test"]
    train = [r for r in records if r.get("split") != "test" and r.get("prompt_id") not in test_ids
             and not any(m.get("content") in test_prompts for m in r["messages"] if m.get("role") == "user")]
    return train, test


def run(ctx: StageContext) -> dict:
    cfg = ctx.config.rm
    seed = ctx.config.run.seed
    if cfg.rankings_per_step < 1 or cfg.lr <= 0 or cfg.center < 0 or cfg.epochs <= 0:
        raise UserError("rm.rankings_per_step must be at least 1, rm.lr and rm.epochs above 0, rm.center at "
                        "least 0.")
    rank = read_json(ctx.input_dir("rank") / "metrics.json") or {}
    world = load_world(ctx.input_dir("world"))
    gpt, tokenizer, tok_dir, meta, dist = load_chat_stage(ctx, "sft", "rm")
    records = rankings.select(rankings.read(ctx.run_dir), cfg.sources)
    tests = world.tasks("open", "test")
    items = {it["id"]: it for split in ("train", "test") for it in world.tasks("open", split)}
    train, test = split(records, rank.get("tag"), {it["id"] for it in tests}, {it["prompt"] for it in tests})
    if not train:
        raise UserError(f"no rankings to train on in {ctx.run_dir / rankings.FILE} "
                        f"with rm.sources={cfg.sources!r}.")
    sources: dict = {}
    for r in train:
        sources[r.get("source", "web")] = sources.get(r.get("source", "web"), 0) + 1
    limit = gpt.config.max_seq_len
    train, test = prepare(train, tokenizer, limit), prepare(test, tokenizer, limit)
    ctx.log.info(f"{len(train)} rankings to train on "
                 f"({', '.join(f'{k} {v}' for k, v in sorted(sources.items()))}), "
                 f"{len(test)} held out; from {meta['checkpoint']}")

    rm = RewardModel(gpt).to(dist.device)
    pad = tokenizer.special_tokens.get("<|pad|>", 0)
    steps = cfg.max_steps or math.ceil(cfg.epochs * len(train) / cfg.rankings_per_step)
    dtype = cfg.dtype if cfg.dtype != "auto" else auto_dtype(dist.device, ctx.run_dir / "peak_flops.json")
    optimizer = build_optimizer(rm, OptimConfig(name="adamw", lr=cfg.lr, weight_decay=cfg.weight_decay))
    curve: list[dict] = []

    def held_out(tr) -> None:
        if not test:
            return
        acc = accuracy(rm, items, test, pad)
        curve.append({"step": tr.step, **acc})
        ctx.log.metric(event="heldout", step=tr.step, **acc)
        ctx.log.info(f"step {tr.step}: held-out pairwise accuracy {100 * acc['strict']:.1f}% "
                     f"({acc['strict_pairs']} strict pairs), all pairs {100 * acc['all']:.1f}%")

    folder = ctx.out / FOLDER
    trainer = Trainer(rm, optimizer, RankingBatches(train, cfg.rankings_per_step, seed),
                      make_loss(cfg.center, pad, dist.device),
                      LoopConfig(steps=steps, grad_clip=cfg.grad_clip, dtype=dtype, ckpt_every=cfg.ckpt_every,
                                 log_every=cfg.log_every,
                                 lr=lambda s: lr_multiplier(s, steps, cfg.warmup_steps, decay_frac=0.5)),
                      saves=Checkpoints(folder, dataclasses.asdict(gpt.config),
                                        {"stage": "rm", "kind": "reward_model", "base": meta["checkpoint"]}),
                      dist=dist, log=ctx.log, hooks=[Hook(cfg.eval_every, held_out)])
    ckpt.copy_tokenizer(tok_dir, folder)
    start = trainer.resume()
    if start:
        ctx.log.info(f"resuming the reward model from step {start} of {steps}")
    trainer.fit()
    final = accuracy(rm, items, test, pad) if test else None
    train_acc = accuracy(rm, items, [r for r in train
                                     if r.get("source") == "gold" and r.get("prompt_id") in items][:100],
                         pad)  # against the held-out figure: how much it overfits
    ceiling = (rank.get("self_consistency") or {}).get("rate")
    if final:
        ctx.log.info(f"held-out pairwise accuracy {100 * final['strict']:.1f}% (95% CI "
                     f"{100 * final['strict_ci95'][0]:.1f}-{100 * final['strict_ci95'][1]:.1f}, "
                     f"{final['strict_pairs']} pairs the gold scorer orders); "
                     f"all pairs {100 * final['all']:.1f}% "
                     f"vs the labeler's self-consistency {ceiling}")
    return {"steps": steps, "train_rankings": len(train), "test_rankings": len(test), "sources": sources,
            "heldout": final, "labeler_self_consistency": ceiling, "curve": curve,
            "train_accuracy": train_acc, "target": 0.85, "met": bool(final and final["strict"] >= 0.85),
            "checkpoint": str(trainer.last_ckpt)}
