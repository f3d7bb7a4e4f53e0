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
      eval_suite.json, keep.json    the evaluation suite on the stage's model, as the eval stage
                                    runs it, and whether it keeps the starting model's (eval.keep)
      metrics.json                  the curves (proxy, true, KL, length, repetition, distinct-2),
                                    the detector's verdicts, the comparison

Proxy reward = the reward model's score; true reward = the gold scorer (the world's hidden human),
never used for training: only to keep the best checkpoint on the selection prompts and to report
on the others. Both runs resume exactly (the training core's checkpoints, cached curve points).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch

from chatforge.core.atomic import atomic_write_text, cached_json
from chatforge.core.errors import UserError
from chatforge.core.rundir import StageContext
from chatforge.eval import keep
from chatforge.eval.board import start_suite, suite_of
from chatforge.eval.stats import mean_ci, mean_sd
from chatforge.rlhf import reward_model
from chatforge.rlhf.judges import Judges, held_out, problems_of
from chatforge.rlhf.policy import Leg, Setup, train
from chatforge.train import checkpoint as ckpt
from chatforge.tune.load import load_chat_stage
from chatforge.world import load_world

STARTS = ("rl", "probe", "sft")  # rlhf.start: the stages whose chat model RLHF may start from


def validate(cfg) -> None:
    for name in ("samples", "prompts_per_step", "max_new_tokens", "prompts_per_call", "reuse", "micro_batch",
                 "eval_samples", "report_samples", "select_prompts"):
        if getattr(cfg, name) < 1:
            raise UserError(f"rlhf.{name} must be at least 1, got {getattr(cfg, name)}.")
    if cfg.samples < 2:
        raise UserError("rlhf.samples must be at least 2 (advantages compare answers to one prompt), "
                        f"got {cfg.samples}.")
    if cfg.start not in STARTS:
        raise UserError(f"rlhf.start must be one of {', '.join(STARTS)}, got {cfg.start!r}.")
    if (cfg.steps < 0 or cfg.hack_steps < 0 or cfg.kl < 0 or cfg.grpo_lr <= 0 or cfg.hack_lr <= 0
            or cfg.temperature <= 0):
        raise UserError("rlhf.steps, rlhf.hack_steps and rlhf.kl must be at least 0; rlhf.grpo_lr, "
                        "rlhf.hack_lr and rlhf.temperature above 0.")


def _compare(s: Setup, report: list[dict], chosen: Path, hack: dict | None) -> dict:
    """SFT, the start, the kept RLHF model (and the hacked one) on the report prompts."""
    ctx, cfg = s.ctx, s.cfg
    models = [("sft", ctx.input_dir("sft")), ("start", ctx.input_dir(cfg.start)), ("rlhf", chosen)]
    if hack:
        models.append(("no-kl", ckpt.latest_checkpoint(ctx.out / "hack" / "train")))
    out = {}
    for name, where in models:
        model, _, _ = ckpt.load_model(where, s.dist.device)
        h = held_out(model, None, s.tokenizer, s.judges, report, samples=cfg.report_samples, cfg=cfg,
                     seed=s.seed * 13 + 5)
        m, lo, hi = mean_ci(h["true_by_prompt"])
        out[name] = {"true": round(m, 4), "true_ci95": [round(lo, 4), round(hi, 4)], "proxy": h["proxy"],
                     "prompts": len(report), "answers_per_prompt": cfg.report_samples,
                     "words": h["words"], "repetition": h["repetition"], "distinct2": h["distinct2"],
                     "true_by_prompt": h["true_by_prompt"]}
        ctx.log.info(f"{name:<6} true reward {m:.3f} (95% CI {lo:.3f}-{hi:.3f}), proxy {h['proxy']:.3f}, "
                     f"{h['words']:.0f} words, repetition {h['repetition']:.3f}")
    return out


def _examples(main: dict, hack: dict | None) -> dict:
    best = main["best"]
    examples = {"before": main["curve"][0]["examples"],
                "best": next(p for p in main["curve"] if p["step"] == best["step"])["examples"]}
    if hack:
        flagged = hack["detector"]["step"] if hack["detector"] else hack["curve"][-1]["step"]
        examples["hacked"] = next(p for p in hack["curve"] if p["step"] == flagged)["examples"]
        examples["hacked_last"] = hack["curve"][-1]["examples"]
    return examples


def _strip(curve: list[dict]) -> list[dict]:
    return [{k: v for k, v in p.items() if k not in ("examples", "true_by_prompt", "proxy_by_prompt")}
            for p in curve]


def _setup(ctx: StageContext) -> tuple[Setup, list[dict], dict]:
    """The policy, its frozen reference, the reward model and the prompts; -> (setup, report prompts,
    the starting checkpoint's meta)."""
    cfg = ctx.config.rlhf
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
        raise UserError(f"rlhf.select_prompts ({cfg.select_prompts}) leaves none of the world's "
                        f"{len(tests)} open test prompts to report on.")
    ctx.log.info(f"policy {start_meta['checkpoint']}, reward model {rm_meta.get('checkpoint')}; "
                 f"{len(pool)} train prompts, {len(select)} to select the checkpoint, "
                 f"{len(report)} to report")
    ref = copy.deepcopy(policy).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    return Setup(ctx, cfg, policy, ref, tokenizer, tok_dir, judges, pool, select, dist,
                 ctx.config.run.seed), report, start_meta


def run(ctx: StageContext) -> dict:
    cfg = ctx.config.rlhf
    validate(cfg)
    s, report, start_meta = _setup(ctx)
    policy = s.model
    start_state = {k: v.detach().clone() for k, v in policy.state_dict().items()}
    meta = {"stage": "rlhf", "base": start_meta["checkpoint"], "chat": True}
    main = train(s, Leg(ctx.out, cfg.kl, cfg.steps, cfg.grpo_lr, meta))
    best = main["best"]
    chosen = _keep_best(ctx, policy, s.tok_dir, best)
    hack = None
    if cfg.hack_steps > 0:
        policy.load_state_dict(start_state)
        hack = train(s, Leg(ctx.out / "hack", 0.0, cfg.hack_steps, cfg.hack_lr, {**meta, "run": "no-kl"}))
    ctx.log.info(f"the report prompts: {len(report)} x {cfg.report_samples} answers per model")
    comparison = cached_json(ctx.out / "report.json", lambda: _compare(s, report, chosen, hack))
    atomic_write_text(ctx.out / "examples.json",
                      json.dumps(_examples(main, hack), indent=2, ensure_ascii=False))
    kept = _gate(ctx, s, chosen)
    paired = {f"rlhf_vs_{b}": _paired(comparison["rlhf"], comparison[b]) for b in ("sft", "start")}
    if hack:
        paired["no-kl_vs_rlhf"] = _paired(comparison["no-kl"], comparison["rlhf"])
    for k, v in paired.items():
        ctx.log.info(f"{k}: true reward {v['diff']:+.3f} (95% CI {v['ci95'][0]:+.3f} to {v['ci95'][1]:+.3f}, "
                     f"paired over {v['prompts']} prompts)")
    return {"steps": cfg.steps, "kl": cfg.kl, "best_step": best["step"], "checkpoint": str(chosen),
            "keep": kept,
            "curve": _strip(main["curve"]), "detector": main["detector"],
            "hack_curve": _strip(hack["curve"]) if hack else None,
            "hack_detector": hack["detector"] if hack else None,
            "comparison": {k: {kk: vv for kk, vv in v.items() if kk != "true_by_prompt"}
                           for k, v in comparison.items()},
            "paired": paired,
            "met": {"above_sft_mean": comparison["rlhf"]["true"] > comparison["sft"]["true"],
                    "above_sft_significant": paired["rlhf_vs_sft"]["ci95"][0] > 0,
                    "above_start_significant": paired["rlhf_vs_start"]["ci95"][0] > 0,
                    "hack_shown": bool(hack and hack["detector"])},
            "rollouts": main["rollouts"], "hack_rollouts": hack["rollouts"] if hack else None}


def _gate(ctx: StageContext, s: Setup, chosen) -> dict:
    """The stage's model against the one it started from, on the evaluation suite (eval.keep)."""
    model, _, _ = ckpt.load_model(chosen, s.dist.device)
    after = suite_of(ctx, "suite", model, s.tokenizer)
    start = ctx.config.rlhf.start
    return keep.gate(ctx, start, start_suite(ctx, start, s.dist.device), after)


def _paired(a: dict, b: dict) -> dict:
    """Model a minus model b in true reward on the same report prompts: mean and 95% interval."""
    d = [x - y for x, y in zip(a["true_by_prompt"], b["true_by_prompt"])]
    m, sd = mean_sd(d)
    h = 1.96 * sd / len(d) ** 0.5
    return {"diff": round(m, 4), "ci95": [round(m - h, 4), round(m + h, 4)], "prompts": len(d)}


def _keep_best(ctx, model, tok_dir, best: dict):
    """Write the best checkpoint's weights as the stage's model (run_dir/rlhf/ckpt)."""
    folder = ctx.out / "ckpt"
    have = ckpt.latest_checkpoint(folder)
    if have is None or ckpt.load_checkpoint(have)["step"] != best["step"]:
        obj = ckpt.load_checkpoint(best["path"])
        have = ckpt.save_checkpoint(folder, best["step"], _Weights(obj["model"]),
                                    model_config=obj["model_config"],
                                    meta={**obj["meta"],
                                          "selected_by": "true reward on the selection prompts"})
        ckpt.copy_tokenizer(tok_dir, folder)
    return have


class _Weights(torch.nn.Module):
    """A state dict dressed as a module for save_checkpoint."""

    def __init__(self, state: dict):
        super().__init__()
        self._state = state

    def state_dict(self, *args, **kwargs):
        return self._state


