"""The RL stage: the chat model practises verifiable problems and is reinforced on what works.

    run_dir/rl/
      eval_before.json    pass@1 .. pass@G on every set's test problems, the probe stage's model
      blind.json          the blind guesser's pass@k per set (answers from the train split)
      ckpt/               the trained model (GRPO: its steps; RFT: the last round's weights)
      curve/step_<n>.json pass@k on the curve's test problems after GRPO step n / RFT round n
      rounds/<r>/         RFT: each round's kept solutions, stats and checkpoints
      eval.json           pass@k after; eval_suite.json: the whole greedy suite after, as the eval
                          stage runs it; keep.json: does it keep the probe model's suite (eval.keep)
      metrics.json        the before/after/blind table, curves (reward, pass@1, pass@k, length, KL)

GRPO (grpo.py) runs on the training core with rollouts as its batch source; RFT (rft.py) on the
shared fine-tune. Both resume exactly; the evaluations are cached as they are written.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

from chatforge.core.atomic import cached_json, read_json
from chatforge.core.device import torch_threads
from chatforge.core.errors import UserError
from chatforge.core.rundir import StageContext
from chatforge.engine import Engine
from chatforge.eval import keep
from chatforge.eval.board import start_suite, suite_of
from chatforge.rl.grpo import Knobs, Rollouts, make_loss
from chatforge.rl.passk import evaluate as passk
from chatforge.rl.passk import ks_for
from chatforge.rl.practice import Practice
from chatforge.rl.problems import blind_guesser, check_sets, test_problems, train_problems
from chatforge.rl.rft import round_data
from chatforge.rl.rollout import Groups, sample_groups
from chatforge.sft.mixture import conversations
from chatforge.tasks import SETS
from chatforge.tools.training import training_executor
from chatforge.train import checkpoint as ckpt
from chatforge.train.loop import Checkpoints, Hook, LoopConfig, Trainer
from chatforge.train.mfu import auto_dtype
from chatforge.train.optim import OptimConfig, build_optimizer
from chatforge.train.schedule import lr_multiplier
from chatforge.tune.finetune import FinetuneRun, finetune
from chatforge.tune.load import load_chat_stage
from chatforge.world import load_world


def validate(cfg) -> None:
    if cfg.method not in ("grpo", "rft"):
        raise UserError(f"rl.method must be 'grpo' or 'rft', got {cfg.method!r}.")
    check_sets(cfg.sets)
    for name in ("samples", "max_new_tokens", "prompts_per_call", "problems_per_step", "reuse",
                 "micro_batch", "rounds", "problems_per_round", "keep_per_problem", "eval_items",
                 "curve_items", "eval_samples"):
        if getattr(cfg, name) < 1:
            raise UserError(f"rl.{name} must be at least 1, got {getattr(cfg, name)}.")
    if cfg.samples < 2:
        raise UserError("rl.samples must be at least 2 (advantages compare samples of one problem), "
                        f"got {cfg.samples}.")
    if not 0 <= cfg.abstain_reward < 1:
        raise UserError(f"rl.abstain_reward must be at least 0 and below 1 (a right answer earns 1), "
                        f"got {cfg.abstain_reward}.")
    if not 0 <= cfg.guard_share <= 1:
        raise UserError(f"rl.guard_share must be between 0 and 1, got {cfg.guard_share}.")
    if cfg.temperature <= 0:
        raise UserError(f"rl.temperature must be above 0 (answers are sampled), got {cfg.temperature}.")
    if cfg.steps < 0 or cfg.kl < 0 or cfg.grpo_lr <= 0 or not (0 < cfg.clip_low < 1 and cfg.clip_high > 0):
        raise UserError("rl.steps and rl.kl must be at least 0, rl.grpo_lr above 0, "
                        "0 < rl.clip_low < 1 and rl.clip_high above 0.")


def table(before: dict, after: dict, blind: dict, samples: int) -> dict:
    """Per set: pass@1 and pass@G before/after, the blind guesser, and whether the target holds
    (pass@1 up 10 points and clearly above the guesser, for sets whose pass@G was >= 20%). A guard
    set (refusals, identity) has no target of its own: it is `kept` when pass@1 stays >= 90% of before."""
    top = f"pass@{max(k for k in (1, 2, 4, 8, 16, 32, 64) if k <= samples)}"
    out = {}
    for name, b in before.items():
        a, g = after[name], blind[name]
        signal = b[top] >= 0.2
        gain = round(a["pass@1"] - b["pass@1"], 4)
        out[name] = {"before_pass@1": b["pass@1"], f"before_{top}": b[top], "after_pass@1": a["pass@1"],
                     "after_pass@1_ci95": a["pass@1_ci95"], f"after_{top}": a[top],
                     "blind_pass@1": g["pass@1"], f"blind_{top}": g[top], "gain": gain, "signal": signal,
                     # above the guesser = the lower end of pass@1's 95% interval above its pass@1
                     "met": (gain >= 0.10 and a["pass@1_ci95"][0] > g["pass@1"]) if signal else None,
                     "length_before": b["mean_tokens"], "length_after": a["mean_tokens"]}
        if SETS[name].guard:
            out[name].update(guard=True, signal=None, met=None, kept=a["pass@1"] >= 0.9 * b["pass@1"])
    return out


def _measure(p: Practice, problems: dict, tag: int) -> dict:
    """pass@k of the policy on `problems`, sampled with the run's tools."""
    cfg, model = p.cfg, p.model
    was = model.training
    try:
        with torch_threads(cfg.eval_threads):
            return passk(Engine(model, p.tokenizer), p.tokenizer, p.world, problems,
                         Groups.of(cfg, cfg.eval_samples), seed=p.seed * 31 + tag, execute=p.execute,
                         log=p.ctx.log)
    finally:
        model.train(was)


def _log_table(ctx: StageContext, t: dict) -> None:
    top = next(k for k in next(iter(t.values())) if k.startswith("before_pass@") and k != "before_pass@1")
    for name, r in t.items():
        verdict = (("kept" if r["kept"] else "lost") + " (a guard: behaviour RL must keep)"
                   if r.get("guard") else
                   "no signal to amplify" if not r["signal"] else "met" if r["met"] else "not met")
        ctx.log.info(f"{name:<22} pass@1 {100 * r['before_pass@1']:5.1f}% -> "
                     f"{100 * r['after_pass@1']:5.1f}%  "
                     f"{top[7:]} {100 * r[top]:5.1f}% -> {100 * r['after_' + top[7:]]:5.1f}%  "
                     f"blind {100 * r['blind_pass@1']:.1f}%  ({verdict})")


def _curve(out: Path) -> list[dict]:
    """Every point written so far, also those of an earlier process (resume)."""
    curve = []
    for f in sorted((out / "curve").glob("step_*.json"), key=lambda f: int(f.stem[5:])):
        curve.append({"step": int(f.stem[5:]), **{n: {k: v for k, v in r.items() if k.startswith("pass@") and
                                                       not k.endswith("ci95")} | {"length": r["mean_tokens"]}
                                                  for n, r in read_json(f).items()}})
    return curve


def run(ctx: StageContext) -> dict:
    cfg = ctx.config.rl
    validate(cfg)
    seed = ctx.config.run.seed
    model, tokenizer, tok_dir, start_meta, dist = load_chat_stage(ctx, "probe", "rl")
    world = load_world(ctx.input_dir("world"))
    ctx.log.info(f"policy: {start_meta['checkpoint']}; method {cfg.method}; sets {', '.join(cfg.sets)}")
    tests = test_problems(world, cfg.sets, cfg.eval_items, seed)
    curve_tests = {n: t[:cfg.curve_items] for n, t in tests.items()}
    p = Practice(ctx, cfg, model, tokenizer, tok_dir, world, [], training_executor(ctx.run_dir), dist, seed,
                 {"stage": "rl", "method": cfg.method, "base": start_meta["checkpoint"], "chat": True},
                 lambda step: cached_json(ctx.out / "curve" / f"step_{step}.json",
                                          lambda: _measure(p, curve_tests, 1)))
    ks = ks_for(cfg.eval_samples)
    blind = cached_json(ctx.out / "blind.json",
                        lambda: {n: blind_guesser(world, n, t, ks) for n, t in tests.items()})
    ctx.log.info(f"pass@k before, {cfg.eval_items} test problems a set x {cfg.eval_samples} samples")
    before = cached_json(ctx.out / "eval_before.json", lambda: _measure(p, tests, 0))
    (ctx.out / "curve").mkdir(parents=True, exist_ok=True)
    p.curve_point(0)  # curve/step_<n>.json (RFT: n = rounds done)

    p.pool = [q for n in cfg.sets for q in train_problems(world, n, seed)]
    train_metrics = _grpo(p) if cfg.method == "grpo" else _rft(p)

    model.eval()
    ctx.log.info("pass@k after")
    after = cached_json(ctx.out / "eval.json", lambda: _measure(p, tests, 2))
    suite_after = suite_of(ctx, "suite", model, tokenizer)
    kept = keep.gate(ctx, "probe", start_suite(ctx, "probe", dist.device), suite_after)
    t = table(before, after, blind, cfg.eval_samples)
    _log_table(ctx, t)
    return {**train_metrics, "method": cfg.method, "table": t, "curve": _curve(ctx.out), "keep": kept,
            "suite_after": {k: v for k, v in suite_after["summary"].items() if not isinstance(v, list)}}


def _rollouts(p: Practice) -> Rollouts:
    cfg, tokenizer, world = p.cfg, p.tokenizer, p.world
    ref = copy.deepcopy(p.model).eval()
    for q in ref.parameters():
        q.requires_grad_(False)
    knobs = Knobs(cfg.problems_per_step, cfg.reuse, cfg.std_scale, cfg.guard_share, cfg.micro_batch)

    def sample(engine, problems, sample_seed):
        return sample_groups(engine, tokenizer, world, problems, Groups.of(cfg), seed=sample_seed,
                             execute=p.execute)

    def describe(problems, groups):
        by_set: dict = {}
        for q, g in zip(problems, groups):
            by_set.setdefault(q["set"], []).extend(float(s.reward >= 1.0) for s in g)
        return {"right_by_set": {n: round(sum(v) / len(v), 4) for n, v in sorted(by_set.items())}}

    return Rollouts(p.model, ref, tokenizer, p.pool, knobs, p.seed, sample, describe,
                    sample_threads=cfg.eval_threads)


def _grpo(p: Practice) -> dict:
    ctx, cfg, model, dist = p.ctx, p.cfg, p.model, p.dist
    rollouts = _rollouts(p)
    dtype = cfg.dtype if cfg.dtype != "auto" else auto_dtype(dist.device, ctx.run_dir / "peak_flops.json")
    optimizer = build_optimizer(model, OptimConfig(name="adamw", lr=cfg.grpo_lr,
                                                   weight_decay=cfg.weight_decay))
    stats: dict = {}

    def log_rollout(tr) -> None:
        last = rollouts.last
        ctx.log.metric(event="rollout", step=tr.step, reward=last.get("reward"), length=last.get("length"),
                       kl=round(stats.get("kl", 0.0), 5), clipped=round(stats.get("clipped", 0.0), 4),
                       skipped=last.get("skipped"), groups=last.get("groups"), rows=last.get("rows"),
                       right_by_set=last.get("right_by_set"))
        ctx.log.info(f"step {tr.step}: reward {last.get('reward')}, length {last.get('length')}, "
                     f"kl {stats.get('kl', 0.0):.4f}, "
                     f"groups without signal {last.get('skipped')}/{last.get('groups')}")

    hooks = [Hook(1, log_rollout, at_end=False)]
    if cfg.eval_every > 0:
        hooks.append(Hook(cfg.eval_every, lambda tr: p.curve_point(tr.step), at_end=True))
    trainer = Trainer(model, optimizer, rollouts, make_loss(cfg, dist.device, stats),
                      LoopConfig(steps=cfg.steps, grad_clip=cfg.grad_clip, dtype=dtype,
                                 ckpt_every=cfg.ckpt_every, log_every=cfg.log_every,
                                 lr=lambda s: lr_multiplier(s, cfg.steps, cfg.warmup_steps, decay_frac=0.0)),
                      saves=Checkpoints(ctx.out / "ckpt", dataclasses.asdict(model.config), p.meta),
                      dist=dist, log=ctx.log, hooks=hooks)
    rollouts.autocast = trainer.autocast
    ckpt.copy_tokenizer(p.tok_dir, ctx.out / "ckpt")
    start = trainer.resume()
    if start:
        ctx.log.info(f"resuming GRPO from step {start} of {cfg.steps}")
    trainer.fit()
    if cfg.steps == 0:
        trainer.save()
    rows = [json.loads(x) for x in (ctx.out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    roll = {r["step"]: r for r in rows if r.get("event") == "rollout"}  # the last record of each step
    return {"steps": cfg.steps, "rollouts": [roll[s] for s in sorted(roll)],
            "groups_without_signal": sum(r.get("skipped") or 0 for r in roll.values()),
            "groups": sum(r.get("groups") or 0 for r in roll.values()),
            "checkpoint": str(trainer.last_ckpt)}


def _rft(p: Practice) -> dict:
    ctx, cfg, model, tokenizer = p.ctx, p.cfg, p.model, p.tokenizer
    sft_convs = conversations(ctx.input_dir("sft") / "mixture")
    rounds, steps = [], 0
    for r in range(cfg.rounds):
        model.eval()
        rows, stats = round_data(p, r, Engine(model, tokenizer), sft_convs)
        ctx.log.info(f"round {r}: {stats['kept']} right solutions kept from {stats['problems']} problems "
                     f"(sample reward {stats['reward']}, {stats['solved_problems']} problems solved at "
                     "least once)")
        model.train()
        m = finetune(model, tokenizer, p.tok_dir, rows, [], cfg, FinetuneRun(
            ckpt_dir=ctx.out / "rounds" / str(r) / "ckpt", run_dir=ctx.run_dir,
            world_dir=ctx.input_dir("world"), dist=p.dist, seed=p.seed + r, log=ctx.log, label="rl",
            meta={**p.meta, "round": r}))
        steps += m["steps"]
        model.eval()
        p.curve_point(r + 1)
        rounds.append({**stats, "steps": m["steps"], "final_train_loss": m["final_train_loss"]})
    final = ckpt.latest_checkpoint(ctx.out / "ckpt")
    if final is None or ckpt.load_checkpoint(final)["step"] != steps:
        final = ckpt.save_checkpoint(ctx.out / "ckpt", steps, model,
                                     model_config=dataclasses.asdict(model.config), meta=p.meta)
        ckpt.copy_tokenizer(p.tok_dir, ctx.out / "ckpt")
    return {"steps": steps, "rounds": rounds, "checkpoint": str(final)}
