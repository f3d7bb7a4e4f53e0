"""One GRPO run of the policy against the reward model, on the training core: the KL-regularised
run the stage keeps, or the run without the penalty that shows the hack.

Every `eval_every` steps the policy answers the selection prompts: the proxy and true reward, the
KL to the start, text statistics (curve/step_<n>.json, cached so a resume does not repeat them).
The KL run keeps the checkpoint with the best true reward there (best/); after the run the hack
detector reads the curve.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatforge.chat.turns import tools_off
from chatforge.core.atomic import atomic_write_text, cached_json, read_json
from chatforge.core.rundir import StageContext
from chatforge.eval.stats import mean_sd
from chatforge.rl.grpo import Knobs, Rollouts, make_loss
from chatforge.rl.rollout import Groups, sample_groups
from chatforge.rlhf.detect import detect
from chatforge.rlhf.judges import Judges, held_out
from chatforge.rlhf.textstats import text_stats
from chatforge.train import checkpoint as ckpt
from chatforge.train.dist import DistInfo
from chatforge.train.loop import Checkpoints, Hook, LoopConfig, Trainer
from chatforge.train.mfu import auto_dtype
from chatforge.train.optim import OptimConfig, build_optimizer
from chatforge.train.schedule import lr_multiplier


@dataclass
class Setup:
    """What both runs share: the policy, its reference, the judges and the prompts."""
    ctx: StageContext
    cfg: Any  # the [rlhf] section
    model: Any
    ref: Any
    tokenizer: Any
    tok_dir: Path
    judges: Judges
    pool: list[dict]  # train prompts
    select: list[dict]  # the held-out prompts that pick the best checkpoint
    dist: DistInfo
    seed: int


@dataclass
class Leg:
    """What one run changes: where it writes, its KL coefficient, steps and learning rate."""
    out: Path
    kl: float
    steps: int
    lr: float
    meta: dict


def _rollouts(s: Setup) -> Rollouts:
    cfg, judges = s.cfg, s.judges

    def sample(engine, problems, sample_seed):
        return sample_groups(engine, s.tokenizer, None, problems, Groups.of(cfg), seed=sample_seed,
                             execute=tools_off, scorer=judges.proxy)

    def describe(problems, groups):
        texts = [x.text for g in groups for x in g]
        true = [judges.true(p, x.text) for p, g in zip(problems, groups) for x in g]
        return {"true": round(sum(true) / len(true), 4), **text_stats(texts)}

    knobs = Knobs(cfg.prompts_per_step, cfg.reuse, cfg.std_scale, micro_batch=cfg.micro_batch)
    return Rollouts(s.model, s.ref, s.tokenizer, s.pool, knobs, s.seed, sample, describe,
                    sample_threads=cfg.threads, tag="rlhf")


class Points:
    """The held-out points of one run; the KL run also keeps its best checkpoint by true reward."""

    def __init__(self, s: Setup, leg: Leg, name: str, label: str):
        self.s, self.leg, self.name, self.label = s, leg, name, label
        self.curve_dir, self.best_dir = leg.out / "curve", leg.out / "best"

    def point(self, step: int) -> dict:
        s = self.s
        return cached_json(self.curve_dir / f"step_{step}.json", lambda: {"step": step, **held_out(
            s.model, s.ref, s.tokenizer, s.judges, s.select, samples=s.cfg.eval_samples, cfg=s.cfg,
            seed=s.seed * 17 + 3)})

    def __call__(self, step: int) -> None:
        s, p = self.s, self.point(step)
        s.ctx.log.metric(event="heldout", run=self.name,
                         **{k: v for k, v in p.items()
                            if k not in ("examples", "true_by_prompt", "proxy_by_prompt")})
        s.ctx.log.info(f"[{self.label}] step {step}: held-out proxy {p['proxy']:.3f}, "
                       f"true {p['true']:.3f}, KL {p['kl']:.2f}, {p['words']:.0f} words, "
                       f"repetition {p['repetition']:.3f}")
        best_true = read_json(self.best_dir / "best.json") or {}
        if self.name == "kl" and (ckpt.latest_checkpoint(self.best_dir) is None
                                  or p["true"] > best_true.get("true", -1.0)):
            ckpt.save_checkpoint(self.best_dir, step, s.model,
                                 model_config=dataclasses.asdict(s.model.config),
                                 meta={**self.leg.meta, "step": step}, keep_last=1)
            atomic_write_text(self.best_dir / "best.json", json.dumps({"step": step, "true": p["true"]}))

    def curve(self) -> list[dict]:
        return [read_json(f)
                for f in sorted(self.curve_dir.glob("step_*.json"), key=lambda f: int(f.stem[5:]))]


def _trainer(s: Setup, leg: Leg, rollouts: Rollouts, points: Points, stats: dict) -> Trainer:
    ctx, cfg = s.ctx, s.cfg

    def log_rollout(tr) -> None:
        last = rollouts.last
        ctx.log.metric(event="rollout", run=points.name, step=tr.step, proxy=last.get("reward"),
                       true=last.get("true"), length=last.get("length"), words=last.get("words"),
                       repetition=last.get("repetition"),
                       distinct2=last.get("distinct2"), kl=round(stats.get("kl", 0.0), 5),
                       skipped=last.get("skipped"), groups=last.get("groups"))
        if tr.step % max(1, cfg.log_every) == 0:
            ctx.log.info(f"[{points.label}] step {tr.step}: proxy {last.get('reward')}, "
                         f"true {last.get('true')}, kl {stats.get('kl', 0.0):.4f}, "
                         f"repetition {last.get('repetition')}")

    hooks = [Hook(1, log_rollout, at_end=False)]
    if cfg.eval_every > 0:
        hooks.append(Hook(cfg.eval_every, lambda tr: points(tr.step), at_end=True))
    dtype = cfg.dtype if cfg.dtype != "auto" else auto_dtype(s.dist.device, ctx.run_dir / "peak_flops.json")
    optimizer = build_optimizer(s.model, OptimConfig(name="adamw", lr=leg.lr,
                                                     weight_decay=cfg.weight_decay))
    trainer = Trainer(s.model, optimizer, rollouts,
                      make_loss(dataclasses.replace(cfg, kl=leg.kl), s.dist.device, stats),
                      LoopConfig(steps=leg.steps, grad_clip=cfg.grad_clip, dtype=dtype,
                                 ckpt_every=cfg.ckpt_every, log_every=cfg.log_every,
                                 lr=lambda x: lr_multiplier(x, max(1, leg.steps), cfg.warmup_steps,
                                                            decay_frac=0.0)),
                      saves=Checkpoints(leg.out / "train", dataclasses.asdict(s.model.config), leg.meta),
                      dist=s.dist, log=ctx.log, hooks=hooks)
    rollouts.autocast = trainer.autocast
    return trainer


def train(s: Setup, leg: Leg) -> dict:
    """Run (or resume) one leg; -> its curve, the detector's verdict, its best point, its rollouts."""
    ctx, cfg = s.ctx, s.cfg
    name = "no-kl" if leg.out != ctx.out else "kl"
    points = Points(s, leg, name, "without KL" if name == "no-kl" else f"KL {leg.kl}")
    rollouts = _rollouts(s)
    stats: dict = {}
    trainer = _trainer(s, leg, rollouts, points, stats)
    ckpt.copy_tokenizer(s.tok_dir, leg.out / "train")
    start = trainer.resume()
    if start == 0:
        points(0)  # the starting model, before any step
    else:
        ctx.log.info(f"[{points.label}] resuming from step {start} of {leg.steps}")
    trainer.fit()
    if leg.steps == 0 or trainer.last_ckpt is None:
        trainer.save()
    curve = points.curve()
    sd0 = mean_sd(curve[0]["proxy_by_prompt"])[1] or 1.0
    verdict = detect(curve, cfg.detect_drop, cfg.detect_rise * sd0)
    if verdict:
        ctx.log.warn(f"[{points.label}] {verdict['message']}")
    rows = [json.loads(x) for x in (ctx.out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    best = {**(read_json(points.best_dir / "best.json") or {}),
            "path": str(ckpt.latest_checkpoint(points.best_dir))}
    # the last record of each step
    roll = {r["step"]: r for r in rows if r.get("event") == "rollout" and r.get("run") == name}
    return {"curve": curve, "detector": verdict, "best": best, "rollouts": [roll[k] for k in sorted(roll)]}
