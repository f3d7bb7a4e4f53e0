"""The sft stage: base checkpoint + conversation mixture -> chat checkpoint, then evaluation.

    run_dir/sft/
      mixture/train.jsonl, val.jsonl   the conversations, and with sft.documents plain-text biographies
                                       ({"kind": "document", "text"}); built once, a resume reuses them
      examples.txt                     a few rendered conversations, trained tokens [[marked]]
      ckpt/step_XXXXXX.pt, latest.json the chat model (same format as pretraining checkpoints)
      eval.json                        per-task accuracy and sample transcripts
      metrics.json                     summary: losses, accuracies

Training runs on the post-training floor (chatforge.tune.finetune), which later stages (probe,
RL, distillation) share; what is SFT's own is the mixture (sft/mixture.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from chatforge.chat.render import render
from chatforge.core.atomic import atomic_write_text, read_json
from chatforge.core.device import pick_device
from chatforge.core.rundir import StageContext
from chatforge.eval.suite import SuiteSettings, evaluate
from chatforge.sft.mixture import build_mixture
from chatforge.tokenizer import Tokenizer
from chatforge.train import checkpoint as ckpt
from chatforge.train.dist import setup
from chatforge.tune.finetune import FinetuneRun, finetune


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def load_or_build_mixture(ctx: StageContext, tokenizer) -> tuple[list[dict], list[dict], dict]:
    """The train/val conversations: read back on a resume, otherwise built and saved."""
    d = ctx.out / "mixture"
    if (d / "train.jsonl").is_file() and (d / "val.jsonl").is_file() and (d / "stats.json").is_file():
        return _read_jsonl(d / "train.jsonl"), _read_jsonl(d / "val.jsonl"), read_json(d / "stats.json")
    train, val, stats = build_mixture(ctx.run_dir, ctx.config.sft, ctx.config.run.seed, log=ctx.log)
    d.mkdir(parents=True, exist_ok=True)
    _write_jsonl(d / "train.jsonl", train)
    _write_jsonl(d / "val.jsonl", val)
    atomic_write_text(d / "stats.json", json.dumps(stats, indent=2))
    return train, val, stats


def show_examples(convs: list[dict], tokenizer, n_per_kind: int = 1) -> str:
    """Rendered conversations with the trained tokens in [[double brackets]] (for people)."""
    seen: dict[str, int] = {}
    parts = []
    for c in convs:
        k = c.get("kind", "?")
        if seen.get(k, 0) >= n_per_kind:
            continue
        seen[k] = seen.get(k, 0) + 1
        if "text" in c:
            parts.append(f"### {k}\n[[{c['text']}]]\n")
            continue
        r = render(c["messages"], tokenizer)
        out, run, on = [], [], None
        for i, m in zip(r.ids, r.mask):
            if on is not None and m != on:
                text = tokenizer.decode(run)
                out.append(f"[[{text}]]" if on else text)
                run = []
            run.append(i)
            on = m
        if run:
            text = tokenizer.decode(run)
            out.append(f"[[{text}]]" if on else text)
        parts.append(f"### {k}\n{''.join(out)}")
    return "\n\n".join(parts) + "\n"


def _added_tokens(ctx: StageContext) -> tuple[int, ...]:
    """The special tokens the import stage added to the model's vocabulary: SFT is where they are
    first written, so their rows start from the model's hidden states (tune/newtokens.py)."""
    imp = getattr(ctx.config, "import", None)
    if imp is None or not imp.source:
        return ()
    m = read_json(ctx.input_dir("import") / "metrics.json") or {}
    return tuple(sorted((m.get("added_specials") or {}).values())) if m.get("imported") else ()


def run(ctx: StageContext) -> dict:
    cfg = ctx.config.sft
    seed = ctx.config.run.seed
    dist = setup(pick_device(ctx.config.run.device))
    device = dist.device
    torch.manual_seed(seed)

    model, tok_dir, base_meta = ckpt.load_model(ctx.input_dir("pretrain"), device)
    if tok_dir is None:
        tok_dir = ctx.input_dir("tokenizer")
    tokenizer = Tokenizer.load(tok_dir)
    ctx.log.info(f"base model: {base_meta['checkpoint']} (step {base_meta['step']}, "
                 f"{model.num_params() / 1e6:.2f}M params)")

    train_convs, val_convs, mix_stats = load_or_build_mixture(ctx, tokenizer)
    if dist.is_main and not (ctx.out / "examples.txt").exists():
        atomic_write_text(ctx.out / "examples.txt", show_examples(train_convs, tokenizer))
    metrics = finetune(model, tokenizer, tok_dir, train_convs, val_convs, cfg, FinetuneRun(
        ckpt_dir=ctx.out / "ckpt", run_dir=ctx.run_dir, world_dir=ctx.input_dir("world"), dist=dist,
        seed=seed, log=ctx.log, meta={"stage": "sft", "base": base_meta["checkpoint"], "chat": True},
        new_tokens=_added_tokens(ctx)))
    metrics["mixture"] = mix_stats.get("counts", {})
    if cfg.eval and dist.is_main:
        model.eval()
        report = evaluate(model, tokenizer, ctx.run_dir, SuiteSettings.of(cfg), seed=seed, log=ctx.log)
        atomic_write_text(ctx.out / "eval.json", json.dumps(report, indent=2, ensure_ascii=False))
        metrics.update(report["summary"])
    return metrics
