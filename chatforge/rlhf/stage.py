"""The rlhf stage: GRPO against the reward model, with a KL penalty to the starting model; then
the same run without the penalty, where the policy learns to please the reward model and not
the people it imitates.

    run_dir/rlhf/
      train/, curve/step_<n>.json   the KL-regularised run: its checkpoints, its held-out points
      best/                         the checkpoint with the best true reward on the selection prompts
      ckpt/                         the stage's model: that best checkpoint
      hack/train/, hack/curve/      the run without the KL penalty
      report.json                   SFT, start, RLHF and hacked models on the report prompts
      examples.json                 answers before, at the best point and after the hack
      metrics.json                  the curves (proxy, true, KL, length, repetition, distinct-2),
                                    the detector's verdicts, the comparison

Proxy reward = the reward model's score; true reward = the gold scorer (the world's hidden human),
never used for training: only to keep the best checkpoint on the selection prompts and to report
on the others. Both runs resume exactly (the training core's checkpoints, cached curve points).
"""

from __future__ import annotations

import copy
import dataclasses
import json

import torch

from chatforge.core.atomic import atomic_write_text, cached_json, read_json
from chatforge.core.errors import UserError
from chatforge.core.rundir import StageContext

STARTS = ("rl", "probe", "sft")  # rlhf.start: the stages whose chat model RLHF may start from


def validate(cfg) -> None:
    for name in ("samples", "prompts_per_step", "max_new_tokens", "prompts_per_call", "reuse", "micro_batch",
                 "eval_samples", "report_samples", "select_prompts"):
        if getattr(cfg, name) < 1:
            raise UserError(f"rlhf.{name} must be at least 1, got {getattr(cfg, name)}.")
    if cfg.samples < 2:
        raise UserError(f"rlhf.samples must be at least 2 (advantages compare answers to one prompt), got {cfg.samples}.")
    if cfg.start not in STARTS:
        raise UserError(f"rlhf.start must be one of {', '.join(STARTS)}, got {cfg.start!r}.")
    if cfg.steps < 0 or cfg.hack_steps < 0 or cfg.kl < 0 or cfg.grpo_lr <= 0 or cfg.hack_lr <= 0 or cfg.temperature <= 0:
        raise UserError("rlhf.steps, rlhf.hack_steps and rlhf.kl must be at least 0; rlhf.grpo_lr, rlhf.hack_lr and "
                        "rlhf.temperature above 0.")


class Judges:
    """The proxy (reward model) and the true reward (gold scorer) of answers to open prompts."""

    def __init__(self, rm, tokenizer, limit: int):
        self.rm, self.tok, self.limit = rm, tokenizer, limit
        self.pad = tokenizer.special_tokens.get("<|pad|>", 0)

    def proxy_many(self, pairs: list[tuple[list[dict], str]]) -> list[float]:
        from chatforge.rlhf.reward_model import encode, score

        return score(self.rm, [encode(self.tok, m, a, self.limit) for m, a in pairs], self.pad)

    def proxy(self, problem: dict, text: str) -> float:
        return self.proxy_many([(problem["messages"], text)])[0]

    @staticmethod
    def true(problem: dict, text: str) -> float:
        from chatforge.world.gold import gold_score

        return gold_score(problem["item"], text)


def problems_of(items: list[dict]) -> list[dict]:
    return [{"id": it["id"], "set": "open", "tools": False, "messages": it["messages"], "item": it} for it in items]


@torch.no_grad()
def held_out(model, ref, tokenizer, judges: Judges, problems: list[dict], *, samples: int, cfg, seed: int) -> dict:
    """Answers to held-out prompts: per-prompt mean proxy and true reward, KL to the reference
    (summed over each answer's tokens), text statistics and a few examples."""
    from chatforge.chat.render import assistant_text, parse_assistant
    from chatforge.chat.turns import complete_many, tools_off
    from chatforge.rl.grpo import token_logprobs
    from chatforge.rlhf.reward_model import pad_rows
    from chatforge.rlhf.textstats import text_stats

    was = model.training
    model.eval()
    threads = torch.get_num_threads()
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    try:
        done = complete_many(model, tokenizer, [p["messages"] for p in problems], num_samples=samples,
                             executor=tools_off, max_new_tokens=cfg.max_new_tokens, batch_size=cfg.prompts_per_call,
                             temperature=cfg.temperature, seed=seed)
    finally:
        torch.set_num_threads(threads)
    texts = [[assistant_text(parse_assistant(c.tokens, tokenizer)) for c in comps] for _, comps in done]
    flat = [(p, t) for p, ts in zip(problems, texts) for t in ts]
    proxy = judges.proxy_many([(p["messages"], t) for p, t in flat])
    true = [judges.true(p, t) for p, t in flat]
    kl = []
    if ref is not None:
        rows = [prompt + list(c.tokens) for prompt, comps in done for c in comps]
        starts = [len(prompt) for prompt, comps in done for _ in comps]
        ids, _ = pad_rows(rows, judges.pad)
        lp, lr = token_logprobs(model, ids), token_logprobs(ref, ids)
        for i, (row, s) in enumerate(zip(rows, starts)):
            kl.append(float((lp[i, s - 1:len(row) - 1] - lr[i, s - 1:len(row) - 1]).sum()))
    model.train(was)
    per_prompt = lambda xs: [sum(xs[i:i + samples]) / samples for i in range(0, len(xs), samples)]  # noqa: E731
    return {"proxy": round(sum(proxy) / len(proxy), 4), "true": round(sum(true) / len(true), 4),
            "kl": round(sum(kl) / len(kl), 4) if kl else 0.0, **text_stats([t for _, t in flat]),
            "true_by_prompt": [round(x, 4) for x in per_prompt(true)],
            "proxy_by_prompt": [round(x, 4) for x in per_prompt(proxy)],
            "examples": [{"prompt": p["messages"][-1]["content"], "answer": t, "proxy": round(px, 3),
                          "true": round(tr, 3)} for (p, t), px, tr in list(zip(flat, proxy, true))[:6]]}


def run(ctx: StageContext) -> dict:
    from chatforge.rlhf import reward_model
    from chatforge.sft.finetune import load_chat_stage
    from chatforge.world import load_world

    cfg = ctx.config.rlhf
    validate(cfg)
    seed = ctx.config.run.seed
    policy, tokenizer, tok_dir, start_meta, dist = load_chat_stage(ctx, cfg.start, "rlhf")
    rm, _, rm_meta = reward_model.load(ctx.input_dir("rm"), dist.device)
    for p in rm.parameters():
        p.requires_grad_(False)
    world = load_world(ctx.input_dir("world"))
    judges = Judges(rm, tokenizer, policy.config.max_seq_len)
    pool = problems_of(world.tasks("open", "train"))
    tests = problems_of(world.tasks("open", "test"))
    select, report = tests[:cfg.select_prompts], tests[cfg.select_prompts:]
    if not report:
        raise UserError(f"rlhf.select_prompts ({cfg.select_prompts}) leaves none of the world's {len(tests)} open "
                        "test prompts to report on.")
    ctx.log.info(f"policy {start_meta['checkpoint']}, reward model {rm_meta.get('checkpoint')}; "
                 f"{len(pool)} train prompts, {len(select)} to select the checkpoint, {len(report)} to report")
    start_state = {k: v.detach().clone() for k, v in policy.state_dict().items()}
    ref = copy.deepcopy(policy).eval()
    for p in ref.parameters():
        p.requires_grad_(False)

    main = _train(ctx, cfg, policy, ref, tokenizer, tok_dir, judges, pool, select, dist, seed, ctx.out,
                  kl=cfg.kl, steps=cfg.steps, lr=cfg.grpo_lr, meta={"stage": "rlhf", "base": start_meta["checkpoint"],
                                                                     "chat": True})
    best = main["best"]
    chosen = _keep_best(ctx, policy, tok_dir, best)
    hack = None
    if cfg.hack_steps > 0:
        policy.load_state_dict(start_state)
        hack = _train(ctx, cfg, policy, ref, tokenizer, tok_dir, judges, pool, select, dist, seed, ctx.out / "hack",
                      kl=0.0, steps=cfg.hack_steps, lr=cfg.hack_lr,
                      meta={"stage": "rlhf", "run": "no-kl", "base": start_meta["checkpoint"], "chat": True})

    def compare() -> dict:
        from chatforge.eval.stats import mean_ci
        from chatforge.train import checkpoint as ckpt

        models = [("sft", ctx.input_dir("sft")), ("start", ctx.input_dir(cfg.start)), ("rlhf", chosen)]
        if hack:
            models.append(("no-kl", ckpt.latest_checkpoint(ctx.out / "hack" / "train")))
        out = {}
        for name, where in models:
            model, _, _ = ckpt.load_model(where, dist.device)
            h = held_out(model, None, tokenizer, judges, report, samples=cfg.report_samples, cfg=cfg, seed=seed * 13 + 5)
            m, lo, hi = mean_ci(h["true_by_prompt"])
            out[name] = {"true": round(m, 4), "true_ci95": [round(lo, 4), round(hi, 4)], "proxy": h["proxy"],
                         "prompts": len(report), "answers_per_prompt": cfg.report_samples,
                         "words": h["words"], "repetition": h["repetition"], "distinct2": h["distinct2"],
                         "true_by_prompt": h["true_by_prompt"]}
            ctx.log.info(f"{name:<6} true reward {m:.3f} (95% CI {lo:.3f}-{hi:.3f}), proxy {h['proxy']:.3f}, "
                         f"{h['words']:.0f} words, repetition {h['repetition']:.3f}")
        return out

    ctx.log.info(f"the report prompts: {len(report)} x {cfg.report_samples} answers per model")
    comparison = cached_json(ctx.out / "report.json", compare)
    examples = {"before": main["curve"][0]["examples"],
                "best": next(p for p in main["curve"] if p["step"] == best["step"])["examples"]}
    if hack:
        flagged = hack["detector"]["step"] if hack["detector"] else hack["curve"][-1]["step"]
        examples["hacked"] = next(p for p in hack["curve"] if p["step"] == flagged)["examples"]
        examples["hacked_last"] = hack["curve"][-1]["examples"]
    atomic_write_text(ctx.out / "examples.json", json.dumps(examples, indent=2, ensure_ascii=False))
    strip = lambda c: [{k: v for k, v in p.items() if k not in ("examples", "true_by_prompt", "proxy_by_prompt")}  # noqa: E731
                       for p in c]
    paired = {f"rlhf_vs_{b}": _paired(comparison["rlhf"], comparison[b]) for b in ("sft", "start")}
    if hack:
        paired["no-kl_vs_rlhf"] = _paired(comparison["no-kl"], comparison["rlhf"])
    for k, v in paired.items():
        ctx.log.info(f"{k}: true reward {v['diff']:+.3f} (95% CI {v['ci95'][0]:+.3f} to {v['ci95'][1]:+.3f}, "
                     f"paired over {v['prompts']} prompts)")
    return {"steps": cfg.steps, "kl": cfg.kl, "best_step": best["step"], "checkpoint": str(chosen),
            "curve": strip(main["curve"]), "detector": main["detector"],
            "hack_curve": strip(hack["curve"]) if hack else None, "hack_detector": hack["detector"] if hack else None,
            "comparison": {k: {kk: vv for kk, vv in v.items() if kk != "true_by_prompt"} for k, v in comparison.items()},
            "paired": paired,
            "met": {"above_sft_mean": comparison["rlhf"]["true"] > comparison["sft"]["true"],
                    "above_sft_significant": paired["rlhf_vs_sft"]["ci95"][0] > 0,
                    "above_start_significant": paired["rlhf_vs_start"]["ci95"][0] > 0,
                    "hack_shown": bool(hack and hack["detector"])},
            "rollouts": main["rollouts"], "hack_rollouts": hack["rollouts"] if hack else None}


def _paired(a: dict, b: dict) -> dict:
    """Model a minus model b in true reward on the same report prompts: mean and 95% interval."""
    from chatforge.eval.stats import mean_sd

    d = [x - y for x, y in zip(a["true_by_prompt"], b["true_by_prompt"])]
    m, sd = mean_sd(d)
    h = 1.96 * sd / len(d) ** 0.5
    return {"diff": round(m, 4), "ci95": [round(m - h, 4), round(m + h, 4)], "prompts": len(d)}


def _keep_best(ctx, model, tok_dir, best: dict):
    """Write the best checkpoint's weights as the stage's model (run_dir/rlhf/ckpt)."""
    from chatforge.train import checkpoint as ckpt

    folder = ctx.out / "ckpt"
    have = ckpt.latest_checkpoint(folder)
    if have is None or ckpt.load_checkpoint(have)["step"] != best["step"]:
        obj = ckpt.load_checkpoint(best["path"])
        have = ckpt.save_checkpoint(folder, best["step"], _Weights(obj["model"]), model_config=obj["model_config"],
                                    meta={**obj["meta"], "selected_by": "true reward on the selection prompts"})
        ckpt.copy_tokenizer(tok_dir, folder)
    return have


class _Weights(torch.nn.Module):
    """A state dict dressed as a module for save_checkpoint."""

    def __init__(self, state: dict):
        super().__init__()
        self._state = state

    def state_dict(self, *args, **kwargs):  # noqa: D102
        return self._state


def _train(ctx, cfg, model, ref, tokenizer, tok_dir, judges, pool, select, dist, seed, out, *, kl, steps, lr,
           meta) -> dict:
    from chatforge.rl.grpo import Knobs, Rollouts, make_loss
    from chatforge.rl.rollout import sample_groups
    from chatforge.chat.turns import tools_off
    from chatforge.rlhf.detect import detect
    from chatforge.rlhf.textstats import text_stats
    from chatforge.train import checkpoint as ckpt
    from chatforge.train.loop import Hook, LoopConfig, Trainer
    from chatforge.train.mfu import auto_dtype
    from chatforge.train.optim import OptimConfig, build_optimizer
    from chatforge.train.schedule import lr_multiplier

    name = "no-kl" if out != ctx.out else "kl"
    label = "without KL" if name == "no-kl" else f"KL {kl}"
    keep_best = name == "kl"
    gcfg = dataclasses.replace(cfg, kl=kl)

    def sample(engine, problems, sample_seed):
        return sample_groups(engine, tokenizer, None, problems, samples=cfg.samples, temperature=cfg.temperature,
                             max_new_tokens=cfg.max_new_tokens, prompts_per_call=cfg.prompts_per_call,
                             seed=sample_seed, execute=tools_off, scorer=judges.proxy)

    def describe(problems, groups):
        texts = [s.text for g in groups for s in g]
        true = [judges.true(p, s.text) for p, g in zip(problems, groups) for s in g]
        return {"true": round(sum(true) / len(true), 4), **text_stats(texts)}

    rollouts = Rollouts(model, ref, tokenizer, pool, Knobs(cfg.prompts_per_step, cfg.reuse, cfg.std_scale), seed,
                        sample, describe, sample_threads=cfg.threads, tag="rlhf")
    dtype = cfg.dtype if cfg.dtype != "auto" else auto_dtype(dist.device, ctx.run_dir / "peak_flops.json")
    optimizer = build_optimizer(model, OptimConfig(name="adamw", lr=lr, weight_decay=cfg.weight_decay))
    stats: dict = {}
    curve_dir, best_dir = out / "curve", out / "best"

    def point(step: int) -> dict:
        return cached_json(curve_dir / f"step_{step}.json",
                       lambda: {"step": step, **held_out(model, ref, tokenizer, judges, select,
                                                         samples=cfg.eval_samples, cfg=cfg, seed=seed * 17 + 3)})

    def on_point(step: int) -> None:
        p = point(step)
        ctx.log.metric(event="heldout", run=name, **{k: v for k, v in p.items() if k not in
                                                     ("examples", "true_by_prompt", "proxy_by_prompt")})
        ctx.log.info(f"[{label}] step {step}: held-out proxy {p['proxy']:.3f}, true {p['true']:.3f}, "
                     f"KL {p['kl']:.2f}, {p['words']:.0f} words, repetition {p['repetition']:.3f}")
        best_true = read_json(best_dir / "best.json") or {}
        if keep_best and (ckpt.latest_checkpoint(best_dir) is None or p["true"] > best_true.get("true", -1.0)):
            ckpt.save_checkpoint(best_dir, step, model, model_config=dataclasses.asdict(model.config),
                                 meta={**meta, "step": step}, keep_last=1)
            atomic_write_text(best_dir / "best.json", json.dumps({"step": step, "true": p["true"]}))

    def log_rollout(tr) -> None:
        last = rollouts.last
        ctx.log.metric(event="rollout", run=name, step=tr.step, proxy=last.get("reward"), true=last.get("true"),
                       length=last.get("length"), words=last.get("words"), repetition=last.get("repetition"),
                       distinct2=last.get("distinct2"), kl=round(stats.get("kl", 0.0), 5),
                       skipped=last.get("skipped"), groups=last.get("groups"))
        if tr.step % max(1, cfg.log_every) == 0:
            ctx.log.info(f"[{label}] step {tr.step}: proxy {last.get('reward')}, true {last.get('true')}, "
                         f"kl {stats.get('kl', 0.0):.4f}, repetition {last.get('repetition')}")

    hooks = [Hook(1, log_rollout, at_end=False)]
    if cfg.eval_every > 0:
        hooks.append(Hook(cfg.eval_every, lambda tr: on_point(tr.step), at_end=True))
    trainer = Trainer(model, optimizer, rollouts, make_loss(gcfg, dist.device, stats),
                      LoopConfig(steps=steps, grad_clip=cfg.grad_clip, dtype=dtype, ckpt_every=cfg.ckpt_every,
                                 log_every=cfg.log_every),
                      lr_fn=lambda s: lr_multiplier(s, max(1, steps), cfg.warmup_steps, decay_frac=0.0),
                      ckpt_dir=out / "train", dist=dist, log=ctx.log, hooks=hooks,
                      model_config=dataclasses.asdict(model.config), meta=meta)
    ckpt.copy_tokenizer(tok_dir, out / "train")
    start = trainer.resume()
    if start == 0:
        on_point(0)  # the starting model, before any step
    else:
        ctx.log.info(f"[{label}] resuming from step {start} of {steps}")
    trainer.fit()
    if steps == 0 or trainer.last_ckpt is None:
        trainer.save()
    curve = [read_json(f) for f in sorted(curve_dir.glob("step_*.json"), key=lambda f: int(f.stem[5:]))]
    sd0 = _sd(curve[0]["proxy_by_prompt"])
    verdict = detect(curve, cfg.detect_drop, cfg.detect_rise * sd0)
    if verdict:
        ctx.log.warn(f"[{label}] {verdict['message']}")
    rows = [json.loads(x) for x in (ctx.out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    best = {**(read_json(best_dir / "best.json") or {}), "path": str(ckpt.latest_checkpoint(best_dir))}
    roll = {r["step"]: r for r in rows if r.get("event") == "rollout" and r.get("run") == name}  # last of each step
    return {"curve": curve, "detector": verdict, "best": best, "rollouts": [roll[k] for k in sorted(roll)]}


def _sd(xs: list[float]) -> float:
    from chatforge.eval.stats import mean_sd

    return mean_sd(xs)[1] or 1.0
