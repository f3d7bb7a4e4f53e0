"""The pretrain stage: documents + tokenizer -> a base model, watched as it learns.

    pretrain/tokens/          token shards (built once; a resume reuses them)
    pretrain/ckpt/            step_XXXXXX.pt checkpoints, latest.json, a copy of the tokenizer
    pretrain/samples.jsonl    continuations of fixed prompts every sample_every steps
    pretrain/samples.md       the same, grouped by prompt, to read the progression top to bottom
    pretrain/metrics.jsonl    train loss every log_every steps, val loss / bits per byte, samples
    <run_dir>/peak_flops.json this machine's measured matmul peak per dtype (the MFU denominator)

Everything model-agnostic (the loop, optimizer, checkpoints, DDP) is in chatforge/train; this
file only wires pretraining's data, loss, evaluation and samples into it.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from chatforge.chat.render import render
from chatforge.core.atomic import atomic_write_text, read_json
from chatforge.core.device import pick_device
from chatforge.core.errors import UserError
from chatforge.data import iter_documents
from chatforge.eval.bpb import token_byte_lengths, val_loss_bpb
from chatforge.eval.copying import (
    GAPS,
    copy_probe,
    describe,
    passage_describe,
    passage_probe,
    passage_summary,
    summary,
)
from chatforge.importer.stage import read_replay
from chatforge.model.circuits import init_induction_circuit
from chatforge.model.gpt import GPT
from chatforge.pretrain.evaluate import generate, sample_prompts
from chatforge.tokenizer import Tokenizer
from chatforge.train import checkpoint as ckpt
from chatforge.train import dist as dd
from chatforge.train import shards as sh
from chatforge.train.freeze import train_top
from chatforge.train.loop import Checkpoints, Hook, LoopConfig, Trainer
from chatforge.train.mfu import DTYPES, matmul_peak, resolve_dtype
from chatforge.train.optim import OptimConfig, build_optimizer
from chatforge.train.schedule import lr_multiplier
from chatforge.tune.reading import MixedBatches, ReadingRows, corpus_words


def run(ctx) -> dict:
    data_dir = ctx.input_dir("data")
    tok_dir = ctx.input_dir("tokenizer")
    return pretrain(ctx, lambda: iter_documents(data_dir), tok_dir)


@dataclass
class Setup:
    """What every step of the stage reads: the run, its pretrain settings, the processes."""
    ctx: Any
    cfg: Any  # the [pretrain] section
    dist: Any  # train.dist.DistInfo
    tokenizer: Any
    documents: Callable[[], Iterable[dict]]
    seq_len: int = 0

    @property
    def main(self) -> bool:
        return self.dist.is_main


def _shards(s: Setup) -> tuple[Path, dict]:
    """Token shards, built once by rank 0."""
    tokens_dir = s.ctx.out / "tokens"
    if s.main and sh.load_index(tokens_dir) is None:
        s.ctx.log.info("tokenizing documents into shards ...")
        docs = itertools.chain(s.documents(), _replay_docs(s))
        index = sh.build_shards(tokens_dir, docs, s.tokenizer, s.cfg.val_frac, s.cfg.shard_tokens)
        s.ctx.log.info(f"tokens: {index['tokens']['train']:,} train / {index['tokens']['val']:,} val "
                       f"in {index['docs']['train']:,} / {index['docs']['val']:,} documents")
        if index.get("note"):
            s.ctx.log.warn(index["note"])
    dd.barrier()
    return tokens_dir, sh.load_index(tokens_dir)


def _replay_docs(s: Setup) -> list[dict]:
    """The imported model's own conversations (importer/replay.py), `replay_copies` times each, as
    training documents in its chat format: continued pretraining keeps what it knew."""
    if s.cfg.replay_copies <= 0:
        return []
    if s.cfg.init != "import":
        raise UserError("pretrain.replay_copies replays an imported model's own conversations; "
                        "it needs pretrain.init = 'import'.")
    convs = read_replay(s.ctx.input_dir("import"), 1 << 30)
    if not convs:
        raise UserError("pretrain.replay_copies is set but the import stage wrote no conversations; "
                        "set import.replay (e.g. 400) or pretrain.replay_copies = 0.")
    s.ctx.log.info(f"replay: {len(convs)} of the imported model's own conversations x {s.cfg.replay_copies}")
    return [{"id": f"replay-{k}-{i}", "ids": render(c["messages"], s.tokenizer).ids, "split": "train"}
            for k in range(s.cfg.replay_copies) for i, c in enumerate(convs)]


def _model(s: Setup) -> GPT:
    torch.manual_seed(s.ctx.config.run.seed)
    if s.cfg.init == "import":
        return _imported(s).to(s.dist.device)
    model = GPT.build(s.ctx.config.model, s.tokenizer.n_vocab)
    if s.cfg.init == "induction":
        built = init_induction_circuit(model)
        if s.main:
            s.ctx.log.info(f"initialisation: induction circuit in layers 0-1 ({built})")
    return model.to(s.dist.device)


def _imported(s: Setup) -> GPT:
    """The import stage's model, continued here ([model] does not apply: the weights decide)."""
    imp = getattr(s.ctx.config, "import", None)
    d = s.ctx.input_dir("import") if imp is not None and imp.source else None
    base = (read_json(d / "metrics.json") or {}) if d is not None else {}
    if not base.get("imported"):
        raise UserError("pretrain.init is 'import' but the import stage imported nothing; set "
                        "import.source (e.g. --set import.source=smollm2) or pretrain.init=standard.")
    model, tok_dir, meta = ckpt.load_model(d / base["model_dir"])
    theirs = Tokenizer.load(tok_dir) if tok_dir else None
    ours = s.tokenizer
    if theirs is None or (theirs.ranks, theirs.special_tokens) != (ours.ranks, ours.special_tokens):
        raise UserError(f"the imported checkpoint's tokenizer ({theirs.name if theirs else 'none'}) does not "
                        f"match the tokenizer that cut this run's documents ({s.tokenizer.name}, "
                        f"{s.tokenizer.n_vocab:,} ids); re-run the tokenizer stage after the import stage.")
    if s.main:
        s.ctx.log.info(f"continuing the imported model {meta.get('source_name') or meta['checkpoint']} "
                       f"({model.num_params() / 1e6:.1f}M parameters)")
    return model.train()


def _batches(s: Setup, tokens_dir: Path):
    """-> (train batches, validation batches): text rows, and reading exercises when asked for."""
    cfg, dist, seed = s.cfg, s.dist, s.ctx.config.run.seed
    n_copy = round(cfg.batch_size * cfg.reading_share)
    train = sh.TokenBatches(sh.open_split(tokens_dir, "train"), s.seq_len, cfg.batch_size - n_copy, seed,
                            dist.rank, dist.world_size)
    if n_copy or cfg.reading_first_steps:
        words = corpus_words((d["text"] for d in s.documents()), cfg.reading_words)
        reading = ReadingRows(s.tokenizer, words, s.seq_len, seed * 1000 + dist.rank,
                              max_gap=cfg.reading_max_gap, passages=cfg.reading_passages)
        train = MixedBatches(train, reading, cfg.batch_size, n_copy, cfg.reading_first_steps)
    val_shards = sh.open_split(tokens_dir, "val")
    val_len = min(s.seq_len, max(1, sum(len(x) for x in val_shards) - 1))
    val = sh.TokenBatches(val_shards, val_len, cfg.batch_size, seed, dist.rank, dist.world_size,
                          shuffle=False, require=False)
    return train, val


class Watch:
    """The hooks that watch the model learn: validation loss and bits per byte with the copy and
    reading probes, and samples from fixed prompts."""

    def __init__(self, s: Setup, val, tokens_dir: Path, tokens_per_step: int):
        self.s, self.val, self.tokens_per_step = s, val, tokens_per_step
        self.byte_lens = token_byte_lengths(s.tokenizer).to(s.dist.device)
        self.windows = max(1, s.cfg.eval_tokens // max(1, val.seq_len))
        self.last: dict = {}
        self.probe_texts = _probe_texts(s.documents)
        self.prompts = s.cfg.sample_prompts or sample_prompts(tokens_dir, s.tokenizer)
        self.samples_path = s.ctx.out / "samples.jsonl"

    def eval(self, tr: Trainer) -> None:
        s, log, seed = self.s, self.s.ctx.log, self.s.ctx.config.run.seed
        if self.val.windows_per_epoch() == 0:
            return
        loss, bpb, se = val_loss_bpb(ckpt.unwrap(tr.model), self.val, self.windows, self.byte_lens,
                                     tr.autocast)
        self.last.update(step=tr.step, val_loss=loss, val_bpb=bpb, val_bpb_se=se)
        if s.main:  # the first number to watch: does the model read its context yet?
            m = ckpt.unwrap(tr.model)
            was = m.training
            m.eval()
            with tr.autocast():
                probe = copy_probe(m, s.tokenizer, self.probe_texts, seed=seed, gaps=GAPS)
                reading = passage_probe(m, s.tokenizer, seed=seed)
            m.train(was)
            flat = {**summary(probe), **passage_summary(reading)}
            self.last.update(copy=flat)
            log.metric(event="val", step=tr.step, tokens=tr.step * self.tokens_per_step,
                       val_loss=round(loss, 5), val_bpb=round(bpb, 5), val_bpb_se=round(se, 5), **flat)
            log.info(f"step {tr.step}: train loss {tr.stats.loss:.3f} | val loss {loss:.3f} | "
                     f"val bpb {bpb:.3f} ± {se:.3f} | copy probe {describe(probe)} | "
                     f"{passage_describe(reading)}")

    def samples(self, tr: Trainer) -> None:
        s, cfg, log = self.s, self.s.cfg, self.s.ctx.log
        texts = generate(ckpt.unwrap(tr.model), s.tokenizer, self.prompts, cfg.sample_tokens,
                         cfg.sample_temperature, cfg.sample_top_k, seed=s.ctx.config.run.seed + tr.step,
                         autocast=tr.autocast)
        log.info(f"samples at step {tr.step} (loss {tr.stats.loss:.3f}):")
        with open(self.samples_path, "a", encoding="utf-8") as f:
            for p, t in zip(self.prompts, texts):
                log.info(f"  {p!r} -> {t!r}")
                rec = {"step": tr.step, "loss": round(tr.stats.loss, 4), "prompt": p, "text": t}
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                log.metric(event="sample", **rec)


def _trainer(s: Setup, model, train, loss: Callable | None, speed: tuple[str, float, float],
             watch: Watch) -> Trainer:
    cfg, device = s.cfg, s.dist.device
    dtype, peak, fpt = speed
    optimizer = build_optimizer(model, OptimConfig(
        name=cfg.optimizer, lr=cfg.lr, muon_lr=cfg.muon_lr, weight_decay=cfg.weight_decay,
        beta1=cfg.beta1, beta2=cfg.beta2))

    def lr_fn(step: int) -> float:
        return lr_multiplier(step, cfg.steps, cfg.warmup_steps, cfg.decay_frac, cfg.final_lr_frac,
                             cfg.schedule)

    def loss_fn(m, batch):
        x, y = batch
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        return (m(x, targets=y) if loss is None else loss(m, x, y)), x.numel()

    meta = {"stage": "pretrain", "seq_len": s.seq_len, "dtype": dtype,
            "tokens_per_step": watch.tokens_per_step}
    return Trainer(
        model, optimizer, train, loss_fn,
        LoopConfig(steps=cfg.steps, grad_accum=cfg.grad_accum, grad_clip=cfg.grad_clip, dtype=dtype,
                   compile=cfg.compile, ckpt_every=cfg.ckpt_every, keep_every=cfg.keep_every,
                   log_every=cfg.log_every, lr=lr_fn, flops_per_token=fpt, peak_flops=peak),
        saves=Checkpoints(s.ctx.out / "ckpt", dataclasses.asdict(model.config), meta),
        dist=s.dist, log=s.ctx.log,
        hooks=[Hook(cfg.eval_every, watch.eval), Hook(cfg.sample_every, watch.samples, main_only=True)])


def _speed(s: Setup, model, tokens_per_step: int, epochs: float) -> tuple[str, float, float]:
    """The dtype that is actually fast here, the measured peak for MFU, the model's FLOPs per token."""
    cfg, device, dist = s.cfg, s.dist.device, s.dist
    peak_cache = s.ctx.run_dir / "peak_flops.json"  # one per run directory: later stages reuse it
    dtype = resolve_dtype(cfg.dtype, device, peak_cache)
    peak = matmul_peak(device, getattr(torch, dtype), peak_cache)
    fpt = model.flops_per_token(s.seq_len)
    if s.main:
        s.ctx.log.info(
            f"model: {model.num_params() / 1e6:.2f}M params ({model.num_params(True) / 1e6:.2f}M "
            f"non-embedding), {fpt / 1e6:.1f} MFLOP/token; {dtype} on {device}, measured matmul "
            f"peak {peak / 1e9:.0f} GFLOP/s x {dist.world_size} rank(s)")
        s.ctx.log.info(f"training: {cfg.steps} steps x {tokens_per_step:,} tokens = "
                       f"{cfg.steps * tokens_per_step / 1e6:.2f}M tokens ({epochs:.1f} epochs), "
                       f"{cfg.optimizer}")
    return dtype, peak, fpt


def pretrain(ctx, documents: Callable[[], Iterable[dict]], tokenizer_dir: str | Path,
             loss: Callable | None = None) -> dict:
    """The stage body, with its inputs passed in (tests feed their own documents). `loss(model,
    x, y) -> scalar` replaces the next-token cross-entropy (the distill stage's student base
    learns the documents from a teacher's distributions too)."""
    cfg = ctx.config.pretrain
    _validate(cfg)
    s = Setup(ctx, cfg, dd.setup(pick_device(ctx.config.run.device)), Tokenizer.load(tokenizer_dir),
              documents)
    tokens_dir, index = _shards(s)
    model = _model(s)
    trainable = train_top(model, cfg.train_layers)
    if cfg.train_layers and s.main:
        ctx.log.info(f"training the top {cfg.train_layers} blocks: {trainable / 1e6:.1f}M parameters")
    mcfg = model.config
    s.seq_len = cfg.seq_len or mcfg.max_seq_len
    if s.seq_len > mcfg.max_seq_len:
        raise UserError(f"pretrain.seq_len ({s.seq_len}) exceeds model.max_seq_len ({mcfg.max_seq_len}).")
    train, val = _batches(s, tokens_dir)
    world = s.dist.world_size
    tokens_per_step = cfg.batch_size * s.seq_len * cfg.grad_accum * world
    text_steps = max(0, cfg.steps - cfg.reading_first_steps)  # epochs of the text, exercises aside
    n_copy = round(cfg.batch_size * cfg.reading_share)
    epochs = text_steps * (cfg.batch_size - n_copy) * s.seq_len * cfg.grad_accum * world / max(
        1, index["tokens"]["train"])
    speed = _speed(s, model, tokens_per_step, epochs)
    watch = Watch(s, val, tokens_dir, tokens_per_step)
    trainer = _trainer(s, model, train, loss, speed, watch)
    if s.main:
        ckpt.copy_tokenizer(tokenizer_dir, ctx.out / "ckpt")
    start = trainer.resume()
    if start and s.main:
        ctx.log.info(f"resuming from step {start} of {cfg.steps} ({trainer.last_ckpt.name})")
    stats = trainer.fit()
    if "val_loss" not in watch.last:  # resumed after the final checkpoint: evaluate once more
        watch.eval(trainer)
    if s.main:
        _write_samples_md(watch.samples_path, ctx.out / "samples.md")
    dd.barrier()
    last = watch.last
    metrics = {
        "steps": cfg.steps, "init": cfg.init, "params": model.num_params(),
        "trainable_params": trainable, "flops_per_token": speed[2],
        "tokens_per_step": tokens_per_step, "epochs": round(epochs, 2),
        "train_tokens": index["tokens"]["train"], "val_tokens": index["tokens"]["val"],
        "final_train_loss": round(stats.loss, 5),
        "val_loss": round(last.get("val_loss", float("nan")), 5),
        "val_bpb": round(last.get("val_bpb", float("nan")), 5),
        # the split's own noise: differences under ~3 standard errors are not real
        "val_bpb_se": round(last.get("val_bpb_se", float("nan")), 5),
        "val_windows": min(watch.windows, val.windows_per_epoch()),
        **last.get("copy", {}),
        "dtype": speed[0], "world_size": world, "peak_flops": round(speed[1]),
        "checkpoint": str(trainer.last_ckpt),
    }
    if stats.step_time > 0 and start < cfg.steps:
        metrics["tokens_per_s_last_step"] = round(stats.tokens / stats.step_time, 1)
        metrics["mfu_last_step"] = round(trainer.mfu() or 0.0, 4)
    return metrics


def _probe_texts(documents: Callable[[], Iterable[dict]], limit: int = 400) -> list[str]:
    """The copy probe's word source: the first documents' text (random words from them)."""
    out = []
    for d in documents():
        out.append(d["text"])
        if len(out) >= limit:
            break
    return out


def _validate(cfg) -> None:
    for name in ("steps", "batch_size", "grad_accum"):
        if getattr(cfg, name) <= 0:
            raise UserError(f"pretrain.{name} must be positive, got {getattr(cfg, name)}.")
    if cfg.optimizer not in ("adamw", "muon"):
        raise UserError(f"pretrain.optimizer must be adamw or muon, got {cfg.optimizer!r}.")
    if cfg.schedule not in ("linear", "cosine"):
        raise UserError(f"pretrain.schedule must be linear or cosine, got {cfg.schedule!r}.")
    if (not 0.0 <= cfg.reading_share < 1.0 or cfg.reading_first_steps < 0 or cfg.reading_max_gap < 0
            or cfg.reading_words < 0 or not 0.0 <= cfg.reading_passages <= 1.0):
        raise UserError("pretrain.reading_share must be in [0, 1), reading_passages in [0, 1], "
                        "reading_first_steps, reading_max_gap and reading_words at least 0.")
    if cfg.init not in ("standard", "induction", "import"):
        raise UserError(f"pretrain.init must be standard, induction or import, got {cfg.init!r}.")
    if cfg.dtype not in DTYPES:
        raise UserError(f"pretrain.dtype must be one of {', '.join(DTYPES)}, got {cfg.dtype!r}.")
    if not 0.0 <= cfg.val_frac < 1.0:
        raise UserError(f"pretrain.val_frac must be in [0, 1), got {cfg.val_frac}.")
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        raise UserError(f"pretrain.lr must be a positive number, got {cfg.lr}.")


def _write_samples_md(jsonl: Path, md: Path) -> None:
    """Group the samples by prompt, oldest step first; a resumed run's repeated steps keep the
    newest record."""
    if not jsonl.exists():
        return
    latest: dict[tuple[str, int], dict] = {}
    for line in jsonl.read_text(encoding="utf-8").splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a kill
            continue
        latest[(r["prompt"], r["step"])] = r
    prompts = list(dict.fromkeys(p for p, _ in latest))
    out = ["# Samples during pretraining", "",
           "Each prompt's continuation at every sampling step: watch noise turn into text.", ""]
    for p in prompts:
        out += [f"## Prompt: `{p}`", ""]
        for (_, step), r in sorted((k, v) for k, v in latest.items() if k[0] == p):
            text = r["text"].replace("\n", " ⏎ ")
            out.append(f"- step {step} (loss {r['loss']}): {p}**{text}**")
        out.append("")
    atomic_write_text(md, "\n".join(out))
