"""The tokenizer stage: train on the data stage's clean documents, save, measure on held-out docs.

Every `heldout_every`-th document is kept out of training; a sample of them is saved in the
tokenizer directory (heldout.jsonl) so that `chatforge tokenizer stats` can compare this
vocabulary with cl100k_base later. Training is a few seconds at the cpu preset's size, so an
interrupted run simply trains again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from chatforge.core.atomic import atomic_write_bytes, atomic_write_text, read_json
from chatforge.core.errors import UserError
from chatforge.core.rundir import StageContext
from chatforge.data import iter_documents
from chatforge.tokenizer.config import TokenizerConfig
from chatforge.tokenizer.core import Tokenizer
from chatforge.tokenizer.spec import HELDOUT_FILE, META_FILE, SPECIAL_TOKENS
from chatforge.tokenizer.stats import compare
from chatforge.tokenizer.train import MIN_RANKS, train_ranks


class Reader:
    """Feeds document texts to the trainer within the limits, setting held-out ones aside."""

    def __init__(self, texts: Iterable[str], cfg: TokenizerConfig):
        self.texts, self.cfg = texts, cfg
        self.docs = self.chars = 0
        self.heldout: list[str] = []
        self.heldout_chars = 0

    def __iter__(self) -> Iterator[str]:
        every = self.cfg.heldout_every
        for i, text in enumerate(self.texts):
            if not text:
                continue
            if every and i % every == every - 1:
                if self.heldout_chars < self.cfg.heldout_max_chars:
                    self.heldout.append(text)
                    self.heldout_chars += len(text)
                continue
            if self.chars >= self.cfg.max_chars or (self.cfg.max_docs and self.docs >= self.cfg.max_docs):
                return
            self.docs += 1
            self.chars += len(text)
            yield text


def train_tokenizer(texts: Iterable[str], cfg: TokenizerConfig,
                    log=None) -> tuple[Tokenizer, Reader, dict[str, Any]]:
    """Train a tokenizer per `cfg` on `texts` (an iterator of documents); nothing is saved."""

    n_ranks = cfg.vocab_size - len(SPECIAL_TOKENS)
    if n_ranks < MIN_RANKS:
        raise UserError(f"tokenizer.vocab_size must be at least {MIN_RANKS + len(SPECIAL_TOKENS)} "
                        f"(256 bytes, one merge and {len(SPECIAL_TOKENS)} special tokens), "
                        f"not {cfg.vocab_size}.")
    reader = Reader(texts, cfg)
    progress = log.progress(None, desc="reading text", unit="char") if log else None
    t0 = time.perf_counter()
    ranks, dropped = train_ranks(reader, n_ranks, cfg.trainer,
                                 on_text=(lambda t: progress.update(len(t))) if progress else None)
    train_s = time.perf_counter() - t0
    if progress:
        progress.close()
    if reader.docs == 0:
        raise UserError("there is no text to train the tokenizer on (no non-empty documents).")
    tok = Tokenizer.from_ranks(ranks)
    info = {"trainer": cfg.trainer, "n_vocab": tok.n_vocab, "n_ranks": tok.n_ranks,
            "n_special": len(SPECIAL_TOKENS), "dropped_tokens": dropped, "train_docs": reader.docs,
            "train_chars": reader.chars, "train_s": round(train_s, 2)}
    if log and tok.n_ranks < n_ranks:
        log.warn(f"the text only supported {tok.n_ranks} BPE tokens of the {n_ranks} asked for; "
                 "the vocabulary is smaller than tokenizer.vocab_size.")
    return tok, reader, info


def run(ctx: StageContext) -> dict[str, Any]:
    cfg: TokenizerConfig = ctx.config.tokenizer
    docs = (d.get("text") or "" for d in iter_documents(ctx.input_dir("data")))
    imp = getattr(ctx.config, "import", None)
    base: dict = {}
    if imp is not None and imp.source:
        base = read_json(ctx.input_dir("import") / "metrics.json") or {}
    if base.get("imported"):
        return adopt(ctx, ctx.input_dir("import") / base["tokenizer_dir"], docs, cfg)
    ctx.log.info(f"training a {cfg.vocab_size}-token vocabulary with {cfg.trainer} "
                 f"(at most {cfg.max_chars:,} characters)")
    tok, reader, info = train_tokenizer(docs, cfg, ctx.log)
    ctx.log.info(f"learned {tok.n_ranks} BPE tokens from {reader.docs:,} documents "
                 f"({reader.chars:,} characters) in {info['train_s']:.1f}s")
    longest = sorted(tok.ranks, key=len, reverse=True)[:8]
    ctx.log.info("longest tokens: " + ", ".join(repr(t.decode("utf-8", "replace")) for t in longest))

    atomic_write_text(ctx.out / HELDOUT_FILE,
                      "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in reader.heldout))
    tok.save(ctx.out, extra_meta={"trained_on": {"docs": reader.docs, "chars": reader.chars}})
    metrics: dict[str, Any] = {**info, "heldout_docs": len(reader.heldout)}
    _heldout_stats(ctx, tok, reader, metrics)
    ctx.log.info(f"tokenizer saved to {ctx.out} (tiktoken ranks + tokenizer.json)")
    return metrics


def _heldout_stats(ctx: StageContext, tok: Tokenizer, reader: Reader, metrics: dict[str, Any]) -> None:
    if reader.heldout:
        ours, base = compare([tok, Tokenizer.from_encoding("cl100k_base")], reader.heldout)
        metrics["heldout_bytes_per_token"] = ours["bytes_per_token"]
        metrics["cl100k_heldout_bytes_per_token"] = base["bytes_per_token"]
        ctx.log.info(f"held-out bytes/token: {ours['bytes_per_token']:.2f} "
                     f"(cl100k_base, 100k vocab: {base['bytes_per_token']:.2f})")
    ctx.log.metric(**metrics)


def adopt(ctx: StageContext, src: Path, docs: Iterable[str], cfg: TokenizerConfig) -> dict[str, Any]:
    """An imported model keeps the vocabulary it was trained with: copy it here (later stages
    read the run's tokenizer from this folder) and measure it on the run's held-out documents."""
    tok = Tokenizer.load(src)
    # the meta file last: it marks the folder whole
    for f in sorted(src.iterdir(), key=lambda f: f.name == META_FILE):
        if f.is_file():
            atomic_write_bytes(ctx.out / f.name, f.read_bytes())
    reader = Reader(docs, cfg)
    n = sum(1 for _ in reader)  # reads the documents, setting the held-out ones aside
    atomic_write_text(ctx.out / HELDOUT_FILE,
                      "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in reader.heldout))
    ctx.log.info(f"the imported model's own tokenizer ({tok.name}, {tok.n_vocab:,} ids) is this run's; "
                 f"nothing trained ({n:,} documents read)")
    metrics: dict[str, Any] = {"trainer": "imported", "name": tok.name, "n_vocab": tok.n_vocab,
                               "n_ranks": tok.n_ranks, "n_special": len(tok.special_tokens),
                               "heldout_docs": len(reader.heldout)}
    _heldout_stats(ctx, tok, reader, metrics)
    return metrics
