"""The teacher and the student's starting point.

Teacher: `distill.teacher` (a checkpoint: file, ckpt/ folder or stage folder; imported models
too), else the run's best chat model (engine/source.pick: the most refined one that keeps the
evaluation suite; distill itself left out).

Student: a checkpoint (`distill.student` pointing at one: training starts from its weights), or a
shape: `distill.student` naming a preset or a .toml file (its [model] section), else the
`student_*` fields on top of the run's [model] section. A shape is first pretrained on the run's
documents with the run's pretraining recipe ([pretrain], `base_steps` steps) into distill/base/,
so every arm of the comparison starts from the same base model, as the teacher did. With
`base_alpha` > 0 that pretraining is a distillation too: on every document token the student
also matches a teacher's distribution (`base_teacher`, else the run's pretrain model, the chat
teacher's own base): the knowledge the arms cannot move later is learnt there.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

from chatforge.core.atomic import atomic_write_text
from chatforge.core.config import preset_section
from chatforge.core.device import pick_device
from chatforge.core.errors import UserError
from chatforge.data import iter_documents
from chatforge.distill.losses import document_loss
from chatforge.engine.source import Pick, choose, pick
from chatforge.model.config import ModelConfig
from chatforge.pretrain.stage import pretrain
from chatforge.tokenizer import Tokenizer
from chatforge.train import checkpoint as ckpt


def find_teacher(ctx, cfg) -> Pick:
    if cfg.teacher:
        p = Path(cfg.teacher)
        if not p.exists():
            raise UserError(f"distill.teacher '{p}' does not exist.")
        return choose(None, p)
    return pick(ctx.run_dir, chat_only=True, leave_out=("distill",))


def same_vocabulary(a, b) -> bool:
    return a.ranks == b.ranks and a.special_tokens == b.special_tokens and a.pattern == b.pattern


def check_white_box(teacher_tok, student_tok, method: str) -> None:
    if not same_vocabulary(teacher_tok, student_tok):
        raise UserError(f"--method {method} compares next-token distributions, so the teacher and the "
                        f"student must share a tokenizer, and they do not (teacher '{teacher_tok.name}', "
                        f"{teacher_tok.n_vocab} tokens; student '{student_tok.name}', "
                        f"{student_tok.n_vocab} tokens); use --method text, which needs only the teacher's "
                        "answers.")


def is_checkpoint(spec: str) -> bool:
    p = Path(spec)
    return p.is_file() and p.suffix == ".pt" or p.is_dir() and (
        (p / "latest.json").is_file() or (p / "ckpt" / "latest.json").is_file())


def student_shape(ctx, cfg):
    """The student's ModelConfig (vocabulary from the tokenizer later)."""
    if cfg.student and not is_checkpoint(cfg.student):
        if not cfg.student.endswith(".toml") and Path(cfg.student).exists():
            raise UserError(f"distill.student '{cfg.student}' is neither a checkpoint nor a .toml config.")
        return dataclasses.replace(preset_section(cfg.student, "model", ModelConfig), vocab_size=0)
    return dataclasses.replace(ctx.config.model, n_layer=cfg.student_n_layer, d_model=cfg.student_d_model,
                               n_head=cfg.student_n_head, n_kv_head=cfg.student_n_kv_head,
                               ffn_hidden=cfg.student_ffn_hidden, vocab_size=0)


def student_start(ctx, cfg) -> Path:
    """The checkpoint every arm starts from: the given one, or a base model pretrained at the
    student's shape in distill/base/ (built once; a resume continues it)."""
    if cfg.student and is_checkpoint(cfg.student):
        return Path(cfg.student)
    base = ctx.out / "base"
    if (base / "done.json").is_file():
        return base
    shape = student_shape(ctx, cfg)
    sub_cfg = copy.deepcopy(ctx.config)
    for f in dataclasses.fields(shape):
        if f.name != "vocab_size":
            sub_cfg.set(f"model.{f.name}", getattr(shape, f.name))
    if cfg.base_steps > 0:
        sub_cfg.set("pretrain.steps", cfg.base_steps)
    sub = dataclasses.replace(ctx, out=base, config=sub_cfg)
    base.mkdir(parents=True, exist_ok=True)
    ctx.log.info(f"pretraining the student base ({shape.n_layer} layers x {shape.d_model}) for "
                 f"{sub_cfg.pretrain.steps} steps on the run's documents -> {base}")
    data_dir = ctx.input_dir("data")
    loss = base_teacher_loss(ctx, cfg) if cfg.base_alpha > 0 else None
    metrics = pretrain(sub, lambda: iter_documents(data_dir), ctx.input_dir("tokenizer"), loss=loss)
    atomic_write_text(base / "done.json", json.dumps(metrics, indent=2, default=str))
    return base


def base_teacher_loss(ctx, cfg):
    """The student base's document loss with its teacher (the run's pretrain model by default)."""
    path = Path(cfg.base_teacher) if cfg.base_teacher else ctx.run_dir / "pretrain" / "ckpt"
    if not path.exists():
        where = "" if cfg.base_teacher else " (the run has no pretrain model: name a checkpoint)"
        raise UserError(f"distill.base_teacher '{path}' does not exist{where}.")
    teacher, tok_dir, meta = ckpt.load_model(path, pick_device(ctx.config.run.device))
    if tok_dir is None:
        raise UserError(f"distill.base_teacher '{path}' has no tokenizer folder next to it.")
    check_white_box(Tokenizer.load(tok_dir), Tokenizer.load(ctx.input_dir("tokenizer")), "logits")
    for p in teacher.parameters():
        p.requires_grad_(False)
    ctx.log.info(f"the student base learns the documents from {meta['checkpoint']} too "
                 f"(base_alpha {cfg.base_alpha}, T {cfg.temperature}, {cfg.divergence} divergence)")
    return document_loss(teacher, cfg.base_alpha, cfg.temperature, cfg.divergence, cfg.jsd_beta)
